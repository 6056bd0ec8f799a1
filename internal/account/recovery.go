package account

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Recovery is a self-recovery: a user who lost their authenticator and
// every backup code proved their phone by a texted code, and waits out the
// delay administrators set (Settings.RecoveryDelayHours) before the next
// password sign-in resets 2FA. Any sign-in with a code cancels it, as do
// the emailed cancel link, the user signed in elsewhere and administrators.
type Recovery struct {
	ID              int64
	UserID          int64
	CancelTokenHash string
	CreatedAt       time.Time
	EffectiveAt     time.Time
	IP              string
	UserAgent       string
}

var (
	// ErrRecoveryDisabled: the self-recovery delay is 0.
	ErrRecoveryDisabled = errors.New("account: self-recovery is off on this server")
	// ErrRecoveryPending: a recovery of the account is already waiting.
	ErrRecoveryPending = errors.New("account: a recovery of this account is already pending")
	// ErrRecoveryNotFound: no pending recovery (cancelled, completed or
	// never started), or a cancel link that no longer works.
	ErrRecoveryNotFound = errors.New("account: no pending recovery")
)

// recoveryCanceller names who or what cancelled a recovery, for the
// record.
const (
	cancelledBySignIn   = "a sign-in with a code"
	cancelledByDevice   = "a sign-in with a remembered device"
	cancelledByLink     = "the emailed cancel link"
	cancelledByOwner    = "the account's owner, signed in"
	cancelledByPassword = "a password change"
)

// pendingSecondFactor returns the half-signed-in session of token and
// the server's settings read with it.
func (s *Service) pendingSecondFactor(ctx context.Context, token string) (*Session, error) {
	sess, err := s.Session(ctx, token)
	if err != nil {
		return nil, err
	}
	if sess.Stage != StageSecondFactor {
		return nil, ErrSessionAlreadyAdvanced
	}
	return sess, nil
}

// SendRecoveryCode texts a code to the mobile number on file of the
// half-signed-in session's account, the first step of a self-recovery.
// It shares the account's limit of texts an hour.
func (s *Service) SendRecoveryCode(ctx context.Context, token string, c Client) error {
	sess, err := s.pendingSecondFactor(ctx, token)
	if err != nil {
		return err
	}
	u := sess.Profile.User
	switch {
	case sess.Profile.Settings.RecoveryDelayHours <= 0:
		return ErrRecoveryDisabled
	case u.MobilePhone == "":
		return ErrNoMobilePhone
	case !s.policy.TextMessages:
		return ErrTextsUnavailable
	}
	if _, err := s.store.PendingRecovery(ctx, u.ID); err == nil {
		return ErrRecoveryPending
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("account: pending recovery: %w", err)
	}
	reserved, err := s.reserve(ctx, s.recoveryTextLimit(u.ID))
	if err != nil {
		return err
	}
	code, err := newPhoneCode(s.random)
	if err != nil {
		s.giveBack(ctx, reserved)
		return err
	}
	now := s.now()
	v := &PhoneVerification{
		UserID: u.ID, Phone: u.MobilePhone, CodeHash: s.phoneCodeMAC(u.ID, PurposeRecovery, code), SentBy: "self-recovery",
		Purpose: PurposeRecovery, CreatedAt: now, ExpiresAt: now.Add(PhoneCodeTTL),
	}
	text := &Notification{
		UserID: u.ID, Recipient: u.MobilePhone, Kind: EventRecoveryCodeSent, Channel: ChannelSMS, CreatedAt: now,
		Body: fmt.Sprintf("%s recovery code: %s. It starts a recovery of your account, which waits %d hours. Did not ask for it? Someone has your password: sign in and change it.",
			s.policy.Issuer, code, sess.Profile.Settings.RecoveryDelayHours),
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.RequireSecurityVersion(ctx, u.ID, u.SecurityVersion); err != nil {
			return err
		}
		if err := holdSession(ctx, tx, sess); err != nil {
			return err
		}
		if err := tx.CreatePhoneVerification(ctx, v); err != nil {
			return fmt.Errorf("account: store recovery code: %w", err)
		}
		if err := tx.AddNotification(ctx, text); err != nil {
			return fmt.Errorf("account: queue recovery text: %w", err)
		}
		return s.record(ctx, tx, u.ID, EventRecoveryCodeSent, "", c)
	})
	if err != nil {
		return s.fault(ctx, "send recovery code", err, reserved)
	}
	s.queued()
	return nil
}

