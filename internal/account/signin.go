package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twofold/twofold/internal/totp"
)

// SignInInput is the password step. PreviousToken, when the client already
// held a session, is ended so that the session id changes (no fixation).
// DeviceToken is the token of a remembered device the browser holds, if
// any: when it is the account's and still in force, the code step is
// skipped.
type SignInInput struct {
	Email         string
	Password      string
	PreviousToken string
	DeviceToken   string
}

// SignInResult is the outcome of the password step: the new session's
// token and stage, and what becomes of the device token sent.
type SignInResult struct {
	Token string
	Stage Stage
	// DeviceToken, when set, replaces the device token the browser sent:
	// a remembered device skipped the code step and its token was rotated.
	// DeviceLifetime is how long the device stays remembered from now.
	DeviceToken    string
	DeviceLifetime time.Duration
	// DropDevice says the device token sent is no use any more (unknown,
	// expired, or an old copy that was already used): forget it.
	DropDevice bool
	// Recovered says this sign-in completed the account's self-recovery:
	// 2FA is off now, and the person should set it up again at once.
	Recovered bool
}

// SignIn is SignInWithDevice for a client that holds no device token.
func (s *Service) SignIn(ctx context.Context, in SignInInput, c Client) (token string, stage Stage, err error) {
	r, err := s.SignInWithDevice(ctx, in, c)
	return r.Token, r.Stage, err
}

