// Package sqlite is the embedded default implementation of account.Store,
// on SQLite through the pure-Go modernc.org/sqlite driver (no cgo).
//
// Writes go through one connection opened with BEGIN IMMEDIATE, so they are
// serialized inside the process without "database is locked" errors and
// take the file's write lock up front when several processes share the file
// (busy_timeout makes them wait for it); the write transactions that arrive
// together share one COMMIT and its fsync (see groupWriter). Reads use a
// pool of their own, which WAL mode lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an account.Store on one SQLite file.
type Store struct {
	write      *sql.DB
	read       *sql.DB
	writer     *groupWriter
	readStmts  *stmtCache
	writeStmts *stmtCache
}

var _ account.Store = (*Store)(nil)

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// FULL: a backup code answered "accepted" stays used even if the
	// machine loses power right after.
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path and applies any
// pending migrations: for serve and migrate.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, true)
}

// OpenExisting opens the database file at path as it is: it creates and
// migrates nothing, and refuses a missing file or a database with no
// migrations applied (schema.ErrNoDatabase) or at another schema version
// (*schema.VersionError). For the commands that only use a database.
func OpenExisting(ctx context.Context, path string) (*Store, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, schema.ErrNoDatabase
	}
	return open(ctx, path, false)
}

func open(ctx context.Context, path string, migrate bool) (*Store, error) {
	if err := privateFile(path); err != nil {
		return nil, err
	}
	write, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{write: write}
	if migrate {
		if _, err := s.Migrate(ctx); err != nil {
			write.Close()
			return nil, err
		}
	} else if err := s.checkVersion(ctx); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)*2))
	read.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)*2))
	s.read = read
	s.writer = newGroupWriter(write)
	s.readStmts, s.writeStmts = &stmtCache{db: read}, &stmtCache{db: write}
	// Every statement a transaction runs (see stmtCache).
	s.prepareWrites(ctx, txStatements...)
	s.prepareWrites(ctx, disavowalStatements...)
	return s, nil
}

// privateFile creates the database file readable by its owner only, before
// SQLite opens it: SQLite gives the -wal and -shm files the mode of the
// database file, so all three are 0600 whatever the directory's mode and
// the umask. A file made earlier with wider permissions is narrowed.
func privateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("sqlite: make %s private: %w", p, err)
			}
		}
	}
	return nil
}

// checkVersion refuses a database at another schema version than this
// binary's, reading goose's table without creating it.
func (s *Store) checkVersion(ctx context.Context) error {
	want, err := schema.Latest(migrations, "migrations")
	if err != nil {
		return err
	}
	var have int64
	var tables int
	if err := s.write.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, schema.VersionTable).Scan(&tables); err != nil {
		return fmt.Errorf("sqlite: schema version: %w", err)
	}
	if tables > 0 {
		if err := s.write.QueryRowContext(ctx, `SELECT coalesce(max(version_id), 0) FROM `+schema.VersionTable).Scan(&have); err != nil {
			return fmt.Errorf("sqlite: schema version: %w", err)
		}
	}
	return schema.Check(have, want)
}

// Migrate applies pending migrations and returns how many ran.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, fmt.Errorf("sqlite: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.write, sub)
	if err != nil {
		return 0, fmt.Errorf("sqlite: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlite: migrate: %w", err)
	}
	return len(res), nil
}

// Close waits for the write in progress, then closes both connection pools.
func (s *Store) Close() error {
	s.writer.stop()
	return errors.Join(s.readStmts.close(), s.writeStmts.close(), s.read.Close(), s.write.Close())
}

// IntegrityCheck runs PRAGMA integrity_check and returns its verdict ("ok").
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var verdict string
	if err := s.read.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&verdict); err != nil {
		return "", fmt.Errorf("sqlite: integrity check: %w", err)
	}
	return verdict, nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// inTx runs fn in one write transaction: committed when it returns nil,
// rolled back when it returns an error. fn must use the ctx it is given.
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.writer.do(ctx, fn)
}

func affected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return n, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}
