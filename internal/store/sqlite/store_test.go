package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/sqlite"
	"github.com/twofold/twofold/internal/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s) = %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The conformance suite, with the second handle a separate Store on the same
// file: two connections pools with their own writer, as two processes have.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (account.Store, func() account.Store) {
		path := filepath.Join(t.TempDir(), "twofold.db")
		return open(t, path), func() account.Store { return open(t, path) }
	})
}

func TestReopenKeepsDataAndPassesIntegrityCheck(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "twofold.db")
	s := open(t, path)
	if err := storetest.AutoCommit(s).CreateUser(ctx, &account.User{Email: "ana@example.com", Name: "Ana", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	if n, err := s.Migrate(ctx); err != nil || n != 0 {
		t.Errorf("Migrate on an up-to-date database = %d, %v; want 0, nil", n, err)
	}
	if u, err := s.UserByEmail(ctx, "ana@example.com"); err != nil || u.Name != "Ana" {
		t.Errorf("UserByEmail after reopening = %+v, %v", u, err)
	}
	if verdict, err := s.IntegrityCheck(ctx); err != nil || verdict != "ok" {
		t.Errorf("IntegrityCheck = %q, %v; want ok", verdict, err)
	}
}