// SignInWithDevice checks the password. Its session is at StageComplete,
// or StageSecondFactor when 2FA is on, unless the browser presented a
// remembered device of the account: then it is complete, and the device's
// token is replaced by a new one. A device token that had already been
// replaced is a copy: the device is forgotten, its owner told, and the
// code asked. A wrong email and a wrong password give the same error
// after the same work; the device changes nothing of that, nor of the
// password throttle.
//
// It commits twice: the throttle reservations before the password is
// checked, then the outcome. The session is created only if the account's
// security version is still the one the password and the 2FA state were
// checked against: a sign-in that raced a password change or 2FA being
// turned on gets ErrInvalidCredentials and counts nothing. The device's
// token is rotated only while it is still the one read, so a token skips
// the code step once.
func (s *Service) SignInWithDevice(ctx context.Context, in SignInInput, c Client) (res SignInResult, err error) {
	stale := false
	defer func() {
		if outcome := outcomeOf(err); stale {
			s.observe.SignInStep(StepPassword, OutcomeStale)
		} else {
			s.observe.SignInStep(StepPassword, outcome)
		}
	}()
	email, _ := NormalizeEmail(in.Email)
	if email == "" {
		// Still throttled and hashed like any other attempt; the throttle
		// key must be storable text whatever was typed.
		email = truncate(strings.ToLower(strings.TrimSpace(in.Email)), maxEmailLength)
	}
	// Turned away before any write when the hashers are saturated, so a
	// flood costs the database nothing and waits for nothing.
	if s.hasher.Saturated() {
		return res, ErrBusy
	}
	reserved, err := s.reserve(ctx, s.passwordIPLimit(c.IP), s.passwordAccountLimit(email))
	if err != nil {
		return res, err
	}
	u, err := s.store.UserByEmail(ctx, email)
	hash := s.dummyHash // unknown email: the same work as a known one
	switch {
	case errors.Is(err, ErrNotFound):
		u = nil
	case err != nil:
		s.giveBack(ctx, reserved)
		return res, fmt.Errorf("account: sign in: %w", err)
	default:
		hash = u.PasswordHash
	}
	// Only a password that was compared and did not match counts as a
	// failure; any other outcome gives the reservations back.
	if err := mapHasherErr(s.hasher.Verify(ctx, hash, in.Password)); err != nil || u == nil {
		if err != nil && !errors.Is(err, ErrWrongPassword) {
			s.giveBack(ctx, reserved)
			return res, err
		}
		if u != nil {
			s.recordFailure(ctx, func(ctx context.Context, tx Tx) error {
				return s.record(ctx, tx, u.ID, EventSignInFailed, "", c)
			})
		}
		return res, ErrInvalidCredentials
	}
	if !u.DeactivatedAt.IsZero() {
		// The right password of a deactivated account: said plainly (the
		// person knows the password), and nothing is written.
		s.giveBack(ctx, reserved)
		return res, ErrAccountDeactivated
	}
	device, drop, err := s.deviceFor(ctx, u, in.DeviceToken, c)
	if err != nil {
		s.giveBack(ctx, reserved)
		return res, err
	}
	var due *dueRecovery
	if u.TwoFactorEnabled() && (device == nil || device.Stale) {
		// A remembered device is a second factor the owner proved: it
		// never completes a recovery (its use cancels one, below).
		if due, err = s.dueRecovery(ctx, u); err != nil {
			s.giveBack(ctx, reserved)
			return res, err
		}
	}
	var nextDevice string
	if device != nil && !device.Stale {
		if nextDevice, err = s.newToken(); err != nil {
			s.giveBack(ctx, reserved)
			return res, err
		}
	}
	rehash := s.rehash(ctx, u, in.Password)
	token, sess, err := s.newSession(u.ID, StageSecondFactor, c)
	if err != nil {
		s.giveBack(ctx, reserved)
		return res, err
	}
	stage, rotated, copied, recovered := StageComplete, false, false, false
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		stale, rotated, copied, recovered = false, false, false, false
		if err := releaseAttempts(ctx, tx, reserved); err != nil {
			return err
		}
		switch err := tx.RequireSecurityVersion(ctx, u.ID, u.SecurityVersion); {
		case errors.Is(err, ErrStale) || errors.Is(err, ErrNotFound):
			stale = true // commit the release only: nothing is counted
			return nil
		case err != nil:
			return err
		}
		if rehash != "" {
			if _, err := tx.RehashPassword(ctx, u.ID, u.PasswordHash, rehash); err != nil {
				return fmt.Errorf("account: upgrade password hash: %w", err)
			}
		}
		if in.PreviousToken != "" {
			if _, err := tx.DeleteSession(ctx, hashToken(in.PreviousToken)); err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("account: end previous session: %w", err)
			}
		}
		if due != nil {
			// The delay has passed: this password sign-in turns 2FA off.
			ok, err := s.completeRecovery(ctx, tx, u, due, c)
			if err != nil {
				return fmt.Errorf("account: complete recovery: %w", err)
			}
			recovered = ok
		}
		switch {
		case recovered:
			// 2FA is off now: no device or code applies.
		case device != nil && device.Stale:
			// Two browsers held this token: whichever is the thief's, the
			// device is of no use to either any more.
			copied = true
			if err := tx.ForgetDevice(ctx, u.ID, device.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("account: forget copied device: %w", err)
			}
			if err := s.recordAndNotify(ctx, tx, u, EventDeviceTokenReused, "", c); err != nil {
				return err
			}
		case device != nil:
			ok, err := tx.RotateDevice(ctx, u.ID, device.ID, device.TokenHash, hashToken(nextDevice), s.now(),
				Client{IP: c.IP, UserAgent: truncate(c.UserAgent, 200)})
			if err != nil {
				return fmt.Errorf("account: use remembered device: %w", err)
			}
			rotated = ok // else forgotten or used meanwhile: the code is asked
			if rotated {
				if err := s.cancelRecoveries(ctx, tx, u, cancelledByDevice, c); err != nil {
					return err
				}
			}
		}
		stage = StageComplete
		if u.TwoFactorEnabled() && !rotated && !recovered {
			stage = StageSecondFactor
		}
		s.setStage(sess, stage)
		if rotated {
			sess.SecondFactor = SecondFactorDevice
		}
		if err := tx.CreateSession(ctx, sess); err != nil {
			return fmt.Errorf("account: create session: %w", err)
		}
		switch {
		case recovered:
			return s.record(ctx, tx, u.ID, EventSignIn, "password, after a completed recovery", c)
		case rotated:
			return s.record(ctx, tx, u.ID, EventSignIn, "password and remembered device", c)
		case stage == StageComplete:
			return s.record(ctx, tx, u.ID, EventSignIn, "password", c)
		}
		return nil
	})
	switch {
	case err != nil:
		s.giveBack(ctx, reserved)
		return SignInResult{}, fmt.Errorf("account: sign in: %w", err)
	case stale:
		return SignInResult{}, ErrInvalidCredentials
	}
	res = SignInResult{Token: token, Stage: stage, DropDevice: drop || copied, Recovered: recovered}
	if rotated {
		res.DeviceToken, res.DeviceLifetime = nextDevice, device.ExpiresAt.Sub(s.now())
	}
	return res, nil
}

