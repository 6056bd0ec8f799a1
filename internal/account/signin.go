package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twofold/twofold/internal/totp"
)

// SignInInput is the password step. PreviousToken, when the client already
// held a session, is ended so that the session id changes (no fixation).
type SignInInput struct {
	Email         string
	Password      string
	PreviousToken string
}

// SignIn checks the password. It returns a new session token and the stage
// the session is at: StageComplete, or StageSecondFactor when 2FA is on.
// A wrong email and a wrong password give the same error after the same work.
func (s *Service) SignIn(ctx context.Context, in SignInInput, c Client) (token string, stage Stage, err error) {
	email, _ := NormalizeEmail(in.Email)
	if email == "" {
		// Still throttled and hashed like any other attempt; the throttle
		// key must be storable text whatever was typed.
		email = truncate(strings.ToLower(strings.TrimSpace(in.Email)), maxEmailLength)
	}
	// Turned away before any write when the hashers are saturated, so a
	// flood costs the database nothing and waits for nothing.
	if s.hasher.Saturated() {
		return "", "", ErrBusy
	}
	releaseIP, err := s.throttle(ctx, "password:ip:"+ipKey(c.IP), s.policy.PasswordIPAttempt, s.policy.PasswordWindow)
	if err != nil {
		return "", "", err
	}
	releaseAccount, err := s.throttle(ctx, "password:email:"+email, s.policy.PasswordAttempts, s.policy.PasswordWindow)
	if err != nil {
		releaseIP() // not evaluated: it must not count against the IP
		return "", "", err
	}
	// Only a password that was compared and did not match counts as a
	// failure; any other outcome gives both reservations back.
	notEvaluated := func() { releaseIP(); releaseAccount() }
	u, err := s.store.UserByEmail(ctx, email)
	hash := s.dummyHash // unknown email: the same work as a known one
	switch {
	case errors.Is(err, ErrNotFound):
		u = nil
	case err != nil:
		notEvaluated()
		return "", "", fmt.Errorf("account: sign in: %w", err)
	default:
		hash = u.PasswordHash
	}
	if err := mapHasherErr(s.hasher.Verify(ctx, hash, in.Password)); err != nil || u == nil {
		if err != nil && !errors.Is(err, ErrWrongPassword) {
			notEvaluated()
			return "", "", err
		}
		if u != nil {
			s.record(ctx, u.ID, EventSignInFailed, "", c)
		}
		return "", "", ErrInvalidCredentials
	}
	notEvaluated() // the right password: not a failure
	s.upgradePasswordHash(ctx, u, in.Password)
	if in.PreviousToken != "" {
		if err := s.store.DeleteSession(ctx, hashToken(in.PreviousToken)); err != nil && !errors.Is(err, ErrNotFound) {
			return "", "", fmt.Errorf("account: end previous session: %w", err)
		}
	}
	stage = StageComplete
	if u.TwoFactorEnabled() {
		stage = StageSecondFactor
	}
	token, err = s.startSession(ctx, u.ID, stage, c)
	if err != nil {
		return "", "", err
	}
	if stage == StageComplete {
		s.record(ctx, u.ID, EventSignIn, "password", c)
	}
	return token, stage, nil
}

// upgradePasswordHash rehashes a password whose stored hash was made with
// other argon2id parameters (the OWASP figures change over time), while the
// password is at hand. It is best effort: the sign-in succeeds regardless.
func (s *Service) upgradePasswordHash(ctx context.Context, u *User, pw string) {
	if !s.hasher.NeedsRehash(u.PasswordHash) {
		return
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		err = s.store.UpdatePasswordHash(ctx, u.ID, hash)
	}
	if err != nil {
		s.log.WarnContext(ctx, "upgrade password hash; will retry at the next sign-in", "user_id", u.ID, "err", err)
	}
}

