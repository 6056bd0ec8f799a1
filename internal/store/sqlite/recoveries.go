package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

const (
	pendingRecoverySQL  = `SELECT ` + rowmap.RecoveryColumns + ` FROM recoveries WHERE user_id = ? AND cancelled_at IS NULL AND completed_at IS NULL`
	recoveryByCancelSQL = `SELECT ` + rowmap.RecoveryColumns + ` FROM recoveries WHERE cancel_token_hash = ? AND cancelled_at IS NULL AND completed_at IS NULL`
	insertRecoverySQL   = `INSERT INTO recoveries (user_id, cancel_token_hash, created_at, effective_at, ip, user_agent)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS
			(SELECT 1 FROM recoveries WHERE user_id = ?1 AND cancelled_at IS NULL AND completed_at IS NULL) RETURNING id`
	completeRecoverySQL = `UPDATE recoveries SET completed_at = ?2
		WHERE id = ?1 AND cancelled_at IS NULL AND completed_at IS NULL AND effective_at <= ?2`
	cancelRecoverySQL = `UPDATE recoveries SET cancelled_at = ?2, cancelled_by = ?3
		WHERE id = ?1 AND cancelled_at IS NULL AND completed_at IS NULL`
	cancelRecoveriesSQL = `UPDATE recoveries SET cancelled_at = ?2, cancelled_by = ?3
		WHERE user_id = ?1 AND cancelled_at IS NULL AND completed_at IS NULL`
	cancelAllRecoveriesSQL = `UPDATE recoveries SET cancelled_at = ?1, cancelled_by = ?2
		WHERE cancelled_at IS NULL AND completed_at IS NULL RETURNING user_id`
)

// PendingRecovery implements account.Store.
func (s *Store) PendingRecovery(ctx context.Context, userID int64) (*account.Recovery, error) {
	r, err := rowmap.ScanRecovery(s.queryRow(ctx, pendingRecoverySQL, userID))
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending recovery: %w", notFound(err))
	}
	return r, nil
}

// RecoveryByCancelToken implements account.Store.
func (s *Store) RecoveryByCancelToken(ctx context.Context, tokenHash string) (*account.Recovery, error) {
	r, err := rowmap.ScanRecovery(s.queryRow(ctx, recoveryByCancelSQL, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("sqlite: recovery: %w", notFound(err))
	}
	return r, nil
}

func (t *tx) CreateRecovery(ctx context.Context, r *account.Recovery) (bool, error) {
	err := t.row(ctx, insertRecoverySQL, r.UserID, r.CancelTokenHash, millis(r.CreatedAt), millis(r.EffectiveAt), r.IP, r.UserAgent).Scan(&r.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: create recovery: %w", err)
	}
	return true, nil
}

func (t *tx) CompleteRecovery(ctx context.Context, id int64, now time.Time) (bool, error) {
	return t.changed(ctx, "complete recovery", completeRecoverySQL, id, millis(now))
}

func (t *tx) CancelRecovery(ctx context.Context, id int64, by string, now time.Time) (bool, error) {
	return t.changed(ctx, "cancel recovery", cancelRecoverySQL, id, millis(now), by)
}

func (t *tx) CancelRecoveries(ctx context.Context, userID int64, by string, now time.Time) (int, error) {
	n, err := t.exec(ctx, cancelRecoveriesSQL, userID, millis(now), by)
	if err != nil {
		return 0, fmt.Errorf("sqlite: cancel recoveries: %w", err)
	}
	return int(n), nil
}

func (t *tx) CancelAllRecoveries(ctx context.Context, by string, now time.Time) ([]int64, error) {
	rows, err := t.tx.QueryContext(ctx, cancelAllRecoveriesSQL, millis(now), by)
	if err != nil {
		return nil, fmt.Errorf("sqlite: cancel all recoveries: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: cancel all recoveries: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: cancel all recoveries: %w", err)
	}
	return ids, nil
}
