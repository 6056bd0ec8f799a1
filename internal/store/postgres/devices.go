package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// DeviceByTokenHash implements account.Store.
func (s *Store) DeviceByTokenHash(ctx context.Context, tokenHash string) (*account.Device, error) {
	d, err := rowmap.ScanDevice(s.pool.QueryRow(ctx, `SELECT `+rowmap.DeviceColumns+`, FALSE FROM remembered_devices WHERE token_hash = $1
		UNION ALL SELECT `+rowmap.Qualified("d", rowmap.DeviceColumns)+`, TRUE FROM remembered_device_tokens r
		JOIN remembered_devices d ON d.id = r.device_id WHERE r.token_hash = $1 LIMIT 1`, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("postgres: remembered device: %w", notFound(err))
	}
	return d, nil
}

// Devices implements account.Store.
func (s *Store) Devices(ctx context.Context, userID int64, now time.Time) ([]*account.Device, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+rowmap.DeviceColumns+`, FALSE FROM remembered_devices
		WHERE user_id = $1 AND expires_at > $2 ORDER BY last_used_at DESC, id DESC`, userID, millis(now))
	if err != nil {
		return nil, fmt.Errorf("postgres: remembered devices: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanDevice)
	if err != nil {
		return nil, fmt.Errorf("postgres: remembered devices: %w", err)
	}
	return out, nil
}

func (t *tx) CreateDevice(ctx context.Context, d *account.Device) error {
	err := t.tx.QueryRow(ctx,
		`INSERT INTO remembered_devices (user_id, token_hash, user_agent, ip, created_at, last_used_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		d.UserID, d.TokenHash, d.UserAgent, d.IP, millis(d.CreatedAt), millis(d.LastUsedAt), millis(d.ExpiresAt)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("postgres: remember device: %w", err)
	}
	return nil
}

// RotateDevice implements account.Tx: a concurrent rotation of the same
// token waits on the row lock, then finds the token changed and updates
// nothing.
func (t *tx) RotateDevice(ctx context.Context, userID, id int64, oldHash, next string, now time.Time, c account.Client) (bool, error) {
	ok, err := t.changed(ctx, "rotate device token",
		`UPDATE remembered_devices SET token_hash = $1, last_used_at = $3, ip = $4, user_agent = $5
		WHERE id = $6 AND user_id = $7 AND token_hash = $2 AND expires_at > $3`,
		next, oldHash, millis(now), c.IP, c.UserAgent, id, userID)
	if err != nil || !ok {
		return false, err
	}
	if err := t.exec(ctx, "keep replaced device token",
		`INSERT INTO remembered_device_tokens (token_hash, device_id) VALUES ($1, $2)`, oldHash, id); err != nil {
		return false, err
	}
	return true, nil
}

func (t *tx) ForgetDevice(ctx context.Context, userID, id int64) error {
	return t.one(ctx, "forget device", account.ErrNotFound,
		`DELETE FROM remembered_devices WHERE id = $1 AND user_id = $2`, id, userID)
}

func (t *tx) ForgetDevices(ctx context.Context, userID int64) (int, error) {
	tag, err := t.tx.Exec(ctx, `DELETE FROM remembered_devices WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("postgres: forget devices: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