func (s *Service) newSession(userID int64, stage Stage, c Client) (token string, sess *Session, err error) {
	token, err = s.newToken()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	sess = &Session{
		TokenHash: hashToken(token), UserID: userID, Stage: stage,
		CreatedAt: now, LastSeenAt: now, AuthenticatedAt: now, ExpiresAt: now.Add(s.policy.SessionAbsolute),
		IP: c.IP, UserAgent: truncate(c.UserAgent, 200),
	}
	if stage == StageSecondFactor {
		sess.ExpiresAt = now.Add(s.policy.PendingSignInTTL)
	}
	return token, sess, nil
}

func (s *Service) startSession(ctx context.Context, userID int64, stage Stage, c Client) (string, error) {
	token, sess, err := s.newSession(userID, stage, c)
	if err != nil {
		return "", err
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", fmt.Errorf("account: create session: %w", err)
	}
	return token, nil
}

// Session looks up the session for a token, whatever its stage, enforcing
// the timeouts: ErrPendingExpired for a pending sign-in past its window,
// ErrUnauthenticated for anything else missing or expired.
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
	now := s.now()
	if !now.Before(sess.ExpiresAt) || (sess.Stage == StageComplete && !now.Before(sess.LastSeenAt.Add(s.policy.SessionIdle))) {
		if err := s.store.DeleteSession(ctx, hash); err != nil && !errors.Is(err, ErrNotFound) {
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

// Authenticate returns the fully signed-in session for a token.
// A session still waiting for its second factor gets ErrSecondFactorRequired.
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

// SubmitSecondFactor completes a pending sign-in with a TOTP code or a
// backup code. On success the pending session is replaced by a new one and
// its token returned. At most Policy.CodeAttempts failures per account are
// evaluated per Policy.CodeWindow; beyond that even a right code gets a
// *ThrottledError.
func (s *Service) SubmitSecondFactor(ctx context.Context, token, code string, c Client) (string, error) {
	sess, err := s.Session(ctx, token)
	if err != nil {
		return "", err
	}
	if sess.Stage != StageSecondFactor {
		return "", ErrSessionAlreadyAdvanced
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return "", fmt.Errorf("account: second factor: %w", err)
	}
	method, err := s.checkSecondFactor(ctx, u, code, c)
	if err != nil {
		return "", err
	}
	next, nextSess, err := s.newSession(u.ID, StageComplete, c)
	if err != nil {
		return "", err
	}
	nextSess.AuthenticatedAt = sess.AuthenticatedAt
	if err := s.store.ReplaceSession(ctx, sess.TokenHash, nextSess); err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", ErrUnauthenticated
		}
		return "", fmt.Errorf("account: promote session: %w", err)
	}
	s.record(ctx, u.ID, EventSignIn, method, c)
	return next, nil
}

// SignOut ends the session. Unknown tokens are not an error.
func (s *Service) SignOut(ctx context.Context, token string, c Client) error {
	if token == "" {
		return nil
	}
	hash := hashToken(token)
	sess, err := s.store.SessionByTokenHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("account: sign out: %w", err)
	}
	if err := s.store.DeleteSession(ctx, hash); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("account: sign out: %w", err)
	}
	if sess.Stage == StageComplete {
		s.record(ctx, sess.UserID, EventSignOut, "", c)
	}
	return nil
}

// ConfirmPassword re-checks the password of a signed-in user, which makes
// the session count as recently authenticated for sensitive changes.
func (s *Service) ConfirmPassword(ctx context.Context, sess *Session, pw string, c Client) error {
	if sess.Stage != StageComplete {
		return ErrSecondFactorRequired
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return fmt.Errorf("account: confirm password: %w", err)
	}
	if err := s.verifyPassword(ctx, u, pw, c); err != nil {
		return err
	}
	if err := s.store.SetSessionAuthenticatedAt(ctx, sess.TokenHash, s.now()); err != nil {
		return fmt.Errorf("account: confirm password: %w", err)
	}
	sess.AuthenticatedAt = s.now()
	return nil
}

