package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

func scanNotifications(rows *sql.Rows) ([]*account.Notification, error) {
	defer rows.Close()
	return rowmap.ScanAll(rows, rowmap.ScanNotification)
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
			RETURNING `+rowmap.NotificationColumns, millis(now), maxAttempts, millis(staleBefore), limit)
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
	rows, err := s.read.QueryContext(ctx, `SELECT `+rowmap.NotificationColumns+` FROM outbox ORDER BY id DESC LIMIT ?`, limit)
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
	rows, err := s.read.QueryContext(ctx, `SELECT `+rowmap.NotificationColumns+` FROM outbox WHERE id = ?`, id)
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
