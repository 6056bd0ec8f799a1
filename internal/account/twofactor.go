package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/twofold/twofold/internal/totp"
)

// TOTPSetup is what the setup page shows: the secret for manual entry and
// the otpauth URI that the QR code encodes.
type TOTPSetup struct {
	Secret  string // base32, unpadded
	Grouped string // the same in groups of four
	URI     string
}

// SecretAdditionalData binds a sealed TOTP secret to its user: a ciphertext
// copied into another user's row does not open. Seeding tools that write
// sealed secrets straight to the store (twofold bench) use it too.
func SecretAdditionalData(userID int64) []byte {
	return fmt.Appendf(nil, "twofold/user/%d/totp-secret", userID)
}

func (s *Service) openSecret(userID int64, sealed SealedSecret) ([]byte, error) {
	secret, err := s.keys.Open(sealed.KeyID, sealed.Ciphertext, SecretAdditionalData(userID))
	if err != nil {
		return nil, fmt.Errorf("account: open totp secret of user %d: %w", userID, err)
	}
	return secret, nil
}

func (s *Service) setupFor(u *User, secret []byte) *TOTPSetup {
	return &TOTPSetup{
		Secret:  totp.EncodeSecret(secret),
		Grouped: totp.GroupSecret(secret),
		URI:     totp.URI(s.policy.Issuer, u.Email, secret),
	}
}

// userOf reads the account of a signed-in session afresh for a change (the
// profile read with the session may be older than the caller's last
// change); what the change decides on it is checked again where it is
// written.
func (s *Service) userOf(ctx context.Context, sess *Session) (*User, error) {
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthenticated // its session went with it
	}
	return u, err
}

// BeginTOTPSetup makes a new secret for the user and keeps it pending until
// EnableTOTP proves an app holds it. It needs a mobile phone number on the
// account and a recent password.
func (s *Service) BeginTOTPSetup(ctx context.Context, sess *Session) (*TOTPSetup, error) {
	if err := s.requireRecentAuth(sess); err != nil {
		return nil, err
	}
	u, err := s.userOf(ctx, sess)
	if err != nil {
		return nil, fmt.Errorf("account: begin totp setup: %w", err)
	}
	switch {
	case u.TwoFactorEnabled():
		return nil, ErrTwoFactorEnabled
	case u.MobilePhone == "":
		return nil, ErrPhoneRequired
	}
	secret, err := totp.NewSecret(s.random)
	if err != nil {
		return nil, err
	}
	keyID, ct, err := s.keys.Seal(secret, SecretAdditionalData(u.ID))
	if err != nil {
		return nil, err
	}
	sealed := SealedSecret{KeyID: keyID, Ciphertext: ct}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.SetPendingTOTP(ctx, u.ID, sealed); err != nil {
			return err
		}
		return holdSession(ctx, tx, sess)
	})
	if err != nil {
		return nil, s.fault(ctx, "store pending totp", err, nil)
	}
	return s.setupFor(u, secret), nil
}

// PendingTOTPSetup returns the setup in progress (to show the page again
// after a wrong code), or ErrNoPendingSetup. Like starting one, it shows
// the secret, so it needs a recent password (ErrReauthRequired).
func (s *Service) PendingTOTPSetup(ctx context.Context, sess *Session) (*TOTPSetup, error) {
	if err := s.requireRecentAuth(sess); err != nil {
		return nil, err
	}
	u, err := s.userOf(ctx, sess)
	if err != nil {
		return nil, fmt.Errorf("account: pending totp setup: %w", err)
	}
	if u.TwoFactorEnabled() {
		return nil, ErrTwoFactorEnabled
	}
	if u.PendingTOTP == nil {
		return nil, ErrNoPendingSetup
	}
	secret, err := s.openSecret(u.ID, *u.PendingTOTP)
	if err != nil {
		return nil, err
	}
	return s.setupFor(u, secret), nil
}