// StartRecovery checks the texted code of a half-signed-in session and,
// when it is right, starts the account's self-recovery: it completes at
// the first password sign-in after the delay. Nothing signs in here:
// neither the text nor the email is a second factor. The account's owner
// and the administrators are emailed, the owner with a cancel link.
func (s *Service) StartRecovery(ctx context.Context, token, code string, c Client) (*Recovery, error) {
	sess, err := s.pendingSecondFactor(ctx, token)
	if err != nil {
		return nil, err
	}
	u := sess.Profile.User
	delay := time.Duration(sess.Profile.Settings.RecoveryDelayHours) * time.Hour
	if delay <= 0 {
		return nil, ErrRecoveryDisabled
	}
	v, right, err := s.textedCode(ctx, u.ID, PurposeRecovery, code, "sms_code", "Enter the 6 digits of the text message.")
	if err != nil {
		return nil, err
	}
	now := s.now()
	var admins []*User
	var cancelToken string
	rec := &Recovery{UserID: u.ID, CreatedAt: now, EffectiveAt: now.Add(delay), IP: c.IP, UserAgent: truncate(c.UserAgent, 200)}
	if right {
		if admins, err = s.activeAdministrators(ctx); err != nil {
			return nil, fmt.Errorf("account: start recovery: %w", err)
		}
		if cancelToken, err = s.newToken(); err != nil {
			return nil, err
		}
		rec.CancelTokenHash = hashToken(cancelToken)
	}
	started, spent := false, false
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		started, spent = false, false
		if err := tx.RequireSecurityVersion(ctx, u.ID, u.SecurityVersion); err != nil {
			return err
		}
		if err := holdSession(ctx, tx, sess); err != nil {
			return err
		}
		if !right {
			counted, err := tx.FailPhoneVerification(ctx, v.ID, phoneCodeTries, now)
			if err != nil || !counted {
				spent = !counted
				return err
			}
			return s.record(ctx, tx, u.ID, EventSecondFactorFailed, "recovery code", c)
		}
		ok, err := tx.VerifyPhoneVerification(ctx, v.ID, phoneCodeTries, now)
		if err != nil || !ok {
			spent = !ok
			return err
		}
		// Used up at once: a recovery's text never counts for anything else.
		consumed, err := tx.ConsumePhoneVerification(ctx, u.ID, PurposeRecovery, now.Add(-time.Second), now)
		if err != nil {
			return fmt.Errorf("account: use recovery code: %w", err)
		}
		if !consumed {
			// A newer code was sent meanwhile: only the newest counts.
			spent = true
			return errRollBack
		}
		created, err := tx.CreateRecovery(ctx, rec)
		if err != nil {
			return fmt.Errorf("account: start recovery: %w", err)
		}
		if !created {
			return ErrRecoveryPending
		}
		started = true
		if err := s.record(ctx, tx, u.ID, EventRecoveryStarted, "completes "+rec.EffectiveAt.UTC().Format(time.RFC3339), c); err != nil {
			return err
		}
		notice := s.recoveryStartedNotice(u, rec, cancelToken, c)
		if err := s.offerDisavowal(ctx, tx, u, notice, ""); err != nil {
			return err
		}
		if err := tx.AddNotification(ctx, notice); err != nil {
			return fmt.Errorf("account: queue recovery notice: %w", err)
		}
		for _, a := range admins {
			if err := tx.AddNotification(ctx, s.recoveryAdminNotice(a, u, rec, c)); err != nil {
				return fmt.Errorf("account: notify administrators: %w", err)
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrRecoveryPending):
		return nil, err
	case errors.Is(err, errRollBack):
		return nil, ErrPhoneCodeSpent
	case err != nil:
		return nil, s.fault(ctx, "start recovery", err, nil)
	case started:
		return rec, nil
	case spent:
		return nil, ErrPhoneCodeSpent
	}
	return nil, ErrInvalidCode
}

// recoveryTextLimit caps the recovery codes texted to one account: 3 an
// hour, apart from the administrators' (textLimit), so that someone with
// the password cannot use up the texts an administrator's check needs.
func (s *Service) recoveryTextLimit(userID int64) AttemptLimit {
	return AttemptLimit{Kind: "texts_recovery", Key: fmt.Sprintf("texts:recovery:user:%d", userID), Limit: phoneTextsPerHour, Window: time.Hour}
}

