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
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an account.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
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
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx quotes the URL, with the password masked only as best it
		// can: say what is wrong without it.
		return nil, errors.New("postgres: open: the database URL cannot be parsed (check its form: postgres://user:password@host:port/dbname)")
	}
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
	if _, err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
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

const userColumns = `id, email, name, mobile_phone, password_hash, created_at,
	totp_key_id, totp_secret, totp_last_step, totp_enabled_at, totp_pending_key_id, totp_pending_secret,
	totp_failures, totp_suspended_at`

func scanUser(row pgx.Row) (*account.User, error) {
	var (
		u                     account.User
		createdAt, lastStep   int64
		keyID, pendingKeyID   *string
		secret, pendingSecret []byte
		enabledAt             *int64
		failures              int
		suspendedAt           *int64
	)
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.MobilePhone, &u.PasswordHash, &createdAt,
		&keyID, &secret, &lastStep, &enabledAt, &pendingKeyID, &pendingSecret, &failures, &suspendedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, account.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	u.CreatedAt = fromMillis(createdAt)
	if enabledAt != nil && keyID != nil {
		u.TOTP = &account.TOTPState{
			Secret:    account.SealedSecret{KeyID: *keyID, Ciphertext: secret},
			LastStep:  lastStep,
			EnabledAt: fromMillis(*enabledAt),
			Failures:  failures,
		}
		if suspendedAt != nil {
			u.TOTP.SuspendedAt = fromMillis(*suspendedAt)
		}
	}
	if pendingKeyID != nil {
		u.PendingTOTP = &account.SealedSecret{KeyID: *pendingKeyID, Ciphertext: pendingSecret}
	}
	return &u, nil
}