// EnableTOTP switches 2FA on if code matches the pending secret. The step
// of that code counts as used. Other sessions of the user are ended, in
// the same transaction, which writes 2FA on only while it is still off,
// the secret still pending and the mobile number still there.
func (s *Service) EnableTOTP(ctx context.Context, sess *Session, code string, c Client) error {
	if err := s.requireRecentAuth(sess); err != nil {
		return err
	}
	u, err := s.userOf(ctx, sess)
	if err != nil {
		return fmt.Errorf("account: enable totp: %w", err)
	}
	switch {
	case u.TwoFactorEnabled():
		return ErrTwoFactorEnabled
	case u.MobilePhone == "":
		return ErrPhoneRequired
	case u.PendingTOTP == nil:
		return ErrNoPendingSetup
	}
	normalized, err := totp.NormalizeCode(code)
	if err != nil {
		return &ValidationError{Fields: map[string]string{"code": "Enter the 6-digit code your authenticator app shows."}}
	}
	reserved, err := s.reserve(ctx, s.codeLimit(u.ID))
	if err != nil {
		return err
	}
	secret, err := s.openSecret(u.ID, *u.PendingTOTP)
	if err != nil {
		s.giveBack(ctx, reserved) // nothing was compared
		return err
	}
	step, ok := totp.Validate(secret, normalized, s.now(), s.policy.TOTPSkew, 0)
	if !ok {
		s.recordFailure(ctx, func(ctx context.Context, tx Tx) error {
			return s.record(ctx, tx, u.ID, EventSecondFactorFailed, "setup", c)
		})
		if drift := s.clockDrift(secret, normalized, 0); drift != nil {
			return drift
		}
		return ErrInvalidCode
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := releaseAttempts(ctx, tx, reserved); err != nil {
			return err
		}
		if err := tx.EnableTOTP(ctx, u.ID, *u.PendingTOTP, step, s.now()); err != nil {
			return err
		}
		if err := holdSession(ctx, tx, sess); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, u.ID, sess.TokenHash); err != nil {
			return fmt.Errorf("account: end other sessions: %w", err)
		}
		return s.recordAndNotify(ctx, tx, u, EventTwoFactorEnabled, "", c)
	})
	if err != nil {
		return s.fault(ctx, "enable totp", err, reserved)
	}
	return nil
}