// verifyPassword checks the password of a signed-in user, throttled like the
// sign-in password step.
func (s *Service) verifyPassword(ctx context.Context, u *User, pw string, c Client) error {
	if s.hasher.Saturated() {
		return ErrBusy
	}
	release, err := s.throttle(ctx, "password:email:"+u.Email, s.policy.PasswordAttempts, s.policy.PasswordWindow)
	if err != nil {
		return err
	}
	if err := mapHasherErr(s.hasher.Verify(ctx, u.PasswordHash, pw)); err != nil {
		if errors.Is(err, ErrWrongPassword) {
			s.record(ctx, u.ID, EventSignInFailed, "password confirmation", c)
			return err
		}
		release() // busy, not a wrong password
		return err
	}
	release()
	return nil
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

// checkSecondFactor evaluates a TOTP or backup code for a user with 2FA on,
// under the per-account code throttle, and consumes it. It returns how the
// user got in ("totp" or "backup_code"). Wrong codes in a row are counted;
// at Policy.SuspendAfter the authenticator is suspended (backup codes still
// work) and the user is told.
func (s *Service) checkSecondFactor(ctx context.Context, u *User, code string, c Client) (string, error) {
	if !u.TwoFactorEnabled() {
		return "", ErrTwoFactorNotEnabled
	}
	totpCode, totpErr := totp.NormalizeCode(code)
	backupCode, backupOK := NormalizeBackupCode(code)
	if totpErr != nil && !backupOK {
		return "", &ValidationError{Fields: map[string]string{"code": "Enter the 6-digit code from your authenticator app, or a backup code like abcde-12345."}}
	}
	if totpErr == nil && u.TOTP.Suspended() {
		return "", ErrAuthenticatorSuspended
	}
	release, err := s.throttle(ctx, fmt.Sprintf("code:user:%d", u.ID), s.policy.CodeAttempts, s.policy.CodeWindow)
	if err != nil {
		var te *ThrottledError
		if errors.As(err, &te) {
			s.record(ctx, u.ID, EventThrottled, "second factor", c)
		}
		return "", err
	}
	var method string
	if totpErr == nil {
		ok, err := s.useTOTP(ctx, u, u.TOTP.Secret, u.TOTP.LastStep, totpCode)
		if err != nil {
			return "", err
		}
		if ok {
			method = "totp"
		}
	} else {
		ok, err := s.store.UseBackupCode(ctx, u.ID, s.keys.MAC([]byte(backupCode)), s.now())
		if err != nil {
			return "", fmt.Errorf("account: use backup code: %w", err)
		}
		if ok {
			method = "backup_code"
			s.recordAndNotify(ctx, u, EventBackupCodeUsed, "", c)
		}
	}
	if method == "" {
		s.record(ctx, u.ID, EventSecondFactorFailed, "", c)
		_, suspended, err := s.store.RecordSecondFactorFailure(ctx, u.ID, s.policy.SuspendAfter, s.now())
		if err != nil {
			return "", fmt.Errorf("account: count failed code: %w", err)
		}
		if suspended {
			s.recordAndNotify(ctx, u, EventAuthenticatorSuspend, fmt.Sprintf("after %d wrong codes in a row", s.policy.SuspendAfter), c)
		}
		return "", ErrInvalidCode
	}
	release()
	unsuspend := method == "backup_code" && u.TOTP.Suspended()
	if u.TOTP.Failures > 0 || unsuspend {
		if err := s.store.ClearSecondFactorFailures(ctx, u.ID, unsuspend); err != nil {
			return "", fmt.Errorf("account: clear failed codes: %w", err)
		}
	}
	return method, nil
}

// useTOTP validates code against the sealed secret and, if it matches a step
// later than lastStep, records that step with a compare-and-set so the same
// code cannot pass twice, even in two concurrent requests.
func (s *Service) useTOTP(ctx context.Context, u *User, sealed SealedSecret, lastStep int64, code string) (bool, error) {
	secret, err := s.openSecret(u.ID, sealed)
	if err != nil {
		return false, err
	}
	step, ok := totp.Validate(secret, code, s.now(), s.policy.TOTPSkew, lastStep)
	if !ok {
		return false, nil
	}
	advanced, err := s.store.AdvanceTOTPStep(ctx, u.ID, step)
	if err != nil {
		return false, fmt.Errorf("account: record totp step: %w", err)
	}
	return advanced, nil
}
