package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// PendingRecovery implements account.Store.
func (s *Store) PendingRecovery(ctx context.Context, userID int64) (*account.Recovery, error) {
	r, err := rowmap.ScanRecovery(s.pool.QueryRow(ctx, `SELECT `+rowmap.RecoveryColumns+` FROM recoveries
		WHERE user_id = $1 AND cancelled_at IS NULL AND completed_at IS NULL`, userID))
	if err != nil {
		return nil, fmt.Errorf("postgres: pending recovery: %w", notFound(err))
	}
	return r, nil
}

// RecoveryByCancelToken implements account.Store.
func (s *Store) RecoveryByCancelToken(ctx context.Context, tokenHash string) (*account.Recovery, error) {
	r, err := rowmap.ScanRecovery(s.pool.QueryRow(ctx, `SELECT `+rowmap.RecoveryColumns+` FROM recoveries
		WHERE cancel_token_hash = $1 AND cancelled_at IS NULL AND completed_at IS NULL`, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("postgres: recovery: %w", notFound(err))
	}
	return r, nil
}

// CreateRecovery implements account.Tx. The caller holds the user's row,
// and the partial unique index on pending recoveries is the last word:
// two starts never both leave one pending.
func (t *tx) CreateRecovery(ctx context.Context, r *account.Recovery) (bool, error) {
	err := t.tx.QueryRow(ctx, `INSERT INTO recoveries (user_id, cancel_token_hash, created_at, effective_at, ip, user_agent)
		SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS
			(SELECT 1 FROM recoveries WHERE user_id = $1 AND cancelled_at IS NULL AND completed_at IS NULL) RETURNING id`,
		r.UserID, r.CancelTokenHash, millis(r.CreatedAt), millis(r.EffectiveAt), r.IP, r.UserAgent).Scan(&r.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: create recovery: %w", err)
	}
	return true, nil
}

func (t *tx) CompleteRecovery(ctx context.Context, id int64, now time.Time) (bool, error) {
	return t.changed(ctx, "complete recovery", `UPDATE recoveries SET completed_at = $2
		WHERE id = $1 AND cancelled_at IS NULL AND completed_at IS NULL AND effective_at <= $2`, id, millis(now))
}

func (t *tx) CancelRecovery(ctx context.Context, id int64, by string, now time.Time) (bool, error) {
	return t.changed(ctx, "cancel recovery", `UPDATE recoveries SET cancelled_at = $2, cancelled_by = $3
		WHERE id = $1 AND cancelled_at IS NULL AND completed_at IS NULL`, id, millis(now), by)
}

func (t *tx) CancelRecoveries(ctx context.Context, userID int64, by string, now time.Time) (int, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE recoveries SET cancelled_at = $2, cancelled_by = $3
		WHERE user_id = $1 AND cancelled_at IS NULL AND completed_at IS NULL`, userID, millis(now), by)
	if err != nil {
		return 0, fmt.Errorf("postgres: cancel recoveries: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func (t *tx) CancelAllRecoveries(ctx context.Context, by string, now time.Time) ([]int64, error) {
	rows, err := t.tx.Query(ctx, `UPDATE recoveries SET cancelled_at = $1, cancelled_by = $2
		WHERE cancelled_at IS NULL AND completed_at IS NULL RETURNING user_id`, millis(now), by)
	if err != nil {
		return nil, fmt.Errorf("postgres: cancel all recoveries: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("postgres: cancel all recoveries: %w", err)
	}
	return ids, nil
}
