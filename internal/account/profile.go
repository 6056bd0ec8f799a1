package account

import (
	"context"
	"fmt"
)

// Profile returns the user and the number of unused backup codes.
func (s *Service) Profile(ctx context.Context, userID int64) (*Profile, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("account: profile: %w", err)
	}
	p := &Profile{User: u}
	if u.TwoFactorEnabled() {
		if p.BackupCodesRemaining, err = s.store.CountBackupCodes(ctx, userID); err != nil {
			return nil, fmt.Errorf("account: profile: %w", err)
		}
	}
	return p, nil
}

// ProfileUpdate changes the fields that are not nil.
type ProfileUpdate struct {
	Name        *string
	MobilePhone *string // "" removes the number, only while 2FA is off
}

// UpdateProfile validates and saves the name and mobile phone number.
// While 2FA is on the number cannot be removed, since 2FA requires one.
func (s *Service) UpdateProfile(ctx context.Context, sess *Session, in ProfileUpdate, c Client) (*User, error) {
	if sess.Stage != StageComplete {
		return nil, ErrSecondFactorRequired
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, fmt.Errorf("account: update profile: %w", err)
	}
	var verr ValidationError
	name, phone := u.Name, u.MobilePhone
	if in.Name != nil {
		var msg string
		if name, msg = normalizeName(*in.Name); msg != "" {
			verr.add("name", msg)
		}
	}
	if in.MobilePhone != nil {
		var msg string
		if phone, msg = NormalizeMobilePhone(*in.MobilePhone, s.policy.PhoneRegion); msg != "" {
			verr.add("mobile_phone", msg)
		} else if phone == "" && u.TwoFactorEnabled() {
			verr.add("mobile_phone", "2 factor authentication needs a mobile phone number. Disable it before removing the number.")
		}
	}
	if err := verr.orNil(); err != nil {
		return nil, err
	}
	if name == u.Name && phone == u.MobilePhone {
		return u, nil
	}
	if err := s.store.UpdateProfile(ctx, u.ID, name, phone); err != nil {
		return nil, fmt.Errorf("account: update profile: %w", err)
	}
	u.Name, u.MobilePhone = name, phone
	s.record(ctx, u.ID, EventProfileUpdated, "", c)
	return u, nil
}

// Events returns the user's most recent security activity, newest first.
func (s *Service) Events(ctx context.Context, userID int64) ([]*Event, error) {
	events, err := s.store.Events(ctx, userID, s.policy.EventsShown)
	if err != nil {
		return nil, fmt.Errorf("account: events: %w", err)
	}
	return events, nil
}

// ListUsers returns every account, for the operator CLI.
func (s *Service) ListUsers(ctx context.Context) ([]*User, error) {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("account: list users: %w", err)
	}
	return users, nil
}

// ResetTwoFactor switches 2FA off for a user who lost their phone and
// backup codes, on an operator's word, and ends their sessions. The reset is
// recorded in the user's security activity.
func (s *Service) ResetTwoFactor(ctx context.Context, email, operator string) error {
	normalized, msg := NormalizeEmail(email)
	if msg != "" {
		return &ValidationError{Fields: map[string]string{"email": msg}}
	}
	u, err := s.store.UserByEmail(ctx, normalized)
	if err != nil {
		return fmt.Errorf("account: reset 2fa for %s: %w", normalized, err)
	}
	if err := s.store.DisableTOTP(ctx, u.ID); err != nil {
		return fmt.Errorf("account: reset 2fa: %w", err)
	}
	if err := s.store.DeleteUserSessions(ctx, u.ID, ""); err != nil {
		return fmt.Errorf("account: reset 2fa: %w", err)
	}
	s.recordAndNotify(ctx, u, EventTwoFactorReset, "by "+operator, Client{IP: "cli"})
	return nil
}
