package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

func scanNotifications(rows *sql.Rows) ([]*account.Notification, error) {
	defer rows.Close()
	return rowmap.ScanAll(rows, rowmap.ScanNotification)
}

// ClaimNotifications marks up to limit unsent messages of the given
// channels as taken by this sender (unless another sender took them after
// staleBefore) and returns them; maxAttempts bounds the retries of a
// message that keeps failing. Messages of other channels, which this
// sender cannot deliver, stay queued untouched; no channels claims nothing.
func (s *Store) ClaimNotifications(ctx context.Context, now, staleBefore time.Time, limit, maxAttempts int, channels []account.Channel) ([]*account.Notification, error) {
	if len(channels) == 0 {
		return nil, nil
	}
	args := []any{millis(now), maxAttempts, millis(staleBefore)}
	for _, c := range channels {
		name, err := rowmap.Channel(c)
		if err != nil {
			return nil, fmt.Errorf("sqlite: claim notifications: %w", err)
		}
		args = append(args, name)
	}
	args = append(args, limit)
	var out []*account.Notification
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx,
			`UPDATE outbox SET claimed_at = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND attempts < ?
				AND (claimed_at IS NULL OR claimed_at < ?) AND channel IN (?`+strings.Repeat(", ?", len(channels)-1)+`) ORDER BY id LIMIT ?)
			RETURNING `+rowmap.NotificationColumns, args...)
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

// MarkNotificationSent records a delivery. A text message's body is
// blanked: it usually carries a short-lived code, which the outbox need
// not keep once the phone has it.
func (s *Store) MarkNotificationSent(ctx context.Context, id int64, now time.Time) error {
	return s.execOne(ctx, "mark notification sent", `UPDATE outbox SET sent_at = ?, last_error = '',
		body = CASE WHEN channel = 'sms' THEN '' ELSE body END WHERE id = ?`, millis(now), id)
}

// MarkNotificationFailed releases the claim so a later round retries.
func (s *Store) MarkNotificationFailed(ctx context.Context, id int64, reason string) error {
	return s.execOne(ctx, "mark notification failed", `UPDATE outbox SET claimed_at = NULL, last_error = ? WHERE id = ?`, reason, id)
}

// GiveUpNotification releases the claim and spends the message's
// remaining attempts (up to maxAttempts), so no sender tries it again: for
// a failure that no retry can cure. It stays in the outbox, unsent.
func (s *Store) GiveUpNotification(ctx context.Context, id int64, reason string, maxAttempts int) error {
	return s.execOne(ctx, "give up notification", `UPDATE outbox SET claimed_at = NULL, last_error = ?, attempts = MAX(attempts, ?) WHERE id = ?`, reason, maxAttempts, id)
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
