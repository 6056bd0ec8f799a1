package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/store/postgres"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
	"github.com/twofold/twofold/internal/store/storetest"
)

func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The same conformance suite as SQLite; the second handle is a separate
// connection pool on the same database, as a second instance has.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (account.Store, func() account.Store) {
		dsn := accounttest.PostgresDatabase(t)
		return open(t, dsn), func() account.Store { return open(t, dsn) }
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := open(t, pgtest.Database(t))
	if n, err := s.Migrate(context.Background()); err != nil || n != 0 {
		t.Errorf("Migrate on an up-to-date database = %d, %v; want 0, nil", n, err)
	}
}

// A URL pgx cannot parse is refused without being repeated.
func TestOpenDoesNotRepeatAnUnparsableURL(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://u:s3cret@db:notaport/x")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open(unparsable URL) = %v; want an error without the password", err)
	}
}
