package account

import (
	"context"
	"fmt"
	"time"
)

// Settings are what administrators set for the whole server.
type Settings struct {
	// RequireTwoFactor is "Require 2FA for all users": every account
	// without 2FA must enable it, within GracePeriodDays.
	RequireTwoFactor bool
	GracePeriodDays  int
	// RequiredSince is when RequireTwoFactor was last switched on.
	RequiredSince time.Time
	// RecoveryDelayHours is how long a self-recovery (a user who lost the
	// authenticator and every backup code proves their phone) waits
	// before the next password sign-in resets 2FA; 0 turns it off.
	RecoveryDelayHours int
}

// MaxRecoveryDelayHours bounds the self-recovery delay: 30 days.
const MaxRecoveryDelayHours = 720

// TwoFactorStatus is where an account stands against the 2FA rule.
type TwoFactorStatus string

// The statuses the Users page and GET /admin/users show.
const (
	TwoFactorOn          TwoFactorStatus = "enabled"
	TwoFactorInGrace     TwoFactorStatus = "grace"
	TwoFactorOverdue     TwoFactorStatus = "overdue"
	TwoFactorNotRequired TwoFactorStatus = "not_required"
)

// StatusOf says where u stands at now, and the deadline when 2FA is
// required and not yet on: the grace period counts from when the rule was
// switched on, or from the account's creation when that is later.
func (st Settings) StatusOf(u *User, now time.Time) (TwoFactorStatus, time.Time) {
	switch {
	case u.TwoFactorEnabled():
		return TwoFactorOn, time.Time{}
	case !st.RequireTwoFactor:
		return TwoFactorNotRequired, time.Time{}
	}
	from := st.RequiredSince
	if u.CreatedAt.After(from) {
		from = u.CreatedAt
	}
	deadline := from.Add(time.Duration(st.GracePeriodDays) * 24 * time.Hour)
	if now.Before(deadline) {
		return TwoFactorInGrace, deadline
	}
	return TwoFactorOverdue, deadline
}

// MaxGracePeriodDays bounds the grace period an administrator may set.
const MaxGracePeriodDays = 90

// SettingsUpdate is an administrator's change to the settings: a member
// left nil is left as it is.
type SettingsUpdate struct {
	RequireTwoFactor   *bool
	GracePeriodDays    *int
	RecoveryDelayHours *int
}

// Settings returns the server's settings, for administrators.
func (s *Service) Settings(ctx context.Context, by *Session) (Settings, error) {
	if _, err := s.requireAdmin(ctx, by); err != nil {
		return Settings{}, err
	}
	return s.store.Settings(ctx)
}

