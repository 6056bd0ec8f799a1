package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// AdminUsers lists every account for the administrators' Users page.
func (s *Service) AdminUsers(ctx context.Context, by *Session) ([]*UserSummary, error) {
	if _, err := s.requireAdmin(ctx, by); err != nil {
		return nil, err
	}
	list, err := s.store.UserSummaries(ctx)
	if err != nil {
		return nil, fmt.Errorf("account: users: %w", err)
	}
	settings, err := s.store.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("account: users: %w", err)
	}
	now := s.now()
	for _, sum := range list {
		if !sum.User.DeactivatedAt.IsZero() && !sum.User.TwoFactorEnabled() {
			sum.TwoFactorStatus = TwoFactorNotRequired // cannot sign in: not late
			continue
		}
		sum.TwoFactorStatus, sum.Deadline = settings.StatusOf(sum.User, now)
	}
	return list, nil
}

// UserUpdate is an administrator's change to an account: a member left nil
// is left as it is.
type UserUpdate struct {
	Role   *Role
	Active *bool
}

// UpdateUser changes an account's role and whether it is active, for
// administrators. Deactivation ends the account's sessions at once, in the
// same transaction. The last active administrator can be neither demoted
// nor deactivated (ErrLastAdministrator): the count is taken under
// LockAdministrators, so two administrators demoting each other at once
// cannot leave none. What was read about the administrator and the account
// is re-checked where it is written (their security versions, which a
// role change or deactivation bumps): a concurrent change answers
// ErrConflict.
func (s *Service) UpdateUser(ctx context.Context, by *Session, id int64, in UserUpdate, c Client) (*User, error) {
	admin, err := s.requireAdmin(ctx, by)
	if err != nil {
		return nil, err
	}
	if in.Role != nil {
		if _, ok := ParseRole(string(*in.Role)); !ok {
			return nil, &ValidationError{Fields: map[string]string{"role": "Choose member or admin."}}
		}
	}
	target, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, err // ErrNotFound: no such account
	}
	role := target.Role
	if in.Role != nil {
		role = *in.Role
	}
	active := target.DeactivatedAt.IsZero()
	if in.Active != nil {
		active = *in.Active
	}
	roleChanged := role != target.Role
	activeChanged := active != target.DeactivatedAt.IsZero()
	if !roleChanged && !activeChanged {
		return target, nil
	}
	losesAdmin := target.IsAdmin() && (role != RoleAdmin || !active)
	now := s.now()
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		admins, err := tx.LockAdministrators(ctx)
		if err != nil {
			return err
		}
		if losesAdmin && admins <= 1 {
			return ErrLastAdministrator
		}
		if err := s.stillAdminOver(ctx, tx, admin, target, by); err != nil {
			return err
		}
		by := "by " + admin.Email
		if roleChanged {
			if err := tx.SetRole(ctx, target.ID, role); err != nil {
				return err
			}
			if err := s.record(ctx, tx, target.ID, EventRoleChanged, string(role)+" "+by, c); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, admin, AuditRoleChange, target.Email, string(target.Role)+" to "+string(role), c); err != nil {
				return err
			}
		}
		if activeChanged {
			kind := EventReactivated
			var at time.Time // zero: active again
			if !active {
				kind, at = EventDeactivated, now
			}
			if err := tx.SetDeactivated(ctx, target.ID, at); err != nil {
				return err
			}
			if !active {
				if err := tx.DeleteUserSessions(ctx, target.ID, ""); err != nil {
					return err
				}
				if err := forgetDevices(ctx, tx, target.ID); err != nil {
					return err
				}
				// Nor does a recovery wait for a reactivation.
				if _, err := tx.CancelRecoveries(ctx, target.ID, "deactivation", now); err != nil {
					return fmt.Errorf("account: cancel recovery: %w", err)
				}
			}
			if err := s.record(ctx, tx, target.ID, kind, by, c); err != nil {
				return err
			}
			action := AuditReactivate
			if !active {
				action = AuditDeactivate
			}
			if err := s.audit(ctx, tx, admin, action, target.Email, "", c); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrLastAdministrator):
		return nil, ErrLastAdministrator
	case errors.Is(err, ErrStale):
		return nil, ErrConflict
	case err != nil:
		return nil, s.fault(ctx, "update user", err, nil)
	}
	return s.store.UserByID(ctx, id)
}