// rehash returns a new hash of pw when the stored one was made with other
// argon2id parameters (the OWASP figures change over time), computed while
// the password is at hand and before any transaction. It is best effort:
// "" when none is needed or it failed, and the sign-in goes on regardless.
func (s *Service) rehash(ctx context.Context, u *User, pw string) string {
	if !s.hasher.NeedsRehash(u.PasswordHash) {
		return ""
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		s.log.WarnContext(ctx, "upgrade password hash; will retry at the next sign-in", "user_id", u.ID, "err", err)
		return ""
	}
	return hash
}

func (s *Service) newSession(userID int64, stage Stage, c Client) (token string, sess *Session, err error) {
	token, err = s.newToken()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	sess = &Session{
		TokenHash: hashToken(token), UserID: userID,
		CreatedAt: now, LastSeenAt: now, AuthenticatedAt: now,
		IP: c.IP, UserAgent: truncate(c.UserAgent, 200),
	}
	s.setStage(sess, stage)
	return token, sess, nil
}

// setStage puts a new session at stage, with that stage's lifetime: a
// pending sign-in has a few minutes for its code.
func (s *Service) setStage(sess *Session, stage Stage) {
	sess.Stage = stage
	sess.ExpiresAt = sess.CreatedAt.Add(s.policy.SessionAbsolute)
	if stage == StageSecondFactor {
		sess.ExpiresAt = sess.CreatedAt.Add(s.policy.PendingSignInTTL)
	}
}

// Session looks up the session for a token, whatever its stage, with its
// account (Session.Profile) in one read, enforcing the timeouts:
// ErrPendingExpired for a pending sign-in past its window,
// ErrUnauthenticated for anything else missing or expired. A fully
// signed-in session's last_seen_at is moved forward at most once per
// Policy.TouchInterval.
func (s *Service) Session(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, ErrUnauthenticated
	}
	hash := hashToken(token)
	sess, err := s.store.SessionByTokenHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("account: session: %w", err)
	}
	return s.liveSession(ctx, hash, sess)
}

// liveSession applies the session rules to a session as read: a
// deactivated account's or an expired session is refused (and an expired
// one deleted), a fully signed-in one is touched at most once per
// Policy.TouchInterval.
func (s *Service) liveSession(ctx context.Context, hash string, sess *Session) (*Session, error) {
	now := s.now()
	if sess.Profile != nil && sess.Profile.User != nil && !sess.Profile.User.DeactivatedAt.IsZero() {
		// Deactivation deletes the account's sessions in its transaction;
		// this is the same rule on the read, in case one slipped in.
		return nil, ErrUnauthenticated
	}
	if !now.Before(sess.ExpiresAt) || (sess.Stage == StageComplete && !now.Before(sess.LastSeenAt.Add(s.policy.SessionIdle))) {
		// Deleted at once, so it answers as unknown from now on.
		err := s.write(ctx, func(ctx context.Context, tx Tx) error {
			_, err := tx.DeleteSession(ctx, hash)
			return err
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			s.log.ErrorContext(ctx, "delete expired session", "err", err)
		}
		if sess.Stage == StageSecondFactor {
			return nil, ErrPendingExpired
		}
		return nil, ErrUnauthenticated
	}
	if sess.Stage == StageComplete && now.Sub(sess.LastSeenAt) >= s.policy.TouchInterval {
		if err := s.store.TouchSession(ctx, hash, now); err != nil {
			return nil, fmt.Errorf("account: touch session: %w", err)
		}
		sess.LastSeenAt = now
	}
	return sess, nil
}

// Authenticate returns the fully signed-in session for a token, with its
// account (Session.Profile). A session still waiting for its second factor
// gets ErrSecondFactorRequired.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, error) {
	sess, err := s.Session(ctx, token)
	if err != nil {
		return nil, err
	}
	if sess.Stage != StageComplete {
		return nil, ErrSecondFactorRequired
	}
	return sess, nil
}

