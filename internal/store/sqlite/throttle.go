package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

const (
	countAttemptsSQL = `SELECT count(*), min(attempted_at) FROM throttle_attempts WHERE key = ? AND attempted_at > ?`
	insertAttemptSQL = `INSERT INTO throttle_attempts (key, attempted_at) VALUES (?, ?) RETURNING id`
)

// ReserveAttempt implements account.Store. The count and the insert run in
// one IMMEDIATE transaction, which holds the database's write lock, so
// concurrent attempts (from any process on this file) cannot both see room
// for one more.
func (s *Store) ReserveAttempt(ctx context.Context, key string, now, windowStart time.Time, limit int) (id int64, ok bool, oldest time.Time, err error) {
	err = s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		var first sql.NullInt64
		if err := s.txQueryRow(ctx, tx, countAttemptsSQL, key, millis(windowStart)).Scan(&n, &first); err != nil {
			return err
		}
		if n >= limit {
			oldest = fromMillis(first.Int64)
			return nil
		}
		ok = true
		return s.txQueryRow(ctx, tx, insertAttemptSQL, key, millis(now)).Scan(&id)
	})
	if err != nil {
		return 0, false, time.Time{}, fmt.Errorf("sqlite: reserve attempt: %w", err)
	}
	return id, ok, oldest, nil
}

// ReleaseAttempt implements account.Store.
func (s *Store) ReleaseAttempt(ctx context.Context, id int64) error {
	if _, err := s.exec(ctx, `DELETE FROM throttle_attempts WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: release attempt: %w", err)
	}
	return nil
}