// UpdateSettings changes the settings, for administrators. Switching
// "Require 2FA for all users" on needs the administrator's own 2FA on. The
// change is written only over the settings as read (a concurrent change
// answers ErrConflict), with an entry in the administrator's activity and
// an email to every administrator; switched on, each active account without
// 2FA is emailed its deadline, once.
func (s *Service) UpdateSettings(ctx context.Context, by *Session, in SettingsUpdate, c Client) (Settings, error) {
	admin, err := s.requireAdmin(ctx, by)
	if err != nil {
		return Settings{}, err
	}
	was, err := s.store.Settings(ctx)
	if err != nil {
		return Settings{}, fmt.Errorf("account: settings: %w", err)
	}
	next := was
	if in.RequireTwoFactor != nil {
		next.RequireTwoFactor = *in.RequireTwoFactor
	}
	if in.GracePeriodDays != nil {
		if *in.GracePeriodDays < 0 || *in.GracePeriodDays > MaxGracePeriodDays {
			return Settings{}, &ValidationError{Fields: map[string]string{"grace_period_days": fmt.Sprintf("Choose 0 to %d days.", MaxGracePeriodDays)}}
		}
		next.GracePeriodDays = *in.GracePeriodDays
	}
	if in.RecoveryDelayHours != nil {
		if *in.RecoveryDelayHours < 0 || *in.RecoveryDelayHours > MaxRecoveryDelayHours {
			return Settings{}, &ValidationError{Fields: map[string]string{"recovery_delay_hours": fmt.Sprintf("Choose 0 (off) to %d hours; 72 is a good delay.", MaxRecoveryDelayHours)}}
		}
		next.RecoveryDelayHours = *in.RecoveryDelayHours
	}
	switchedOn := next.RequireTwoFactor && !was.RequireTwoFactor
	if switchedOn && !admin.TwoFactorEnabled() {
		return Settings{}, &ValidationError{Fields: map[string]string{"require_two_factor": "Enable 2 factor authentication for your own account first."}}
	}
	if next == was {
		return was, nil
	}
	now := s.now()
	if switchedOn {
		next.RequiredSince = now
	}
	if !next.RequireTwoFactor {
		next.RequiredSince = time.Time{}
	}
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return Settings{}, fmt.Errorf("account: settings: %w", err)
	}
	detail := fmt.Sprintf("require 2FA %s, grace period %d days, self-recovery %s, by %s", onOff(next.RequireTwoFactor), next.GracePeriodDays, recoveryDelay(next.RecoveryDelayHours), admin.Email)
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillAdmin(ctx, tx, admin, by); err != nil {
			return err
		}
		if err := tx.UpdateSettings(ctx, was, next); err != nil {
			return err
		}
		if err := s.record(ctx, tx, admin.ID, EventSettingsChanged, detail, c); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, admin, AuditSettings, "", fmt.Sprintf("require 2FA %s, grace period %d days, self-recovery %s", onOff(next.RequireTwoFactor), next.GracePeriodDays, recoveryDelay(next.RecoveryDelayHours)), c); err != nil {
			return err
		}
		if was.RecoveryDelayHours > 0 && next.RecoveryDelayHours == 0 {
			// Self-recovery off: the recoveries waiting are cancelled, not
			// frozen until it is turned on again.
			ids, err := tx.CancelAllRecoveries(ctx, "self-recovery turned off by "+admin.Email, now)
			if err != nil {
				return fmt.Errorf("account: cancel recoveries: %w", err)
			}
			for _, id := range ids {
				for _, u := range users {
					if u.ID == id {
						if err := s.recordAndNotify(ctx, tx, u, EventRecoveryCancelled, "self-recovery turned off by "+admin.Email, c); err != nil {
							return err
						}
					}
				}
			}
		}
		for _, u := range users {
			if !u.DeactivatedAt.IsZero() {
				continue
			}
			if u.IsAdmin() {
				if err := tx.AddNotification(ctx, s.settingsNotice(u, detail, now)); err != nil {
					return err
				}
			}
			if switchedOn && !u.TwoFactorEnabled() {
				_, deadline := next.StatusOf(u, now)
				if err := s.record(ctx, tx, u.ID, EventTwoFactorRequired, "by "+admin.Email, c); err != nil {
					return err
				}
				if err := tx.AddNotification(ctx, s.requiredNotice(u, deadline)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return Settings{}, s.fault(ctx, "settings", err, nil)
	}
	return next, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (s *Service) settingsNotice(admin *User, detail string, now time.Time) *Notification {
	return &Notification{UserID: admin.ID, Recipient: admin.Email, Kind: EventSettingsChanged, CreatedAt: now,
		Subject: "The settings of " + s.policy.Issuer + " changed",
		Body: fmt.Sprintf("Hello %s,\n\nThe server settings changed: %s.\n\nWhen: %s UTC\n\n— %s\n",
			admin.Name, detail, now.UTC().Format("2 January 2006 15:04"), s.policy.Issuer)}
}

func (s *Service) requiredNotice(u *User, deadline time.Time) *Notification {
	when := "now: you will be asked to enable it at your next sign-in"
	if deadline.After(s.now()) {
		when = "by " + deadline.UTC().Format("2 January 2006 15:04") + " UTC; after that, signing in leads straight to enabling it"
	}
	return &Notification{UserID: u.ID, Recipient: u.Email, Kind: EventTwoFactorRequired, CreatedAt: s.now(),
		Subject: "2 factor authentication is now required",
		Body: fmt.Sprintf("Hello %s,\n\nYour administrator now requires 2 factor authentication for every account. Enable it %s.\n\nSign in, open My info, add your mobile phone number if it is missing, and click Enable 2 factor authentication.\n\n— %s\n",
			u.Name, when, s.policy.Issuer)}
}

// EnrollmentDue reports whether the session's account must enable 2FA
// before anything else: it is required and the grace period is over.
func (s *Service) EnrollmentDue(sess *Session) bool {
	if sess.Profile == nil {
		return false
	}
	status, _ := sess.Profile.Settings.StatusOf(sess.Profile.User, s.now())
	return status == TwoFactorOverdue
}

// TwoFactorDeadline is when the session's account must have 2FA on, while
// it is required and the grace period runs; zero otherwise.
func (s *Service) TwoFactorDeadline(sess *Session) time.Time {
	if sess.Profile == nil {
		return time.Time{}
	}
	status, deadline := sess.Profile.Settings.StatusOf(sess.Profile.User, s.now())
	if status != TwoFactorInGrace {
		return time.Time{}
	}
	return deadline
}

// AuditEntry is one administrative action.
type AuditEntry struct {
	ID        int64
	ActorID   int64  // 0 for the operator at the command line
	Actor     string // the administrator's email, or "operator (CLI)"
	Action    AuditAction
	Target    string // the account's or invitation's email; "" for settings
	Detail    string // what changed, and the reason when one is asked
	IP        string
	CreatedAt time.Time
}

// AuditAction names an administrative action.
type AuditAction string

// The administrative actions.
const (
	AuditInvite     AuditAction = "invite"
	AuditRevoke     AuditAction = "revoke_invitation"
	AuditRoleChange AuditAction = "role_change"
	AuditDeactivate AuditAction = "deactivate"
	AuditReactivate AuditAction = "reactivate"
	AuditResetTwoFA AuditAction = "reset_two_factor"
	AuditSettings   AuditAction = "settings_change"
	// A code texted to an account's mobile number, a wrong one read back,
	// and the right one.
	AuditPhoneCodeSent  AuditAction = "phone_code_sent"
	AuditPhoneCodeWrong AuditAction = "phone_code_wrong"
	AuditPhoneVerified  AuditAction = "phone_verified"
	AuditHelpDismissed  AuditAction = "dismiss_help_request"
	// A self-recovery completed (by its user), or cancelled by an
	// administrator.
	AuditRecovery          AuditAction = "self_recovery"
	AuditRecoveryCancelled AuditAction = "cancel_recovery"
	operatorActor                      = "operator (CLI)"
)

// audit records an administrative action in tx.
func (s *Service) audit(ctx context.Context, tx Tx, actor *User, action AuditAction, target, detail string, c Client) error {
	e := &AuditEntry{Actor: operatorActor, Action: action, Target: target, Detail: truncate(detail, 500), IP: truncate(c.IP, 64), CreatedAt: s.now()}
	if actor != nil {
		e.ActorID, e.Actor = actor.ID, actor.Email
	}
	if err := tx.AddAudit(ctx, e); err != nil {
		return fmt.Errorf("account: audit %s: %w", action, err)
	}
	return nil
}

// AuditLog returns the newest administrative actions, for administrators.
func (s *Service) AuditLog(ctx context.Context, by *Session, limit int) ([]*AuditEntry, error) {
	if _, err := s.requireAdmin(ctx, by); err != nil {
		return nil, err
	}
	return s.store.AuditLog(ctx, limit)
}

// recoveryDelay describes the self-recovery setting for the audit log.
func recoveryDelay(hours int) string {
	if hours == 0 {
		return "off"
	}
	return fmt.Sprintf("after %d hours", hours)
}
