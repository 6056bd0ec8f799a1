package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
)

// An existing database upgrades in place: migration 4 rebuilds the outbox
// table (so its user_id may be NULL) and must keep every queued message.
func TestUpgradeKeepsQueuedMessages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "twofold.db")
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO users (id, email, name, password_hash, created_at) VALUES (7, 'ana@example.com', 'Ana', 'h', 1)`,
		`INSERT INTO outbox (user_id, recipient, kind, subject, body, created_at) VALUES (7, 'ana@example.com', 'two_factor_enabled', 'On', 'Body', 2)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open (upgrade) = %v", err)
	}
	defer s.Close()
	msgs, err := s.Notifications(ctx, 10)
	if err != nil || len(msgs) != 1 || msgs[0].UserID != 7 || msgs[0].Body != "Body" {
		t.Fatalf("outbox after the upgrade = %+v, %v; want the one queued message of user 7", msgs, err)
	}
	// Migration 5 gives existing users security version 0.
	if u, err := s.UserByID(ctx, 7); err != nil || u.SecurityVersion != 0 || u.Email != "ana@example.com" {
		t.Errorf("user 7 after the upgrade = %+v, %v; want security version 0", u, err)
	}
	var problems int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&problems); err != nil || problems != 0 {
		t.Errorf("foreign key check after the upgrade: %d problems, %v", problems, err)
	}
	if v, err := s.IntegrityCheck(ctx); err != nil || v != "ok" {
		t.Errorf("integrity check after the upgrade = %q, %v", v, err)
	}
}
