package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// CreatePendingSignUp implements account.Store.
func (s *Store) CreatePendingSignUp(ctx context.Context, p *account.PendingSignUp, n *account.Notification) error {
	err := s.writeTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`INSERT INTO pending_signups (token_hash, email, name, mobile_phone, password_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.TokenHash, p.Email, p.Name, p.MobilePhone, p.PasswordHash, millis(p.CreatedAt), millis(p.ExpiresAt)).Scan(&p.ID)
		if err != nil {
			return err
		}
		return s.insertNotification(ctx, tx, n)
	}, insertNotificationSQL)
	if err != nil {
		return fmt.Errorf("sqlite: create pending sign-up: %w", err)
	}
	return nil
}

// PendingSignUpByTokenHash implements account.Store.
func (s *Store) PendingSignUpByTokenHash(ctx context.Context, tokenHash string) (*account.PendingSignUp, error) {
	var p account.PendingSignUp
	var created, expires int64
	err := s.read.QueryRowContext(ctx,
		`SELECT id, token_hash, email, name, mobile_phone, password_hash, created_at, expires_at
		FROM pending_signups WHERE token_hash = ?`, tokenHash).
		Scan(&p.ID, &p.TokenHash, &p.Email, &p.Name, &p.MobilePhone, &p.PasswordHash, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: pending sign-up: %w", account.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending sign-up: %w", err)
	}
	p.CreatedAt, p.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &p, nil
}

// CompleteSignUp implements account.Store.
func (s *Store) CompleteSignUp(ctx context.Context, id int64, now time.Time, u *account.User, sess *account.Session) error {
	err := s.writeTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM pending_signups WHERE id = ? AND expires_at > ?`, id, millis(now))
		if err != nil {
			return err
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return account.ErrNotFound
		}
		if err := s.insertUser(ctx, tx, u); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_signups WHERE email = ?`, u.Email); err != nil {
			return err
		}
		sess.UserID = u.ID
		return s.insertSession(ctx, tx, sess)
	}, insertUserSQL)
	if err != nil {
		return fmt.Errorf("sqlite: complete sign-up: %w", err)
	}
	return nil
}

// AddEventAndNotification implements account.Store.
func (s *Store) AddEventAndNotification(ctx context.Context, e *account.Event, n *account.Notification) error {
	err := s.writeTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.insertEvent(ctx, tx, e); err != nil {
			return err
		}
		return s.insertNotification(ctx, tx, n)
	}, insertEventSQL, insertNotificationSQL)
	if err != nil {
		return fmt.Errorf("sqlite: add event and notification: %w", err)
	}
	return nil
}

// RecordSignUpFailure implements account.Store.
func (s *Store) RecordSignUpFailure(ctx context.Context, id int64, spentAt int) (bool, error) {
	var spent bool
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE pending_signups SET failures = failures + 1 WHERE id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM pending_signups WHERE id = ? AND failures >= ?`, id, spentAt)
		if err != nil {
			return err
		}
		n, err := affected(res)
		spent = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: record sign-up failure: %w", err)
	}
	return spent, nil
}
