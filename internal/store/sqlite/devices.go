package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

const (
	deviceByTokenSQL = `SELECT ` + rowmap.DeviceColumns + `, FALSE FROM remembered_devices WHERE token_hash = ?1
		UNION ALL SELECT d.id, d.user_id, d.token_hash, d.user_agent, d.ip, d.created_at, d.last_used_at, d.expires_at, TRUE FROM remembered_device_tokens r JOIN remembered_devices d ON d.id = r.device_id
		WHERE r.token_hash = ?1 LIMIT 1`
	devicesSQL = `SELECT ` + rowmap.DeviceColumns + `, FALSE FROM remembered_devices
		WHERE user_id = ? AND expires_at > ? ORDER BY last_used_at DESC, id DESC`
	insertDeviceSQL = `INSERT INTO remembered_devices (user_id, token_hash, user_agent, ip, created_at, last_used_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`
	rotateDeviceSQL = `UPDATE remembered_devices SET token_hash = ?1, last_used_at = ?3, ip = ?4, user_agent = ?5
		WHERE id = ?6 AND user_id = ?7 AND token_hash = ?2 AND expires_at > ?3`
	retireTokenSQL   = `INSERT INTO remembered_device_tokens (token_hash, device_id) VALUES (?, ?)`
	forgetDeviceSQL  = `DELETE FROM remembered_devices WHERE id = ? AND user_id = ?`
	forgetDevicesSQL = `DELETE FROM remembered_devices WHERE user_id = ?`
)

// DeviceByTokenHash implements account.Store.
func (s *Store) DeviceByTokenHash(ctx context.Context, tokenHash string) (*account.Device, error) {
	d, err := rowmap.ScanDevice(s.queryRow(ctx, deviceByTokenSQL, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("sqlite: remembered device: %w", notFound(err))
	}
	return d, nil
}

// Devices implements account.Store.
func (s *Store) Devices(ctx context.Context, userID int64, now time.Time) ([]*account.Device, error) {
	rows, err := s.read.QueryContext(ctx, devicesSQL, userID, millis(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: remembered devices: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanDevice)
	if err != nil {
		return nil, fmt.Errorf("sqlite: remembered devices: %w", err)
	}
	return out, nil
}

func (t *tx) CreateDevice(ctx context.Context, d *account.Device) error {
	err := t.row(ctx, insertDeviceSQL, d.UserID, d.TokenHash, d.UserAgent, d.IP,
		millis(d.CreatedAt), millis(d.LastUsedAt), millis(d.ExpiresAt)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("sqlite: remember device: %w", err)
	}
	return nil
}

func (t *tx) RotateDevice(ctx context.Context, userID, id int64, oldHash, next string, now time.Time, c account.Client) (bool, error) {
	n, err := t.exec(ctx, rotateDeviceSQL, next, oldHash, millis(now), c.IP, c.UserAgent, id, userID)
	if err != nil {
		return false, fmt.Errorf("sqlite: rotate device token: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	if _, err := t.exec(ctx, retireTokenSQL, oldHash, id); err != nil {
		return false, fmt.Errorf("sqlite: keep replaced device token: %w", err)
	}
	return true, nil
}

func (t *tx) ForgetDevice(ctx context.Context, userID, id int64) error {
	return t.one(ctx, "forget device", account.ErrNotFound, forgetDeviceSQL, id, userID)
}

func (t *tx) ForgetDevices(ctx context.Context, userID int64) (int, error) {
	n, err := t.exec(ctx, forgetDevicesSQL, userID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: forget devices: %w", err)
	}
	return int(n), nil
}
