// Package postgres is the account.Store for larger installations: several
// twofold instances behind a load balancer sharing one PostgreSQL database,
// through github.com/jackc/pgx/v5. The schema is the SQLite one, table for
// table; every "use once" rule is one conditional UPDATE whose row count
// decides, and the throttle takes a transaction-scoped advisory lock per key.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an account.Store on PostgreSQL.
type Store struct {
	pool     *pgxpool.Pool
	appReads appReads // the forward-auth reads, coalesced (app_reads.go)
}

var _ account.Store = (*Store)(nil)

// defaultMaxConns is the connection pool size unless the URL sets
// pool_max_conns. pgx's own default (the CPU count, at least 4) leaves a
// 2-core server's requests queueing for a connection while others wait on
// their COMMIT's WAL flush; see docs/performance.md for the measurements.
const defaultMaxConns = 16

// Open connects to the database at dsn (postgres://...) and applies any
// pending migrations. The URL may carry pgxpool settings such as
// pool_max_conns.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, true)
}

// OpenExisting connects to the database at dsn as it is: it migrates
// nothing, and refuses a database with no twofold migrations applied
// (schema.ErrNoDatabase) or at another schema version
// (*schema.VersionError). For the commands that only use a database.
func OpenExisting(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, false)
}

func open(ctx context.Context, dsn string, migrate bool) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx quotes the URL, with the password masked only as best it
		// can: say what is wrong without it.
		return nil, errors.New("postgres: open: the database URL cannot be parsed (check its form: postgres://user:password@host:port/dbname)")
	}
	// Every transaction here is written for READ COMMITTED (a conditional
	// UPDATE re-checks its WHERE on the row a concurrent one left; the
	// throttle counts after its lock is held): a database or role whose
	// default is stricter would answer ordinary races with 40001 errors,
	// and a snapshot taken before the throttle's lock would miss attempts.
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	if u, err := url.Parse(dsn); err != nil || !u.Query().Has("pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, defaultMaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{pool: pool}
	if migrate {
		_, err = s.Migrate(ctx)
	} else {
		err = s.checkVersion(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// checkVersion refuses a database at another schema version than this
// binary's, reading goose's table without creating it.
func (s *Store) checkVersion(ctx context.Context) error {
	want, err := schema.Latest(migrations, "migrations")
	if err != nil {
		return err
	}
	var have int64
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, schema.VersionTable).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: schema version: %w", err)
	}
	if exists {
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM `+schema.VersionTable).Scan(&have); err != nil {
			return fmt.Errorf("postgres: schema version: %w", err)
		}
	}
	return schema.Check(have, want)
}

// Migrate applies pending migrations and returns how many ran. goose takes
// a session advisory lock, so instances starting together migrate once.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, fmt.Errorf("postgres: migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return 0, fmt.Errorf("postgres: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return 0, fmt.Errorf("postgres: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	return len(res), nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", what, account.ErrNotFound)
	}
	return nil
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// notFound maps the driver's no-rows error to account.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return account.ErrNotFound
	}
	return err
}
