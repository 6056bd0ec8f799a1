package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

func scanNotifications(rows pgx.Rows) ([]*account.Notification, error) {
	defer rows.Close()
	return rowmap.ScanAll(rows, rowmap.ScanNotification)
}

// ClaimNotifications marks up to limit unsent messages of the given
// channels as taken by this sender and returns them; messages of other
// channels stay queued untouched, and no channels claims nothing. SKIP
// LOCKED lets instances claim side by side without waiting for or
// double-claiming each other's rows.
func (s *Store) ClaimNotifications(ctx context.Context, now, staleBefore time.Time, limit, maxAttempts int, channels []account.Channel) ([]*account.Notification, error) {
	if len(channels) == 0 {
		return nil, nil
	}
	names := make([]string, len(channels))
	for i, c := range channels {
		var err error
		if names[i], err = rowmap.Channel(c); err != nil {
			return nil, fmt.Errorf("postgres: claim notifications: %w", err)
		}
	}
	rows, err := s.pool.Query(ctx,
		`UPDATE outbox SET claimed_at = $1, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND attempts < $2
			AND (claimed_at IS NULL OR claimed_at < $3) AND channel = ANY($5) ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+rowmap.NotificationColumns, millis(now), maxAttempts, millis(staleBefore), limit, names)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim notifications: %w", err)
	}
	out, err := scanNotifications(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim notifications: %w", err)
	}
	return out, nil
}

// MarkNotificationSent records a delivery. A text message's body is
// blanked: it usually carries a short-lived code, which the outbox need
// not keep once the phone has it.
func (s *Store) MarkNotificationSent(ctx context.Context, id int64, now time.Time) error {
	return s.execOne(ctx, "mark notification sent", `UPDATE outbox SET sent_at = $1, last_error = '',
		body = CASE WHEN channel = 'sms' THEN '' ELSE body END WHERE id = $2`, millis(now), id)
}

// MarkNotificationFailed releases the claim so a later round retries.
func (s *Store) MarkNotificationFailed(ctx context.Context, id int64, reason string) error {
	return s.execOne(ctx, "mark notification failed", `UPDATE outbox SET claimed_at = NULL, last_error = $1 WHERE id = $2`, reason, id)
}

// GiveUpNotification releases the claim and spends the message's
// remaining attempts (up to maxAttempts), so no sender tries it again: for
// a failure that no retry can cure. It stays in the outbox, unsent.
func (s *Store) GiveUpNotification(ctx context.Context, id int64, reason string, maxAttempts int) error {
	return s.execOne(ctx, "give up notification", `UPDATE outbox SET claimed_at = NULL, last_error = $1, attempts = GREATEST(attempts, $2) WHERE id = $3`, reason, maxAttempts, id)
}

// Notifications returns the newest messages, sent or not, for the CLI.
func (s *Store) Notifications(ctx context.Context, limit int) ([]*account.Notification, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+rowmap.NotificationColumns+` FROM outbox ORDER BY id DESC LIMIT $1`, limit)
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
	rows, err := s.pool.Query(ctx, `SELECT `+rowmap.NotificationColumns+` FROM outbox WHERE id = $1`, id)
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