func (s *Service) recoveryStartedNotice(u *User, rec *Recovery, cancelToken string, c Client) *Notification {
	return &Notification{
		UserID: u.ID, Recipient: u.Email, Kind: EventRecoveryStarted, CreatedAt: s.now(),
		Subject: "A recovery of your account was started",
		Body: fmt.Sprintf("Hello %s,\n\nSomeone with your password and your mobile phone's text messages started a recovery of your account: "+
			"they said they lost the authenticator app and every backup code. On %s UTC, the first sign-in with your password will turn 2 factor authentication off, "+
			"so that a new phone can be set up.\n\nIf this wasn't you, cancel it now:\n\n%s\n\nthen sign in with a code from your authenticator app (which cancels it too) and change your password.\n\n"+
			"When: %s UTC\nFrom IP address: %s\n\n— %s\n",
			u.Name, rec.EffectiveAt.UTC().Format("2 January 2006 15:04"), s.cancelFor(cancelToken),
			s.now().UTC().Format("2 January 2006 15:04"), c.IP, s.policy.Issuer),
	}
}

func (s *Service) recoveryAdminNotice(admin, u *User, rec *Recovery, c Client) *Notification {
	return &Notification{
		UserID: admin.ID, Recipient: admin.Email, Kind: EventRecoveryStarted, CreatedAt: s.now(),
		Subject: u.Name + " started a recovery of their account",
		Body: fmt.Sprintf("Hello %s,\n\n%s (%s) signed in with their password, proved their phone by a texted code and started a self-recovery: "+
			"on %s UTC the next password sign-in turns 2 factor authentication off for the account.\n\n"+
			"If you have any doubt that it is them, cancel it on the account's Reset 2FA page (Users).\n\nFrom IP address: %s\n\n— %s\n",
			admin.Name, u.Name, u.Email, rec.EffectiveAt.UTC().Format("2 January 2006 15:04"), c.IP, s.policy.Issuer),
	}
}

// dueRecovery returns the account's pending recovery if it may complete
// now: its delay passed, and so has the delay the settings ask now (a
// longer delay set meanwhile holds it back; a shorter one does not hurry
// it). nil when there is none to complete.
func (s *Service) dueRecovery(ctx context.Context, u *User) (*dueRecovery, error) {
	rec, err := s.store.PendingRecovery(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("account: pending recovery: %w", err)
	}
	settings, err := s.store.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("account: settings: %w", err)
	}
	now := s.now()
	delay := time.Duration(settings.RecoveryDelayHours) * time.Hour
	if delay <= 0 || now.Before(rec.EffectiveAt) || now.Before(rec.CreatedAt.Add(delay)) {
		return nil, nil
	}
	return &dueRecovery{Recovery: rec, settings: settings}, nil
}

// dueRecovery is a recovery that may complete, with the settings that
// said so: the completion holds them, so a delay changed meanwhile stops it.
type dueRecovery struct {
	*Recovery
	settings Settings
}

// errRollBack undoes a use case's transaction whose outcome the caller
// already knows.
var errRollBack = errors.New("account: roll back")

// completeRecovery resets 2FA for a recovery that is due, inside the
// sign-in's transaction: false when it was cancelled or completed
// meanwhile (the sign-in then asks for a code as usual).
func (s *Service) completeRecovery(ctx context.Context, tx Tx, u *User, rec *dueRecovery, c Client) (bool, error) {
	now := s.now()
	// The settings as read, held: a delay lengthened or switched off
	// meanwhile leaves the recovery waiting.
	switch err := tx.UpdateSettings(ctx, rec.settings, rec.settings); {
	case errors.Is(err, ErrStale):
		return false, nil
	case err != nil:
		return false, err
	}
	ok, err := tx.CompleteRecovery(ctx, rec.ID, now)
	if err != nil || !ok {
		return false, err
	}
	if err := tx.DisableTOTP(ctx, u.ID); err != nil {
		return false, err
	}
	if err := tx.DeleteUserSessions(ctx, u.ID, ""); err != nil {
		return false, err
	}
	if err := forgetDevices(ctx, tx, u.ID); err != nil {
		return false, err
	}
	if _, err := tx.ResolveHelpRequests(ctx, u.ID, "self-recovery", now); err != nil {
		return false, err
	}
	if err := s.audit(ctx, tx, u, AuditRecovery, u.Email, "self-recovery started "+rec.CreatedAt.UTC().Format(time.RFC3339)+" completed", c); err != nil {
		return false, err
	}
	return true, s.recordAndNotify(ctx, tx, u, EventRecoveryCompleted, "", c)
}

// cancelRecoveries cancels the account's pending recovery inside tx,
// telling the owner when there was one.
func (s *Service) cancelRecoveries(ctx context.Context, tx Tx, u *User, by string, c Client) error {
	cancelled, err := s.cancelRecoveriesQuietly(ctx, tx, u, by, c)
	if err != nil || !cancelled {
		return err
	}
	return s.notify(ctx, tx, u, EventRecoveryCancelled, c)
}