// queryRower is the pool or a transaction.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// insertUser inserts u and sets u.ID; account.ErrEmailTaken if the email
// has an account.
func insertUser(ctx context.Context, db queryRower, u *account.User) error {
	err := db.QueryRow(ctx,
		`INSERT INTO users (email, name, mobile_phone, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		u.Email, u.Name, u.MobilePhone, u.PasswordHash, millis(u.CreatedAt)).Scan(&u.ID)
	if isUniqueViolation(err) {
		return account.ErrEmailTaken
	}
	return err
}

// insertEvent appends e to the activity log and sets e.ID.
func insertEvent(ctx context.Context, db queryRower, e *account.Event) error {
	return db.QueryRow(ctx,
		`INSERT INTO security_events (user_id, kind, detail, ip, user_agent, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		e.UserID, string(e.Kind), e.Detail, e.IP, e.UserAgent, millis(e.CreatedAt)).Scan(&e.ID)
}

// insertNotification queues n (UserID 0: no user yet) and sets n.ID.
func insertNotification(ctx context.Context, db queryRower, n *account.Notification) error {
	return db.QueryRow(ctx,
		`INSERT INTO outbox (user_id, recipient, kind, subject, body, created_at) VALUES (NULLIF($1, 0), $2, $3, $4, $5, $6) RETURNING id`,
		n.UserID, n.Recipient, string(n.Kind), n.Subject, n.Body, millis(n.CreatedAt)).Scan(&n.ID)
}

// CreateUser implements account.Store.
func (s *Store) CreateUser(ctx context.Context, u *account.User) error {
	err := insertUser(ctx, s.pool, u)
	if errors.Is(err, account.ErrEmailTaken) {
		return err
	}
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	return nil
}

// UserByID implements account.Store.
func (s *Store) UserByID(ctx context.Context, id int64) (*account.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", id))
	if err != nil {
		return nil, fmt.Errorf("postgres: user %d: %w", id, err)
	}
	return u, nil
}

// UserByEmail implements account.Store.
func (s *Store) UserByEmail(ctx context.Context, email string) (*account.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE email = $1", email))
	if err != nil {
		return nil, fmt.Errorf("postgres: user by email: %w", err)
	}
	return u, nil
}

// ListUsers implements account.Store.
func (s *Store) ListUsers(ctx context.Context) ([]*account.User, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+userColumns+" FROM users ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	defer rows.Close()
	var users []*account.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list users: %w", err)
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// UpdateProfile implements account.Store.
func (s *Store) UpdateProfile(ctx context.Context, userID int64, name, mobilePhone string) error {
	return s.execOne(ctx, "update profile", `UPDATE users SET name = $1, mobile_phone = $2 WHERE id = $3`, name, mobilePhone, userID)
}

// UpdatePasswordHash implements account.Store.
func (s *Store) UpdatePasswordHash(ctx context.Context, userID int64, hash string) error {
	return s.execOne(ctx, "update password hash", `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
}

// SetPendingTOTP implements account.Store.
func (s *Store) SetPendingTOTP(ctx context.Context, userID int64, secret account.SealedSecret) error {
	err := s.execOne(ctx, "set pending totp",
		`UPDATE users SET totp_pending_key_id = $1, totp_pending_secret = $2 WHERE id = $3 AND totp_enabled_at IS NULL`,
		secret.KeyID, secret.Ciphertext, userID)
	if errors.Is(err, account.ErrNotFound) {
		return account.ErrTwoFactorEnabled
	}
	return err
}

// EnableTOTP implements account.Store: a compare-and-set on the pending secret.
func (s *Store) EnableTOTP(ctx context.Context, userID int64, pending account.SealedSecret, step int64, now time.Time) error {
	err := s.execOne(ctx, "enable totp",
		`UPDATE users SET totp_key_id = totp_pending_key_id, totp_secret = totp_pending_secret,
			totp_last_step = $1, totp_enabled_at = $2, totp_pending_key_id = NULL, totp_pending_secret = NULL,
			totp_failures = 0, totp_suspended_at = NULL
		WHERE id = $3 AND totp_enabled_at IS NULL AND totp_pending_key_id = $4 AND totp_pending_secret = $5`,
		step, millis(now), userID, pending.KeyID, pending.Ciphertext)
	if errors.Is(err, account.ErrNotFound) {
		return account.ErrConflict
	}
	return err
}

// AdvanceTOTPStep implements account.Store. Under READ COMMITTED a second
// concurrent UPDATE waits for the first and re-checks the WHERE clause on
// the new row, so exactly one of them sees totp_last_step < step.
func (s *Store) AdvanceTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	tag, err := s.pool.Exec(ctx,
		`UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_enabled_at IS NOT NULL AND totp_last_step < $1`,
		step, userID)
	if err != nil {
		return false, fmt.Errorf("postgres: advance totp step: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// DisableTOTP implements account.Store.
func (s *Store) DisableTOTP(ctx context.Context, userID int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			`UPDATE users SET totp_key_id = NULL, totp_secret = NULL, totp_enabled_at = NULL,
				totp_pending_key_id = NULL, totp_pending_secret = NULL, totp_failures = 0, totp_suspended_at = NULL
			WHERE id = $1`, userID)
		if err != nil {
			return fmt.Errorf("postgres: disable totp: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("postgres: disable totp: %w", account.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM backup_codes WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("postgres: disable totp: delete backup codes: %w", err)
		}
		return nil
	})
}

// ReplaceBackupCodes implements account.Store.
func (s *Store) ReplaceBackupCodes(ctx context.Context, userID int64, keyID string, hashes []string, now time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM backup_codes WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("postgres: replace backup codes: %w", err)
		}
		_, err := tx.Exec(ctx,
			`INSERT INTO backup_codes (user_id, key_id, code_hash, created_at) SELECT $1, $2, h, $4 FROM unnest($3::text[]) AS h`,
			userID, keyID, hashes, millis(now))
		if err != nil {
			return fmt.Errorf("postgres: replace backup codes: %w", err)
		}
		return nil
	})
}

// UseBackupCode implements account.Store.
func (s *Store) UseBackupCode(ctx context.Context, userID int64, hash string, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx,
		`UPDATE backup_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`,
		millis(now), userID, hash)
	if err != nil {
		return false, fmt.Errorf("postgres: use backup code: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// CountBackupCodes implements account.Store: the unused ones.
func (s *Store) CountBackupCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM backup_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count backup codes: %w", err)
	}
	return n, nil
}
