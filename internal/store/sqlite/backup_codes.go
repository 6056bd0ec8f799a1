package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ReplaceBackupCodes implements account.Store.
func (s *Store) ReplaceBackupCodes(ctx context.Context, userID int64, keyID string, hashes []string, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("sqlite: replace backup codes: %w", err)
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO backup_codes (user_id, key_id, code_hash, created_at) VALUES (?, ?, ?, ?)`,
				userID, keyID, h, millis(now)); err != nil {
				return fmt.Errorf("sqlite: replace backup codes: %w", err)
			}
		}
		return nil
	})
}

// UseBackupCode implements account.Store: one conditional UPDATE, so a code
// is consumed at most once however many requests carry it.
func (s *Store) UseBackupCode(ctx context.Context, userID int64, hash string, now time.Time) (bool, error) {
	res, err := s.exec(ctx,
		`UPDATE backup_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
		millis(now), userID, hash)
	if err != nil {
		return false, fmt.Errorf("sqlite: use backup code: %w", err)
	}
	n, err := affected(res)
	return n == 1, err
}

// CountBackupCodes implements account.Store: the unused ones.
func (s *Store) CountBackupCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM backup_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count backup codes: %w", err)
	}
	return n, nil
}