// cancelRecoveriesQuietly is cancelRecoveries without the email, for a
// use case whose own email says it: it records the cancellation in the
// activity and reports whether there was one.
func (s *Service) cancelRecoveriesQuietly(ctx context.Context, tx Tx, u *User, by string, c Client) (bool, error) {
	n, err := tx.CancelRecoveries(ctx, u.ID, by, s.now())
	if err != nil {
		return false, fmt.Errorf("account: cancel recovery: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	return true, s.record(ctx, tx, u.ID, EventRecoveryCancelled, "by "+by, c)
}

// CancelRecoveryByLink cancels the recovery of the emailed link: the link
// alone is enough (it only protects). ErrRecoveryNotFound when it no
// longer works.
func (s *Service) CancelRecoveryByLink(ctx context.Context, token string, c Client) error {
	if token == "" {
		return ErrRecoveryNotFound
	}
	rec, err := s.store.RecoveryByCancelToken(ctx, hashToken(token))
	if errors.Is(err, ErrNotFound) {
		return ErrRecoveryNotFound
	}
	if err != nil {
		return fmt.Errorf("account: recovery: %w", err)
	}
	u, err := s.store.UserByID(ctx, rec.UserID)
	if err != nil {
		return fmt.Errorf("account: recovery: %w", err)
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		ok, err := tx.CancelRecovery(ctx, rec.ID, cancelledByLink, s.now())
		if err != nil {
			return fmt.Errorf("account: cancel recovery: %w", err)
		}
		if !ok {
			return ErrRecoveryNotFound
		}
		return s.recordAndNotify(ctx, tx, u, EventRecoveryCancelled, "by "+cancelledByLink, c)
	})
	if err != nil && !errors.Is(err, ErrRecoveryNotFound) {
		return fmt.Errorf("account: cancel recovery: %w", err)
	}
	return err
}

// PendingRecoveryOf returns the signed-in user's pending recovery, if any
// (ErrRecoveryNotFound otherwise).
func (s *Service) PendingRecoveryOf(ctx context.Context, userID int64) (*Recovery, error) {
	rec, err := s.store.PendingRecovery(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrRecoveryNotFound
	}
	return rec, err
}

// CancelOwnRecovery cancels the signed-in user's pending recovery.
func (s *Service) CancelOwnRecovery(ctx context.Context, sess *Session, c Client) error {
	if sess.Stage != StageComplete {
		return ErrSecondFactorRequired
	}
	u, err := s.userOf(ctx, sess)
	if err != nil {
		return err
	}
	return s.cancelRecoveryOf(ctx, u, cancelledByOwner, func(ctx context.Context, tx Tx) error {
		// The user's row before the session, the lock order of every use
		// case (a completing sign-in holds the row, then the recovery,
		// then wants the sessions).
		if err := tx.RequireSecurityVersion(ctx, u.ID, u.SecurityVersion); err != nil {
			return err
		}
		return holdSession(ctx, tx, sess)
	}, nil, c)
}

// CancelRecoveryFor cancels an account's pending recovery, for
// administrators.
func (s *Service) CancelRecoveryFor(ctx context.Context, by *Session, id int64, c Client) error {
	a, target, err := s.adminOver(ctx, by, id)
	if err != nil {
		return err
	}
	return s.cancelRecoveryOf(ctx, target, "administrator "+a.name(), func(ctx context.Context, tx Tx) error {
		return s.stillInCharge(ctx, tx, a, target)
	}, a.admin, c)
}

func (s *Service) cancelRecoveryOf(ctx context.Context, u *User, by string, check func(context.Context, Tx) error, admin *User, c Client) error {
	err := s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := check(ctx, tx); err != nil {
			return err
		}
		n, err := tx.CancelRecoveries(ctx, u.ID, by, s.now())
		if err != nil {
			return fmt.Errorf("account: cancel recovery: %w", err)
		}
		if n == 0 {
			return ErrRecoveryNotFound
		}
		if admin != nil {
			if err := s.audit(ctx, tx, admin, AuditRecoveryCancelled, u.Email, "", c); err != nil {
				return err
			}
		}
		return s.recordAndNotify(ctx, tx, u, EventRecoveryCancelled, "by "+by, c)
	})
	switch {
	case errors.Is(err, ErrRecoveryNotFound):
		return err
	case errors.Is(err, ErrStale):
		return ErrConflict
	case err != nil:
		return s.fault(ctx, "cancel recovery", err, nil)
	}
	return nil
}
