package pgtest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/store/postgres"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
	"github.com/twofold/twofold/internal/store/schema"
)

// Migrated databases have the whole schema and are each their own: what
// one test writes, another's copy of the template does not hold. Database
// stays empty.
func TestMigratedDatabasesAreSeparateCopies(t *testing.T) {
	ctx := context.Background()
	first, second := pgtest.Migrated(t, accounttest.MigratePostgres), pgtest.Migrated(t, accounttest.MigratePostgres)
	for _, dsn := range []string{first, second} {
		s, err := postgres.OpenExisting(ctx, dsn)
		if err != nil {
			t.Fatalf("OpenExisting(migrated copy) = %v; want the current schema", err)
		}
		s.Close()
	}
	conn, err := pgx.Connect(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE only_in_first (x int)`); err != nil {
		t.Fatal(err)
	}
	other, err := pgx.Connect(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	var found bool
	if err := other.QueryRow(ctx, `SELECT to_regclass('only_in_first') IS NOT NULL`).Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found {
		t.Error("a table made in one migrated database is in another")
	}
	if third := pgtest.Migrated(t, accounttest.MigratePostgres); third == first || third == second {
		t.Errorf("Migrated gave %s twice", third)
	}

	_, err = postgres.OpenExisting(ctx, pgtest.Database(t))
	if !errors.Is(err, schema.ErrNoDatabase) {
		t.Errorf("OpenExisting(Database) = %v; want schema.ErrNoDatabase (empty)", err)
	}
}
