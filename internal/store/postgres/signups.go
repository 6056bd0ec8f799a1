package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold/twofold/internal/account"
)

// CreatePendingSignUp implements account.Store.
func (s *Store) CreatePendingSignUp(ctx context.Context, p *account.PendingSignUp, n *account.Notification) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx,
			`INSERT INTO pending_signups (token_hash, email, name, mobile_phone, password_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			p.TokenHash, p.Email, p.Name, p.MobilePhone, p.PasswordHash, millis(p.CreatedAt), millis(p.ExpiresAt)).Scan(&p.ID)
		if err != nil {
			return err
		}
		return insertNotification(ctx, tx, n)
	})
	if err != nil {
		return fmt.Errorf("postgres: create pending sign-up: %w", err)
	}
	return nil
}

// PendingSignUpByTokenHash implements account.Store.
func (s *Store) PendingSignUpByTokenHash(ctx context.Context, tokenHash string) (*account.PendingSignUp, error) {
	var p account.PendingSignUp
	var created, expires int64
	err := s.pool.QueryRow(ctx,
		`SELECT id, token_hash, email, name, mobile_phone, password_hash, created_at, expires_at
		FROM pending_signups WHERE token_hash = $1`, tokenHash).
		Scan(&p.ID, &p.TokenHash, &p.Email, &p.Name, &p.MobilePhone, &p.PasswordHash, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: pending sign-up: %w", account.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: pending sign-up: %w", err)
	}
	p.CreatedAt, p.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &p, nil
}

// CompleteSignUp implements account.Store. The DELETE takes the pending
// row's lock, so of two concurrent confirmations of one link the second
// waits, then deletes nothing and creates nothing.
func (s *Store) CompleteSignUp(ctx context.Context, id int64, now time.Time, u *account.User, sess *account.Session) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM pending_signups WHERE id = $1 AND expires_at > $2`, id, millis(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return account.ErrNotFound
		}
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM pending_signups WHERE email = $1`, u.Email); err != nil {
			return err
		}
		sess.UserID = u.ID
		return insertSession(ctx, tx, sess)
	})
	if err != nil {
		return fmt.Errorf("postgres: complete sign-up: %w", err)
	}
	return nil
}

// AddEventAndNotification implements account.Store.
func (s *Store) AddEventAndNotification(ctx context.Context, e *account.Event, n *account.Notification) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := insertEvent(ctx, tx, e); err != nil {
			return err
		}
		return insertNotification(ctx, tx, n)
	})
	if err != nil {
		return fmt.Errorf("postgres: add event and notification: %w", err)
	}
	return nil
}

// RecordSignUpFailure implements account.Store.
func (s *Store) RecordSignUpFailure(ctx context.Context, id int64, spentAt int) (bool, error) {
	var spent bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE pending_signups SET failures = failures + 1 WHERE id = $1`, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM pending_signups WHERE id = $1 AND failures >= $2`, id, spentAt)
		spent = err == nil && tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("postgres: record sign-up failure: %w", err)
	}
	return spent, nil
}