// SecondFactorInput is the code step: a TOTP code or a backup code, and
// whether to remember the browser so that it skips this step next time.
type SecondFactorInput struct {
	Code           string
	RememberDevice bool
}

// SecondFactorResult is the fully signed-in session's token and, when the
// device was remembered, the token the browser keeps for that.
type SecondFactorResult struct {
	Token          string
	DeviceToken    string
	DeviceLifetime time.Duration
}

// SubmitSecondFactor is VerifySecondFactor without remembering the device.
func (s *Service) SubmitSecondFactor(ctx context.Context, token, code string, c Client) (next string, err error) {
	r, err := s.VerifySecondFactor(ctx, token, SecondFactorInput{Code: code}, c)
	return r.Token, err
}

// VerifySecondFactor completes a pending sign-in with a TOTP code or a
// backup code. On success the pending session is replaced by a new one and
// its token returned; with RememberDevice (and Policy.RememberDevice set)
// the browser is remembered too, in the same transaction, and its owner
// told by email. At most Policy.CodeAttempts failures per account are
// evaluated per Policy.CodeWindow; beyond that even a right code gets a
// *ThrottledError.
//
// It reads once (the session with its account) and commits twice: the
// throttle reservation, then the outcome (the code used, the reservation
// released, the failure count reset, the session swapped, the device, the
// events and any notification, together).
func (s *Service) VerifySecondFactor(ctx context.Context, token string, in SecondFactorInput, c Client) (res SecondFactorResult, err error) {
	defer func() { s.observe.SignInStep(codeStep(in.Code), outcomeOf(err)) }()
	sess, err := s.Session(ctx, token)
	if err != nil {
		return res, err
	}
	if sess.Stage != StageSecondFactor {
		return res, ErrSessionAlreadyAdvanced
	}
	u := sess.Profile.User
	next, nextSess, err := s.newSession(u.ID, StageComplete, c)
	if err != nil {
		return res, err
	}
	nextSess.AuthenticatedAt = sess.AuthenticatedAt
	var deviceToken string
	var device *Device
	if in.RememberDevice && s.policy.RememberDevice > 0 {
		if deviceToken, device, err = s.newDevice(u.ID, c); err != nil {
			return res, err
		}
	}
	err = s.useSecondFactor(ctx, u, in.Code, c, func(ctx context.Context, tx Tx, method string) error {
		nextSess.SecondFactor = method
		if err := tx.ReplaceSession(ctx, sess.TokenHash, nextSess); err != nil {
			if errors.Is(err, ErrNotFound) {
				return ErrUnauthenticated // signed out, or ended by a security change, meanwhile
			}
			return fmt.Errorf("account: promote session: %w", err)
		}
		if err := s.record(ctx, tx, u.ID, EventSignIn, method, c); err != nil {
			return err
		}
		if device == nil {
			return nil
		}
		if err := tx.CreateDevice(ctx, device); err != nil {
			return fmt.Errorf("account: remember device: %w", err)
		}
		return s.recordAndNotify(ctx, tx, u, EventDeviceRemembered, "", c)
	})
	if errors.Is(err, ErrStale) {
		// The account changed since the session was read: a change that
		// ends sessions (a password change, 2FA reset) took this one too
		// and the retry says so; any other (new backup codes) lets the
		// retry through.
		return res, ErrConflict
	}
	if err != nil {
		return res, err
	}
	res = SecondFactorResult{Token: next, DeviceToken: deviceToken}
	if device != nil {
		res.DeviceLifetime = device.ExpiresAt.Sub(s.now())
	}
	return res, nil
}

