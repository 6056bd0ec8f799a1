package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/postgres"
	"github.com/twofold/twofold/internal/store/storetest"
)

// testDatabase creates a fresh database for one test on the server named by
// TWOFOLD_TEST_POSTGRES_DSN and drops it afterwards; it skips when unset.
func testDatabase(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("TWOFOLD_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("TWOFOLD_TEST_POSTGRES_DSN is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); skipping PostgreSQL tests")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "twofold_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(ctx)
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

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
		dsn := testDatabase(t)
		return open(t, dsn), func() account.Store { return open(t, dsn) }
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := open(t, testDatabase(t))
	if n, err := s.Migrate(context.Background()); err != nil || n != 0 {
		t.Errorf("Migrate on an up-to-date database = %d, %v; want 0, nil", n, err)
	}
}