// ResetTwoFactorFor turns 2FA off for an account whose owner lost their
// phone and backup codes, for administrators, and ends the account's
// sessions and remembered devices; while 2FA is required the owner is led
// back into enrollment at the next sign-in. The owner's identity is checked
// first: by a code texted to the number on file and read back in the last
// PhoneVerifiedFor (used up by this reset), or, where that cannot be done,
// by other means the administrator states as the reason. Either way it is
// recorded in the audit log and the account's activity, naming the
// administrator, the owner's open help requests are resolved, and the
// owner is emailed. ErrPhoneNotVerified: neither a verification nor a
// reason.
func (s *Service) ResetTwoFactorFor(ctx context.Context, by *Session, id int64, reason string, c Client) (*User, error) {
	a, target, err := s.adminOver(ctx, by, id)
	if err != nil {
		return nil, err
	}
	if err := s.resetTwoFactor(ctx, a, target, reason, c); err != nil {
		return nil, err
	}
	return s.store.UserByID(ctx, id)
}

// ResetTwoFactor is ResetTwoFactorFor for the operator at the command
// line: the account by its email.
func (s *Service) ResetTwoFactor(ctx context.Context, email, reason string) error {
	target, err := s.operatorTarget(ctx, email)
	if err != nil {
		return err
	}
	return s.resetTwoFactor(ctx, actor{}, target, reason, Client{IP: "cli"})
}

func (s *Service) resetTwoFactor(ctx context.Context, a actor, target *User, reason string, c Client) error {
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n > 500 || (n > 0 && n < 3) {
		return &ValidationError{Fields: map[string]string{"reason": "Say why, in 3 to 500 characters: how you checked that this is the account's owner."}}
	}
	if !target.TwoFactorEnabled() {
		return ErrTwoFactorNotEnabled
	}
	now := s.now()
	// The newest check, to see that it was of the number on file now (the
	// write uses it only while it is the newest).
	latest, err := s.store.LatestPhoneVerification(ctx, target.ID, PurposeAdmin)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("account: phone verification: %w", err)
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillInCharge(ctx, tx, a, target); err != nil {
			return err
		}
		var how string // how the owner's identity was checked, for the record
		verified, err := tx.ConsumePhoneVerification(ctx, target.ID, PurposeAdmin, now.Add(-PhoneVerifiedFor), now)
		if verified && (latest == nil || latest.Phone != target.MobilePhone) {
			verified = false // a code sent to a number no longer on file
		}
		switch {
		case err != nil:
			return fmt.Errorf("account: use phone verification: %w", err)
		case verified && reason != "":
			how = "phone verified by text message; " + reason
		case verified:
			how = "phone verified by text message"
		case reason == "":
			return ErrPhoneNotVerified
		default:
			how = "without phone verification: " + reason
		}
		if err := tx.DisableTOTP(ctx, target.ID); err != nil {
			return err
		}
		keep := ""
		if a.admin != nil && target.ID == a.admin.ID {
			keep = a.session.TokenHash
		}
		if err := tx.DeleteUserSessions(ctx, target.ID, keep); err != nil {
			return err
		}
		if err := forgetDevices(ctx, tx, target.ID); err != nil {
			return err
		}
		if _, err := tx.ResolveHelpRequests(ctx, target.ID, a.name(), now); err != nil {
			return fmt.Errorf("account: resolve help requests: %w", err)
		}
		if _, err := tx.CancelRecoveries(ctx, target.ID, "a reset by "+a.name(), now); err != nil {
			return fmt.Errorf("account: cancel recovery: %w", err)
		}
		if err := s.audit(ctx, tx, a.admin, AuditResetTwoFA, target.Email, how, c); err != nil {
			return err
		}
		return s.recordAndNotify(ctx, tx, target, EventTwoFactorReset, "by "+a.name()+": "+how, c)
	})
	switch {
	case errors.Is(err, ErrStale):
		return ErrConflict
	case errors.Is(err, ErrPhoneNotVerified):
		return err
	case err != nil:
		return s.fault(ctx, "reset 2fa", err, nil)
	}
	return nil
}

// stillAdminOver is stillAdmin for an action on target: the target's
// account is also unchanged since it was read (its row locked after the
// administrator's, before the session: the order every use case keeps).
func (s *Service) stillAdminOver(ctx context.Context, tx Tx, admin, target *User, by *Session) error {
	if err := tx.RequireSecurityVersion(ctx, admin.ID, admin.SecurityVersion); err != nil {
		return err
	}
	if target.ID != admin.ID {
		if err := tx.RequireSecurityVersion(ctx, target.ID, target.SecurityVersion); err != nil {
			return err
		}
	}
	return holdSession(ctx, tx, by)
}