// SignOut ends the session, in one transaction with its record. Unknown
// tokens are not an error.
func (s *Service) SignOut(ctx context.Context, token string, c Client) error {
	if token == "" {
		return nil
	}
	hash := hashToken(token)
	err := s.write(ctx, func(ctx context.Context, tx Tx) error {
		sess, err := tx.DeleteSession(ctx, hash)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if sess.Stage == StageComplete {
			return s.record(ctx, tx, sess.UserID, EventSignOut, "", c)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("account: sign out: %w", err)
	}
	return nil
}

// ConfirmPassword re-checks the password of a signed-in user, which makes
// the session count as recently authenticated for sensitive changes. An
// empty password is a ValidationError, not counted as a wrong one.
func (s *Service) ConfirmPassword(ctx context.Context, sess *Session, pw string, c Client) error {
	if sess.Stage != StageComplete {
		return ErrSecondFactorRequired
	}
	if pw == "" {
		return &ValidationError{Fields: map[string]string{"password": "Enter your password."}}
	}
	u, err := s.userOf(ctx, sess)
	if err != nil {
		return fmt.Errorf("account: confirm password: %w", err)
	}
	reserved, err := s.checkPassword(ctx, u, pw, c)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := releaseAttempts(ctx, tx, reserved); err != nil {
			return err
		}
		if err := tx.RequireSecurityVersion(ctx, u.ID, u.SecurityVersion); err != nil {
			return err
		}
		return setAuthenticatedAt(ctx, tx, sess, now)
	})
	if err != nil {
		return s.fault(ctx, "confirm password", err, reserved)
	}
	sess.AuthenticatedAt = now
	return nil
}

// setAuthenticatedAt records a password check on the session, which must
// still exist: a change made on a signed-out session's authority is undone.
func setAuthenticatedAt(ctx context.Context, tx Tx, sess *Session, at time.Time) error {
	if err := tx.SetSessionAuthenticatedAt(ctx, sess.TokenHash, at); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrUnauthenticated
		}
		return fmt.Errorf("account: session authenticated at: %w", err)
	}
	return nil
}

// holdSession keeps the session from being signed out until the change
// made on its authority commits; ErrUnauthenticated if it already was.
func holdSession(ctx context.Context, tx Tx, sess *Session) error {
	if err := tx.HoldSession(ctx, sess.TokenHash); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrUnauthenticated
		}
		return fmt.Errorf("account: hold session: %w", err)
	}
	return nil
}

// fault turns the error of a use case's transaction into its answer: the
// rules' own errors pass through (a stale read is ErrConflict: the account
// changed meanwhile), anything else is wrapped with what failed. Either
// way nothing was written, so the attempts reserved are given back.
func (s *Service) fault(ctx context.Context, what string, err error, reserved []int64) error {
	s.giveBack(ctx, reserved)
	switch {
	case errors.Is(err, ErrStale):
		return ErrConflict
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrConflict), errors.Is(err, ErrTwoFactorEnabled),
		errors.Is(err, ErrTwoFactorNotEnabled), errors.Is(err, ErrInvalidCode), errors.Is(err, ErrPhoneRequired):
		return err
	case errors.Is(err, ErrNotFound):
		// The account was deleted meanwhile: its session went with it.
		return ErrUnauthenticated
	}
	return fmt.Errorf("account: %s: %w", what, err)
}

// checkPassword checks the password of a signed-in user, throttled like
// the sign-in password step: a wrong one is recorded (its own commit) and
// returns ErrWrongPassword; a right one returns the reservations for the
// caller's transaction to release.
func (s *Service) checkPassword(ctx context.Context, u *User, pw string, c Client) ([]int64, error) {
	return s.verifyPassword(ctx, u, pw, c, passwordCheck{what: "password confirmation", limits: []AttemptLimit{s.passwordAccountLimit(u.Email)}})
}

// passwordCheck is how verifyPassword checks: under which throttles, what
// a wrong password is recorded as, and another hash that may match too.
type passwordCheck struct {
	what   string
	limits []AttemptLimit
	or     string // a further hash the password may match ("" for none)
}

