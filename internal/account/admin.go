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
// sessions; while 2FA is required the owner is led back into enrollment at
// the next sign-in. The administrator gives the reason (how the person's
// identity was checked), recorded in the audit log and the account's
// activity, and the owner is emailed.
func (s *Service) ResetTwoFactorFor(ctx context.Context, by *Session, id int64, reason string, c Client) (*User, error) {
	admin, err := s.requireAdmin(ctx, by)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n < 3 || n > 500 {
		return nil, &ValidationError{Fields: map[string]string{"reason": "Say why, in 3 to 500 characters: how you checked that this is the account's owner."}}
	}
	target, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !target.TwoFactorEnabled() {
		return nil, ErrTwoFactorNotEnabled
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillAdminOver(ctx, tx, admin, target, by); err != nil {
			return err
		}
		if err := tx.DisableTOTP(ctx, target.ID); err != nil {
			return err
		}
		keep := ""
		if target.ID == admin.ID {
			keep = by.TokenHash
		}
		if err := tx.DeleteUserSessions(ctx, target.ID, keep); err != nil {
			return err
		}
		if err := forgetDevices(ctx, tx, target.ID); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, admin, AuditResetTwoFA, target.Email, reason, c); err != nil {
			return err
		}
		return s.recordAndNotify(ctx, tx, target, EventTwoFactorReset, "by "+admin.Email+": "+reason, c)
	})
	switch {
	case errors.Is(err, ErrStale):
		return nil, ErrConflict
	case err != nil:
		return nil, s.fault(ctx, "reset 2fa", err, nil)
	}
	return s.store.UserByID(ctx, id)
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
