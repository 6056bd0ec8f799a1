package account

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// How a session's second factor was satisfied (Session.SecondFactor).
const (
	SecondFactorTOTP       = "totp"
	SecondFactorBackupCode = "backup_code"
	SecondFactorDevice     = "device"
)

// Device is a remembered device: a browser on which its owner ticked
// "Remember this device" at the code step, and which skips that step at
// sign-in until ExpiresAt. Only hashes of its token are stored; the token
// changes at every use.
type Device struct {
	ID         int64
	UserID     int64
	TokenHash  string
	UserAgent  string
	IP         string // of its last use
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time

	// Stale is set by Store.DeviceByTokenHash when the hash it was given
	// is of a token this device's replaced at a use: whoever presents it
	// holds a copy of a token another browser already used.
	Stale bool
	// Current is set by Service.Devices on the device the request came from.
	Current bool
}

// newDevice makes the device, and the token its browser keeps, for the
// user signing in from client c.
func (s *Service) newDevice(userID int64, c Client) (string, *Device, error) {
	token, err := s.newToken()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	return token, &Device{
		UserID: userID, TokenHash: hashToken(token), UserAgent: truncate(c.UserAgent, 200), IP: c.IP,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.policy.RememberDevice),
	}, nil
}

// staleGrace is how soon after a device's use its replaced token may come
// back, from the same address, without counting as a copy.
const staleGrace = 10 * time.Second

// deviceFor reads the remembered device a sign-in of u presented, if it
// is one of u's and still in force (Stale: an old copy of its token). It
// is nil when there is none to use, and drop then says the token is no
// use to anyone (unknown or expired). The store checks again, where the
// device's token is rotated, that it is still the one read.
func (s *Service) deviceFor(ctx context.Context, u *User, token string, c Client) (d *Device, drop bool, err error) {
	if token == "" || s.policy.RememberDevice <= 0 || !u.TwoFactorEnabled() {
		return nil, false, nil
	}
	d, err = s.store.DeviceByTokenHash(ctx, hashToken(token))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, true, nil
	case err != nil:
		return nil, false, fmt.Errorf("account: remembered device: %w", err)
	case !s.now().Before(d.ExpiresAt) || !s.now().Before(d.CreatedAt.Add(s.policy.RememberDevice)):
		// Expired, or remembered for longer than the server now allows.
		return nil, true, nil
	case d.UserID != u.ID:
		// Another account's device: two people share the browser. It
		// stays theirs, and this sign-in is asked for its code.
		return nil, false, nil
	case d.Stale && s.now().Sub(d.LastUsedAt) < staleGrace && d.IP == c.IP:
		// The token its last use replaced, moments later from the same
		// address: a form sent twice, or an answer lost on the way, not a
		// copy. The code is asked; nothing is forgotten.
		return nil, false, nil
	}
	return d, false, nil
}

// Devices lists the remembered devices of the signed-in user, newest use
// first; the one deviceToken belongs to (the requesting browser's) is
// marked Current.
func (s *Service) Devices(ctx context.Context, sess *Session, deviceToken string) ([]*Device, error) {
	if sess.Stage != StageComplete {
		return nil, ErrSecondFactorRequired
	}
	devices, err := s.store.Devices(ctx, sess.UserID, s.now())
	if err != nil {
		return nil, fmt.Errorf("account: devices: %w", err)
	}
	if deviceToken != "" {
		hash := hashToken(deviceToken)
		for _, d := range devices {
			d.Current = d.TokenHash == hash
		}
	}
	return devices, nil
}

// ForgetDevice forgets one remembered device of the signed-in user (id 0:
// every one of them), so that signing in from it asks for the code again.
// ErrDeviceNotFound when they have no such device.
func (s *Service) ForgetDevice(ctx context.Context, sess *Session, id int64, c Client) error {
	if sess.Stage != StageComplete {
		return ErrSecondFactorRequired
	}
	err := s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := holdSession(ctx, tx, sess); err != nil {
			return err
		}
		if id == 0 {
			n, err := tx.ForgetDevices(ctx, sess.UserID)
			if err != nil {
				return fmt.Errorf("account: forget devices: %w", err)
			}
			if n == 0 {
				return nil
			}
			return s.record(ctx, tx, sess.UserID, EventDeviceForgotten, fmt.Sprintf("all %d", n), c)
		}
		if err := tx.ForgetDevice(ctx, sess.UserID, id); err != nil {
			if errors.Is(err, ErrNotFound) {
				return ErrDeviceNotFound // forgotten meanwhile, or not theirs
			}
			return err
		}
		return s.record(ctx, tx, sess.UserID, EventDeviceForgotten, "", c)
	})
	switch {
	case errors.Is(err, ErrDeviceNotFound), errors.Is(err, ErrUnauthenticated):
		return err
	case err != nil:
		return fmt.Errorf("account: forget device: %w", err)
	}
	return nil
}

// forgetDevices ends every remembered device of the user inside tx: part of
// every change after which a device must not skip the code any more (a new
// password, 2FA off or reset, deactivation).
func forgetDevices(ctx context.Context, tx Tx, userID int64) error {
	if _, err := tx.ForgetDevices(ctx, userID); err != nil {
		return fmt.Errorf("account: forget remembered devices: %w", err)
	}
	return nil
}