// verifyPassword is the one password check outside the sign-in: refused
// at once when the hashers are saturated, throttled by check.limits; a
// wrong password is recorded (its own commit) and returns
// ErrWrongPassword; a right one returns the reservations for the
// caller's transaction to release.
func (s *Service) verifyPassword(ctx context.Context, u *User, pw string, c Client, check passwordCheck) ([]int64, error) {
	if s.hasher.Saturated() {
		return nil, ErrBusy
	}
	reserved, err := s.reserve(ctx, check.limits...)
	if err != nil {
		return nil, err
	}
	err = mapHasherErr(s.hasher.Verify(ctx, u.PasswordHash, pw))
	if errors.Is(err, ErrWrongPassword) && check.or != "" {
		err = mapHasherErr(s.hasher.Verify(ctx, check.or, pw))
	}
	switch {
	case errors.Is(err, ErrWrongPassword):
		s.recordFailure(ctx, func(ctx context.Context, tx Tx) error {
			return s.record(ctx, tx, u.ID, EventSignInFailed, check.what, c)
		})
		return nil, err
	case err != nil:
		s.giveBack(ctx, reserved) // busy, not a wrong password
		return nil, err
	}
	return reserved, nil
}

// RecentlyAuthenticated reports whether the password was checked within
// Policy.RecentAuth, as enabling or disabling 2FA and new backup codes need.
func (s *Service) RecentlyAuthenticated(sess *Session) bool {
	return s.now().Sub(sess.AuthenticatedAt) < s.policy.RecentAuth
}

func (s *Service) requireRecentAuth(sess *Session) error {
	if sess.Stage != StageComplete {
		return ErrSecondFactorRequired
	}
	if !s.RecentlyAuthenticated(sess) {
		return ErrReauthRequired
	}
	return nil
}

// secondFactor is a code as typed, parsed: a TOTP code or a backup code.
type secondFactor struct {
	totp   string // 6 digits, or ""
	backup string // canonical backup code, or ""
}

// parseSecondFactor reads what the user typed, before anything is counted.
func (s *Service) parseSecondFactor(u *User, code string) (secondFactor, error) {
	if !u.TwoFactorEnabled() {
		return secondFactor{}, ErrTwoFactorNotEnabled
	}
	totpCode, totpErr := totp.NormalizeCode(code)
	if totpErr == nil {
		if u.TOTP.Suspended() {
			return secondFactor{}, ErrAuthenticatorSuspended
		}
		return secondFactor{totp: totpCode}, nil
	}
	if backup, ok := NormalizeBackupCode(code); ok {
		return secondFactor{backup: backup}, nil
	}
	return secondFactor{}, &ValidationError{Fields: map[string]string{"code": "Enter the 6-digit code from your authenticator app, or a backup code like abcde-12345."}}
}

