// Package pgtest gives each test its own PostgreSQL database on the server
// named by TWOFOLD_TEST_POSTGRES_DSN, and skips the test when it is unset.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvVar names the server the PostgreSQL tests use.
const EnvVar = "TWOFOLD_TEST_POSTGRES_DSN"

// Database creates a fresh, empty database, drops it when the test ends, and
// returns its URL.
func Database(t testing.TB) string {
	t.Helper()
	admin := connect(t)
	return create(t, admin, "")
}

// Migrated is Database with twofold's migrations applied: a copy of a
// template database that migrate (which must close every connection it
// opens) built from an empty one. The template is named by a hash of the
// migration files (../migrations/*.sql), so changed migrations build a new
// one. It is built under a temporary name and renamed only once migrated
// and closed to connections, so a run killed while building leaves no
// template half made; it is never dropped, so a copy never meets a drop,
// whatever other runs (other commits, other databases of the same server)
// are doing. An advisory lock keeps concurrent tests from building it
// twice. Templates stay on the server, one per set of migrations
// (`DROP DATABASE` after `ALTER DATABASE … IS_TEMPLATE false` removes
// one; so do the `…_building_…` leftovers of killed builds).
//
// Creating, opening and dropping a copy took about 0.5 CPU-s against
// 0.8 migrating an empty database (2 cores, PostgreSQL 15, 14 migrations).
// Tests of migrating itself use Database.
func Migrated(t testing.TB, migrate func(ctx context.Context, dsn string) error) string {
	t.Helper()
	ctx := context.Background()
	admin := connect(t)
	key, err := migrationsKey()
	if err != nil {
		// Built without the source tree at hand (-trimpath): migrate an
		// empty database instead.
		t.Logf("pgtest: no template (%v): migrating an empty database", err)
		dsn := create(t, admin, "")
		if err := migrate(ctx, dsn); err != nil {
			t.Fatalf("pgtest: migrate: %v", err)
		}
		return dsn
	}
	template := "twofold_template_" + key
	exists, err := databaseExists(ctx, admin, template)
	if err == nil && !exists {
		err = buildTemplate(ctx, admin, template, migrate)
	}
	if err != nil {
		t.Fatalf("pgtest: template %s: %v", template, err)
	}
	return create(t, admin, template)
}

func databaseExists(ctx context.Context, admin *pgx.Conn, name string) (bool, error) {
	var exists bool
	err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	return exists, err
}

// connect opens the administrative connection of one test, closed when it
// ends (after the test's database is dropped).
func connect(t testing.TB) *pgx.Conn {
	t.Helper()
	dsn := os.Getenv(EnvVar)
	if dsn == "" {
		t.Skip(EnvVar + " is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); skipping PostgreSQL tests")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvVar, err)
	}
	t.Cleanup(func() { admin.Close(ctx) })
	return admin
}

// create makes a database for the test, a copy of template when it is not
// empty, dropped when the test ends.
func create(t testing.TB, admin *pgx.Conn, template string) string {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "twofold_test_" + hex.EncodeToString(b)
	stmt := "CREATE DATABASE " + name
	if template != "" {
		stmt += " TEMPLATE " + template
	}
	if _, err := admin.Exec(ctx, stmt); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := urlOf(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// urlOf is the URL of database name on the server of EnvVar.
func urlOf(name string) (string, error) {
	u, err := url.Parse(os.Getenv(EnvVar))
	if err != nil {
		return "", fmt.Errorf("%s: %w", EnvVar, err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// templateLock is the advisory lock under which a template is built (in
// the database of EnvVar's URL: runs that name another database of the
// same server may build one at the same time, and one of the two renames
// wins).
const templateLock = 0x7466_7470_6c74 // "tftplt"

// buildTemplate makes template unless another test has meanwhile.
func buildTemplate(ctx context.Context, admin *pgx.Conn, template string, migrate func(ctx context.Context, dsn string) error) (err error) {
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer func() {
		if _, unlockErr := admin.Exec(ctx, "SELECT pg_advisory_unlock($1)", templateLock); unlockErr != nil && err == nil {
			err = fmt.Errorf("unlock: %w", unlockErr)
		}
	}()
	if exists, err := databaseExists(ctx, admin, template); err != nil || exists {
		return err
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	building := template + "_building_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)")
		}
	}()
	u, err := urlOf(building)
	if err != nil {
		return err
	}
	if err := migrate(ctx, u); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Nothing connects to it again: a copy is refused while anyone is.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+building+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+template); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
			return nil // another run's build won
		}
		return err
	}
	done = true
	// A role with CREATEDB alone may copy it, as the owner may.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+template+" WITH IS_TEMPLATE true"); err != nil {
		return err
	}
	return nil
}

// migrationsKey hashes the PostgreSQL migrations of the source tree this
// package was built from (../migrations).
func migrationsKey() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("no source path for the migrations")
	}
	files, err := filepath.Glob(filepath.Join(filepath.Dir(file), "..", "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no migrations beside %s (%v)", file, err)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
