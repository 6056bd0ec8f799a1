package account

import (
	"context"
	"errors"
	"fmt"
)

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
	u, err := s.userOf(ctx, sess)
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
			verr.add("mobile_phone", msgPhoneNeededByTwoFactor)
		}
	}
	if err := verr.orNil(); err != nil {
		return nil, err
	}
	if name == u.Name && phone == u.MobilePhone {
		return u, nil
	}
	// Only the fields that change are written, so a concurrent change of
	// the other one stays. The store writes an empty number only while 2FA
	// is off, checked where it is written: 2FA may have been turned on
	// since u was read.
	var newName, newPhone *string
	if name != u.Name {
		newName = &name
	}
	if phone != u.MobilePhone {
		newPhone = &phone
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.UpdateProfile(ctx, u.ID, newName, newPhone); err != nil {
			return err
		}
		if err := holdSession(ctx, tx, sess); err != nil {
			return err
		}
		return s.record(ctx, tx, u.ID, EventProfileUpdated, "", c)
	})
	if errors.Is(err, ErrTwoFactorEnabled) {
		return nil, &ValidationError{Fields: map[string]string{"mobile_phone": msgPhoneNeededByTwoFactor}}
	}
	if err != nil {
		return nil, s.fault(ctx, "update profile", err, nil)
	}
	updated := *u
	updated.Name, updated.MobilePhone = name, phone
	if sess.Profile != nil {
		sess.Profile.User = &updated
	}
	return &updated, nil
}

const msgPhoneNeededByTwoFactor = "2 factor authentication needs a mobile phone number. Disable it before removing the number."

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