// DisableTOTP switches 2FA off. It needs the password and a current TOTP
// code or an unused backup code; all backup codes are deleted with it, and
// the account's other sessions end, as when 2FA is enabled. The code is
// consumed, 2FA switched off, the sessions ended and the event and email
// queued in one transaction, and only if the account's security version is
// still the one the password and code were checked against.
func (s *Service) DisableTOTP(ctx context.Context, sess *Session, pw, code string, c Client) error {
	if sess.Stage != StageComplete {
		return ErrSecondFactorRequired
	}
	u, err := s.userOf(ctx, sess)
	if err != nil {
		return fmt.Errorf("account: disable totp: %w", err)
	}
	if !u.TwoFactorEnabled() {
		return ErrTwoFactorNotEnabled
	}
	settings, err := s.store.Settings(ctx)
	if err != nil {
		return fmt.Errorf("account: disable totp: %w", err)
	}
	if settings.RequireTwoFactor {
		return ErrTwoFactorRequiredByPolicy
	}
	var verr ValidationError
	if pw == "" {
		verr.add("password", "Enter your password.")
	}
	if strings.TrimSpace(code) == "" {
		verr.add("code", "Enter a code from your authenticator app or a backup code.")
	}
	if err := verr.orNil(); err != nil {
		return err
	}
	if _, err := s.parseSecondFactor(u, code); err != nil {
		return err // nothing counted for a code that cannot be one
	}
	reservedPassword, err := s.checkPassword(ctx, u, pw, c)
	if err != nil {
		if errors.Is(err, ErrWrongPassword) {
			return &ValidationError{Fields: map[string]string{"password": "That password is not right."}}
		}
		return err
	}
	now := s.now()
	err = s.useSecondFactor(ctx, u, code, c, func(ctx context.Context, tx Tx, _ string) error {
		if err := releaseAttempts(ctx, tx, reservedPassword); err != nil {
			return err
		}
		if err := setAuthenticatedAt(ctx, tx, sess, now); err != nil {
			return err
		}
		// The settings as read, held: 2FA required meanwhile refuses this.
		if err := tx.UpdateSettings(ctx, settings, settings); err != nil {
			if errors.Is(err, ErrStale) {
				return ErrTwoFactorRequiredByPolicy
			}
			return err
		}
		if err := tx.DisableTOTP(ctx, u.ID); err != nil {
			return fmt.Errorf("account: disable totp: %w", err)
		}
		if err := tx.DeleteUserSessions(ctx, u.ID, sess.TokenHash); err != nil {
			return fmt.Errorf("account: end other sessions: %w", err)
		}
		if err := forgetDevices(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.recordAndNotify(ctx, tx, u, EventTwoFactorDisabled, "", c)
	})
	if err != nil {
		// The password was right: it is not a failure, whatever the code.
		return s.fault(ctx, "disable totp", err, reservedPassword)
	}
	sess.AuthenticatedAt = now
	return nil
}

// backupAlphabet is Crockford's base32: 32 symbols without I, L, O and U,
// so each character carries 5 bits and 10 characters carry 50.
const backupAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

const backupCodeLength = 10

// newBackupCode returns a code like "k3m9q-x7c2p".
func newBackupCode(random io.Reader) (string, error) {
	buf := make([]byte, backupCodeLength)
	if _, err := io.ReadFull(random, buf); err != nil {
		return "", fmt.Errorf("account: backup code: %w", err)
	}
	var b strings.Builder
	for i, v := range buf {
		if i == backupCodeLength/2 {
			b.WriteByte('-')
		}
		b.WriteByte(backupAlphabet[v&31]) // 256 is a multiple of 32: no bias
	}
	return b.String(), nil
}

// NormalizeBackupCode reduces what a person typed to the 10 canonical
// characters: case, spaces and hyphens are ignored, and the letters people
// confuse with digits (o, i, l) are read as 0 and 1.
func NormalizeBackupCode(input string) (string, bool) {
	var b strings.Builder
	for _, r := range input {
		if r > 127 {
			return "", false // before lower-casing: İ and K (Kelvin) lower-case to ASCII
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r == 'o':
			r = '0'
		case r == 'i' || r == 'l':
			r = '1'
		}
		if !strings.ContainsRune(backupAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != backupCodeLength {
		return "", false
	}
	return b.String(), true
}

// GenerateBackupCodes replaces all backup codes of the user with fresh ones
// and returns them; they are never shown again (only keyed hashes are kept).
func (s *Service) GenerateBackupCodes(ctx context.Context, sess *Session, c Client) ([]string, error) {
	if err := s.requireRecentAuth(sess); err != nil {
		return nil, err
	}
	u, err := s.userOf(ctx, sess)
	if err != nil {
		return nil, fmt.Errorf("account: generate backup codes: %w", err)
	}
	if !u.TwoFactorEnabled() {
		return nil, ErrTwoFactorNotEnabled
	}
	codes := make([]string, 0, s.policy.BackupCodeCount)
	hashes := make([]string, 0, s.policy.BackupCodeCount)
	seen := map[string]bool{}
	for len(codes) < s.policy.BackupCodeCount {
		code, err := newBackupCode(s.random)
		if err != nil {
			return nil, err
		}
		canonical, _ := NormalizeBackupCode(code)
		if seen[canonical] {
			continue
		}
		seen[canonical] = true
		codes = append(codes, code)
		hashes = append(hashes, s.keys.MAC([]byte(canonical)))
	}
	// Only while 2FA is on: codes made while it is being disabled would
	// otherwise survive it and work again after the next enrolment.
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.ReplaceBackupCodes(ctx, u.ID, s.keys.KeyID(), hashes, s.now()); err != nil {
			return err
		}
		if err := holdSession(ctx, tx, sess); err != nil {
			return err
		}
		return s.recordAndNotify(ctx, tx, u, EventBackupCodesGenerated, "", c)
	})
	if err != nil {
		return nil, s.fault(ctx, "store backup codes", err, nil)
	}
	return codes, nil
}
