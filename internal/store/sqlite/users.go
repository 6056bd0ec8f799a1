package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
)

const userColumns = `id, email, name, mobile_phone, password_hash, created_at,
	totp_key_id, totp_secret, totp_last_step, totp_enabled_at, totp_pending_key_id, totp_pending_secret,
	totp_failures, totp_suspended_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(row rowScanner) (*account.User, error) {
	var (
		u                     account.User
		createdAt, lastStep   int64
		keyID, pendingKeyID   sql.NullString
		secret, pendingSecret []byte
		enabledAt             sql.NullInt64
		failures              int
		suspendedAt           sql.NullInt64
	)
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.MobilePhone, &u.PasswordHash, &createdAt,
		&keyID, &secret, &lastStep, &enabledAt, &pendingKeyID, &pendingSecret, &failures, &suspendedAt)
	if err != nil {
		return nil, err
	}
	u.CreatedAt = fromMillis(createdAt)
	if enabledAt.Valid && keyID.Valid {
		u.TOTP = &account.TOTPState{
			Secret:    account.SealedSecret{KeyID: keyID.String, Ciphertext: secret},
			LastStep:  lastStep,
			EnabledAt: fromMillis(enabledAt.Int64),
			Failures:  failures,
		}
		if suspendedAt.Valid {
			u.TOTP.SuspendedAt = fromMillis(suspendedAt.Int64)
		}
	}
	if pendingKeyID.Valid {
		u.PendingTOTP = &account.SealedSecret{KeyID: pendingKeyID.String, Ciphertext: pendingSecret}
	}
	return &u, nil
}

func (s *Store) userWhere(ctx context.Context, where string, arg any) (*account.User, error) {
	u, err := scanUser(s.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, account.ErrNotFound
	}
	return u, err
}

// CreateUser implements account.Store.
func (s *Store) CreateUser(ctx context.Context, u *account.User) error {
	err := s.writeTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.insertUser(ctx, tx, u) }, insertUserSQL)
	if errors.Is(err, account.ErrEmailTaken) {
		return account.ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	return nil
}

// UserByID implements account.Store.
func (s *Store) UserByID(ctx context.Context, id int64) (*account.User, error) {
	u, err := s.userWhere(ctx, "id = ?", id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user %d: %w", id, err)
	}
	return u, nil
}

// UserByEmail implements account.Store.
func (s *Store) UserByEmail(ctx context.Context, email string) (*account.User, error) {
	u, err := s.userWhere(ctx, "email = ?", email)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user by email: %w", err)
	}
	return u, nil
}

// ListUsers implements account.Store.
func (s *Store) ListUsers(ctx context.Context) ([]*account.User, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+userColumns+" FROM users ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var users []*account.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	n, err := affected(res)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", what, account.ErrNotFound)
	}
	return nil
}

// UpdateProfile implements account.Store.
func (s *Store) UpdateProfile(ctx context.Context, userID int64, name, mobilePhone string) error {
	return s.execOne(ctx, "update profile", `UPDATE users SET name = ?, mobile_phone = ? WHERE id = ?`, name, mobilePhone, userID)
}

// UpdatePasswordHash implements account.Store.
func (s *Store) UpdatePasswordHash(ctx context.Context, userID int64, hash string) error {
	return s.execOne(ctx, "update password hash", `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
}

// SetPendingTOTP implements account.Store.
func (s *Store) SetPendingTOTP(ctx context.Context, userID int64, secret account.SealedSecret) error {
	err := s.execOne(ctx, "set pending totp",
		`UPDATE users SET totp_pending_key_id = ?, totp_pending_secret = ? WHERE id = ? AND totp_enabled_at IS NULL`,
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
			totp_last_step = ?, totp_enabled_at = ?, totp_pending_key_id = NULL, totp_pending_secret = NULL,
			totp_failures = 0, totp_suspended_at = NULL
		WHERE id = ? AND totp_enabled_at IS NULL AND totp_pending_key_id = ? AND totp_pending_secret = ?`,
		step, millis(now), userID, pending.KeyID, pending.Ciphertext)
	if errors.Is(err, account.ErrNotFound) {
		return account.ErrConflict
	}
	return err
}

// AdvanceTOTPStep implements account.Store: the compare-and-set that makes
// every TOTP code single-use.
func (s *Store) AdvanceTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	res, err := s.exec(ctx,
		`UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_enabled_at IS NOT NULL AND totp_last_step < ?`,
		step, userID, step)
	if err != nil {
		return false, fmt.Errorf("sqlite: advance totp step: %w", err)
	}
	n, err := affected(res)
	return n == 1, err
}

// DisableTOTP implements account.Store.
func (s *Store) DisableTOTP(ctx context.Context, userID int64) error {
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE users SET totp_key_id = NULL, totp_secret = NULL, totp_enabled_at = NULL,
				totp_pending_key_id = NULL, totp_pending_secret = NULL, totp_failures = 0, totp_suspended_at = NULL
			WHERE id = ?`, userID)
		if err != nil {
			return fmt.Errorf("sqlite: disable totp: %w", err)
		}
		if n, err := affected(res); err != nil || n == 0 {
			return fmt.Errorf("sqlite: disable totp: %w", errors.Join(err, account.ErrNotFound))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("sqlite: disable totp: delete backup codes: %w", err)
		}
		return nil
	})
}
