// Package pgtest gives each test its own PostgreSQL database on the server
// named by TWOFOLD_TEST_POSTGRES_DSN, and skips the test when it is unset.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"
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
// migration files, so a changed migration builds a new one; it stays on
// the server for the next run, and templates of other migrations are
// dropped when a new one is built. Building it is serialized across test
// processes by an advisory lock.
//
// Copying the template costs about a third of migrating an empty database
// (on the 2-core CI machine, 0.6 s a test with the 14 migrations of
// 2026-12). Tests of migrating itself use Database.
func Migrated(t testing.TB, migrate func(ctx context.Context, dsn string) error) string {
	t.Helper()
	admin := connect(t)
	key, err := migrationsKey()
	if err != nil {
		// Built without the source tree at hand (-trimpath): migrate an
		// empty database instead.
		t.Logf("pgtest: no template (%v): migrating an empty database", err)
		dsn := create(t, admin, "")
		if err := migrate(context.Background(), dsn); err != nil {
			t.Fatalf("pgtest: migrate: %v", err)
		}
		return dsn
	}
	template := "twofold_template_" + key
	if err := buildTemplate(context.Background(), admin, template, migrate); err != nil {
		t.Fatalf("pgtest: template %s: %v", template, err)
	}
	return create(t, admin, template)
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

// templateLock is the advisory lock key under which templates are built
// and dropped.
const templateLock = 0x7466_7470_6c74 // "tftplt"

func buildTemplate(ctx context.Context, admin *pgx.Conn, template string, migrate func(ctx context.Context, dsn string) error) (err error) {
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer func() {
		if _, unlockErr := admin.Exec(ctx, "SELECT pg_advisory_unlock($1)", templateLock); unlockErr != nil && err == nil {
			err = fmt.Errorf("unlock: %w", unlockErr)
		}
	}()
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", template).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	// Templates of other migrations are of no more use to this checkout;
	// one that another run is still copying stays (DROP then fails).
	stale, err := admin.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'twofold\\_template\\_%' AND datname <> $1", template)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(stale, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, name := range names {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+template); err != nil {
		return err
	}
	u, err := urlOf(template)
	if err != nil {
		return err
	}
	if err := migrate(ctx, u); err != nil {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+template+" WITH (FORCE)")
		return fmt.Errorf("migrate: %w", err)
	}
	// Nothing connects to it again: a copy is refused while anyone is.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+template+" WITH ALLOW_CONNECTIONS false"); err != nil {
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
