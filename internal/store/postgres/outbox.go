package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold/twofold/internal/account"
)

// RecordSecondFactorFailure implements account.Store: one UPDATE counts the
// failure and sets the suspension when the count reaches suspendAfter. The
// row lock makes concurrent failures count one by one.
func (s *Store) RecordSecondFactorFailure(ctx context.Context, userID int64, suspendAfter int, now time.Time) (int, bool, error) {
	var failures int
	var suspendedAt *int64
	err := s.pool.QueryRow(ctx,
		`UPDATE users SET totp_failures = totp_failures + 1,
			totp_suspended_at = CASE WHEN totp_suspended_at IS NULL AND totp_failures + 1 >= $1 THEN $2 ELSE totp_suspended_at END
		WHERE id = $3 RETURNING totp_failures, totp_suspended_at`, suspendAfter, millis(now), userID).Scan(&failures, &suspendedAt)
	if err != nil {
		return 0, false, fmt.Errorf("postgres: record second factor failure: %w", err)
	}
	return failures, failures == suspendAfter, nil
}

// ClearSecondFactorFailures implements account.Store.
func (s *Store) ClearSecondFactorFailures(ctx context.Context, userID int64, unsuspend bool) error {
	query := `UPDATE users SET totp_failures = 0 WHERE id = $1`
	if unsuspend {
		query = `UPDATE users SET totp_failures = 0, totp_suspended_at = NULL WHERE id = $1`
	}
	if _, err := s.pool.Exec(ctx, query, userID); err != nil {
		return fmt.Errorf("postgres: clear second factor failures: %w", err)
	}
	return nil
}

// AddNotification implements account.Store.
func (s *Store) AddNotification(ctx context.Context, n *account.Notification) error {
	if err := insertNotification(ctx, s.pool, n); err != nil {
		return fmt.Errorf("postgres: add notification: %w", err)
	}
	return nil
}

const notificationColumns = `id, COALESCE(user_id, 0), recipient, kind, subject, body, created_at, sent_at, attempts, last_error`

func scanNotifications(rows pgx.Rows) ([]*account.Notification, error) {
	defer rows.Close()
	var out []*account.Notification
	for rows.Next() {
		var n account.Notification
		var kind string
		var created int64
		var sent *int64
		if err := rows.Scan(&n.ID, &n.UserID, &n.Recipient, &kind, &n.Subject, &n.Body, &created, &sent, &n.Attempts, &n.LastError); err != nil {
			return nil, err
		}
		n.Kind, n.CreatedAt = account.EventKind(kind), fromMillis(created)
		if sent != nil {
			n.SentAt = fromMillis(*sent)
		}
		out = append(out, &n)
	}
	return out, rows.Err()
}

// ClaimNotifications marks up to limit unsent messages as taken by this
// sender and returns them. SKIP LOCKED lets instances claim side by side
// without waiting for or double-claiming each other's rows.
func (s *Store) ClaimNotifications(ctx context.Context, now, staleBefore time.Time, limit, maxAttempts int) ([]*account.Notification, error) {
	rows, err := s.pool.Query(ctx,
		`UPDATE outbox SET claimed_at = $1, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND attempts < $2
			AND (claimed_at IS NULL OR claimed_at < $3) ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+notificationColumns, millis(now), maxAttempts, millis(staleBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim notifications: %w", err)
	}
	out, err := scanNotifications(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim notifications: %w", err)
	}
	return out, nil
}

// MarkNotificationSent records a delivery.
func (s *Store) MarkNotificationSent(ctx context.Context, id int64, now time.Time) error {
	return s.execOne(ctx, "mark notification sent", `UPDATE outbox SET sent_at = $1, last_error = '' WHERE id = $2`, millis(now), id)
}

// MarkNotificationFailed releases the claim so a later round retries.
func (s *Store) MarkNotificationFailed(ctx context.Context, id int64, reason string) error {
	return s.execOne(ctx, "mark notification failed", `UPDATE outbox SET claimed_at = NULL, last_error = $1 WHERE id = $2`, reason, id)
}

// Notifications returns the newest messages, sent or not, for the CLI.
func (s *Store) Notifications(ctx context.Context, limit int) ([]*account.Notification, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+notificationColumns+` FROM outbox ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: notifications: %w", err)
	}
	out, err := scanNotifications(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: notifications: %w", err)
	}
	return out, nil
}

// Notification returns message id for the CLI, or account.ErrNotFound.
func (s *Store) Notification(ctx context.Context, id int64) (*account.Notification, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+notificationColumns+` FROM outbox WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("postgres: notification %d: %w", id, err)
	}
	out, err := scanNotifications(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: notification %d: %w", id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("postgres: notification %d: %w", id, account.ErrNotFound)
	}
	return out[0], nil
}