// useSecondFactor evaluates a TOTP or backup code for a user with 2FA on,
// under the per-account code throttle, and consumes it in one transaction
// with what then (the caller's then: the session swap, a disable) and the
// records, returning nil; or returns ErrInvalidCode after recording the
// failure. Wrong codes in a row are counted; at Policy.SuspendAfter the
// authenticator is suspended (backup codes still work) and the user is
// told. u is what the caller read: the transaction requires its security
// version to be current.
func (s *Service) useSecondFactor(ctx context.Context, u *User, code string, c Client, then func(ctx context.Context, tx Tx, method string) error) error {
	factor, err := s.parseSecondFactor(u, code)
	if err != nil {
		return err
	}
	reserved, err := s.reserve(ctx, s.codeLimit(u.ID))
	if err != nil {
		var te *ThrottledError
		if errors.As(err, &te) {
			s.recordFailure(ctx, func(ctx context.Context, tx Tx) error {
				return s.record(ctx, tx, u.ID, EventThrottled, "second factor", c)
			})
		}
		return err
	}
	// The code is checked before the transaction: no HMAC or decryption
	// runs while it holds the database.
	var step int64
	var backupMAC string
	matched, replayed := false, false
	var drift error // a wrong code that a phone with a wrong clock would show
	if factor.totp != "" {
		secret, err := s.openSecret(u.ID, u.TOTP.Secret)
		if err != nil {
			s.giveBack(ctx, reserved) // nothing was compared
			return err
		}
		step, matched = totp.Validate(secret, factor.totp, s.now(), s.policy.TOTPSkew, u.TOTP.LastStep)
		if !matched {
			// Right but already used? Counted as wrong all the same; only
			// the metrics tell a replay from a guess.
			usedStep, right := totp.Validate(secret, factor.totp, s.now(), s.policy.TOTPSkew, -1)
			replayed = right && usedStep == u.TOTP.LastStep
			drift = s.clockDrift(secret, factor.totp, u.TOTP.LastStep)
		}
	} else {
		backupMAC, matched = s.keys.MAC([]byte(factor.backup)), true // the store decides
	}
	used := false
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		used = false
		if err := tx.RequireSecurityVersion(ctx, u.ID, u.SecurityVersion); err != nil {
			return err
		}
		method := ""
		if matched {
			var ok bool
			var err error
			if factor.totp != "" {
				method = SecondFactorTOTP
				ok, err = tx.AdvanceTOTPStep(ctx, u.ID, step)
			} else {
				method = SecondFactorBackupCode
				ok, err = tx.UseBackupCode(ctx, u.ID, backupMAC, s.now())
			}
			if err != nil {
				return fmt.Errorf("account: use %s: %w", method, err)
			}
			if !ok {
				method = "" // already used: a replay counts as a wrong code
				replayed = factor.totp != ""
			}
		}
		if method == "" {
			return s.recordWrongCode(ctx, tx, u, c)
		}
		used = true
		if err := releaseAttempts(ctx, tx, reserved); err != nil {
			return err
		}
		// A backup code always lifts a suspension, even one a concurrent
		// wrong code set after u was read.
		unsuspend := method == SecondFactorBackupCode
		if u.TOTP.Failures > 0 || unsuspend {
			if err := tx.ClearSecondFactorFailures(ctx, u.ID, unsuspend); err != nil {
				return fmt.Errorf("account: clear failed codes: %w", err)
			}
		}
		if method == SecondFactorBackupCode {
			if err := s.recordAndNotify(ctx, tx, u, EventBackupCodeUsed, "", c); err != nil {
				return err
			}
		}
		// Whoever has a code does not need a recovery: a pending one is
		// cancelled (an attacker's, most likely).
		if err := s.cancelRecoveries(ctx, tx, u, cancelledBySignIn, c); err != nil {
			return err
		}
		// Nor help: an open "Lost your phone?" request is resolved.
		if _, err := tx.ResolveHelpRequests(ctx, u.ID, cancelledBySignIn, s.now()); err != nil {
			return fmt.Errorf("account: resolve help requests: %w", err)
		}
		return then(ctx, tx, method)
	})
	switch {
	case errors.Is(err, ErrStale), errors.Is(err, ErrNotFound):
		// The account changed since it was read (2FA reset, password
		// changed): nothing was evaluated against its current state.
		s.giveBack(ctx, reserved)
		return ErrStale
	case err != nil:
		// The reservation stays: a right code whose transaction failed
		// was still one evaluated attempt.
		if errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrConflict) {
			return err
		}
		return fmt.Errorf("account: second factor: %w", err)
	case !used && replayed:
		return errCodeReplayed
	case !used && drift != nil:
		return drift
	case !used:
		return ErrInvalidCode
	}
	return nil
}

// recordWrongCode counts a wrong code inside tx: the event, the failure in
// a row, and at Policy.SuspendAfter the suspension and its notice.
func (s *Service) recordWrongCode(ctx context.Context, tx Tx, u *User, c Client) error {
	if err := s.record(ctx, tx, u.ID, EventSecondFactorFailed, "", c); err != nil {
		return err
	}
	_, suspended, err := tx.RecordSecondFactorFailure(ctx, u.ID, s.policy.SuspendAfter, s.now())
	if err != nil {
		return fmt.Errorf("account: count failed code: %w", err)
	}
	if suspended {
		return s.recordAndNotify(ctx, tx, u, EventAuthenticatorSuspend, fmt.Sprintf("after %d wrong codes in a row", s.policy.SuspendAfter), c)
	}
	return nil
}
