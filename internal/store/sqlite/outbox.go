package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// RecordSecondFactorFailure implements account.Store: one UPDATE counts the
// failure and sets the suspension when the count reaches suspendAfter.
func (s *Store) RecordSecondFactorFailure(ctx context.Context, userID int64, suspendAfter int, now time.Time) (int, bool, error) {
	const query = `UPDATE users SET totp_failures = totp_failures + 1,
			totp_suspended_at = CASE WHEN totp_suspended_at IS NULL AND totp_failures + 1 >= ? THEN ? ELSE totp_suspended_at END
		WHERE id = ? RETURNING totp_failures`
	var failures int
	err := s.writeTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.txQueryRow(ctx, tx, query, suspendAfter, millis(now), userID).Scan(&failures)
	}, query)
	if err != nil {
		return 0, false, fmt.Errorf("sqlite: record second factor failure: %w", err)
	}
	return failures, failures == suspendAfter, nil
}

// ClearSecondFactorFailures implements account.Store.
func (s *Store) ClearSecondFactorFailures(ctx context.Context, userID int64, unsuspend bool) error {
	query := `UPDATE users SET totp_failures = 0 WHERE id = ?`
	if unsuspend {
		query = `UPDATE users SET totp_failures = 0, totp_suspended_at = NULL WHERE id = ?`
	}
	if _, err := s.exec(ctx, query, userID); err != nil {
		return fmt.Errorf("sqlite: clear second factor failures: %w", err)
	}
	return nil
}

// AddNotification implements account.Store.
func (s *Store) AddNotification(ctx context.Context, n *account.Notification) error {
	if err := s.writeTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.insertNotification(ctx, tx, n) }, insertNotificationSQL); err != nil {
		return fmt.Errorf("sqlite: add notification: %w", err)
	}
	return nil
}

const notificationColumns = `id, COALESCE(user_id, 0), recipient, kind, subject, body, created_at, sent_at, attempts, last_error`

func scanNotifications(rows *sql.Rows) ([]*account.Notification, error) {
	defer rows.Close()
	var out []*account.Notification
	for rows.Next() {
		var n account.Notification
		var kind string
		var created int64
		var sent sql.NullInt64
		if err := rows.Scan(&n.ID, &n.UserID, &n.Recipient, &kind, &n.Subject, &n.Body, &created, &sent, &n.Attempts, &n.LastError); err != nil {
			return nil, err
		}
		n.Kind, n.CreatedAt = account.EventKind(kind), fromMillis(created)
		if sent.Valid {
			n.SentAt = fromMillis(sent.Int64)
		}
		out = append(out, &n)
	}
	return out, rows.Err()
}

// ClaimNotifications marks up to limit unsent messages as taken by this
// sender (unless another sender took them after staleBefore) and returns
// them; maxAttempts bounds the retries of a message that keeps failing.
func (s *Store) ClaimNotifications(ctx context.Context, now, staleBefore time.Time, limit, maxAttempts int) ([]*account.Notification, error) {
	var out []*account.Notification
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx,
			`UPDATE outbox SET claimed_at = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND attempts < ?
				AND (claimed_at IS NULL OR claimed_at < ?) ORDER BY id LIMIT ?)
			RETURNING `+notificationColumns, millis(now), maxAttempts, millis(staleBefore), limit)
		if err != nil {
			return err
		}
		out, err = scanNotifications(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim notifications: %w", err)
	}
	return out, nil
}

// MarkNotificationSent records a delivery.
func (s *Store) MarkNotificationSent(ctx context.Context, id int64, now time.Time) error {
	return s.execOne(ctx, "mark notification sent", `UPDATE outbox SET sent_at = ?, last_error = '' WHERE id = ?`, millis(now), id)
}

// MarkNotificationFailed releases the claim so a later round retries.
func (s *Store) MarkNotificationFailed(ctx context.Context, id int64, reason string) error {
	return s.execOne(ctx, "mark notification failed", `UPDATE outbox SET claimed_at = NULL, last_error = ? WHERE id = ?`, reason, id)
}

// Notifications returns the newest messages, sent or not, for the CLI.
func (s *Store) Notifications(ctx context.Context, limit int) ([]*account.Notification, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+notificationColumns+` FROM outbox ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: notifications: %w", err)
	}
	out, err := scanNotifications(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: notifications: %w", err)
	}
	return out, nil
}

// Notification returns message id for the CLI, or account.ErrNotFound.
func (s *Store) Notification(ctx context.Context, id int64) (*account.Notification, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+notificationColumns+` FROM outbox WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: notification %d: %w", id, err)
	}
	out, err := scanNotifications(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: notification %d: %w", id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sqlite: notification %d: %w", id, account.ErrNotFound)
	}
	return out[0], nil
}
