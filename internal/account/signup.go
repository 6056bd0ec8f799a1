package account

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SignUpInput is what a new user types.
type SignUpInput struct {
	Email       string
	Password    string
	Name        string
	MobilePhone string // optional
}

// PendingSignUp is a sign-up waiting for its owner to open the link mailed
// to the email address. Until then there is no account: the email stays
// free, and nothing about it differs from an address nobody signed up with.
type PendingSignUp struct {
	ID           int64
	TokenHash    string // the link's token, hashed like a session token
	Email        string
	Name         string
	MobilePhone  string
	PasswordHash string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// ConfirmSignUpInput is the second half of a sign-up: the token from the
// link and the password chosen at sign-up. Asking for the password again
// means a link is worth nothing to someone who reads it without having
// chosen the password, so nobody can create an account in another
// person's name that its owner later confirms without knowing.
type ConfirmSignUpInput struct {
	Token    string
	Password string
	// PreviousToken, when the client already held a session (of another
	// account, say), is ended with the sign-up, as a sign-in ends it.
	PreviousToken string
}

// NotificationSignUpLink is the outbox kind of the message that carries a
// sign-up link. It is not an activity-log event: no account exists yet.
const NotificationSignUpLink EventKind = "sign_up_link"

// StartSignUp begins a sign-up. Its answer is the same whether or not the
// email already has an account, so nobody learns which emails do:
//   - a new email gets a link (Policy.SignUpLinkTTL) that finishes the
//     sign-up with ConfirmSignUp;
//   - the owner of an existing email is told someone tried, and nothing
//     else happens;
//   - an address past Policy.SignUpPerEmail messages in the window gets
//     nothing.
//
// Both main paths hash the password and write two rows in one transaction,
// so they take the same time. Only the input's own faults
// (ValidationError), the per-IP throttle, ErrBusy and database faults (on
// either path alike) are returned as errors.
func (s *Service) StartSignUp(ctx context.Context, in SignUpInput, c Client) error {
	if !s.policy.OpenSignUp {
		return ErrSignUpDisabled
	}
	var verr ValidationError
	email, msg := NormalizeEmail(in.Email)
	if msg != "" {
		verr.add("email", msg)
	}
	name, msg := normalizeName(in.Name)
	if msg != "" {
		verr.add("name", msg)
	}
	phone, msg := NormalizeMobilePhone(in.MobilePhone, s.policy.PhoneRegion)
	if msg != "" {
		verr.add("mobile_phone", msg)
	}
	if msg := passwordProblem(in.Password); msg != "" {
		verr.add("password", msg)
	}
	if err := verr.orNil(); err != nil {
		return err
	}
	if s.hasher.Saturated() {
		return ErrBusy
	}
	if _, err := s.reserve(ctx, AttemptLimit{Kind: "signup_ip", Key: "signup:ip:" + ipKey(c.IP), Limit: s.policy.SignUpAttempts, Window: s.policy.SignUpWindow}); err != nil {
		return err
	}
	// Hashed before the email is looked up, so an existing email answers
	// after the same work as a new one.
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return mapHasherErr(err)
	}
	// Past the cap for this address nothing is sent, and the answer is the
	// same: a flood of sign-ups cannot flood an inbox, or tell anything.
	var te *ThrottledError
	if _, err := s.reserve(ctx, AttemptLimit{Kind: "signup_email", Key: "signup:email:" + email, Limit: s.policy.SignUpPerEmail, Window: s.policy.SignUpWindow}); errors.As(err, &te) {
		s.log.InfoContext(ctx, "sign-up not mailed: too many for this address within the window")
		return nil
	} else if err != nil {
		return err
	}
	// Either way one transaction writes two rows, and a fault fails both
	// paths alike.
	now := s.now()
	owner, err := s.store.UserByEmail(ctx, email)
	switch {
	case err == nil:
		err := s.write(ctx, func(ctx context.Context, tx Tx) error {
			return s.recordAndNotify(ctx, tx, owner, EventSignUpAttempt, "", c)
		})
		if err != nil {
			return fmt.Errorf("account: sign up: %w", err)
		}
		s.queued()
		return nil
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("account: sign up: %w", err)
	}
	token, err := s.newToken()
	if err != nil {
		return err
	}
	p := &PendingSignUp{
		TokenHash: hashToken(token), Email: email, Name: name, MobilePhone: phone, PasswordHash: hash,
		CreatedAt: now, ExpiresAt: now.Add(s.policy.SignUpLinkTTL),
	}
	// The name typed at sign-up is not in the message: whoever signs up
	// chooses it, and the message goes to an address they may not own.
	n := &Notification{
		Recipient: email, Kind: NotificationSignUpLink, CreatedAt: now, LinkTokenHash: p.TokenHash,
		Subject: "Finish signing up",
		Body: fmt.Sprintf("Hello,\n\nSomeone, hopefully you, asked to create an account with this email address. To finish, open this link within %s and enter the password you chose:\n\n%s\n\nIf this wasn't you, ignore this message: without the link and that password no account is created.\n\nWhen: %s UTC\nFrom IP address: %s\n\n— %s\n",
			DescribeDuration(s.policy.SignUpLinkTTL), s.signUpLink(token), now.UTC().Format("2 January 2006 15:04"), c.IP, s.policy.Issuer),
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.CreatePendingSignUp(ctx, p); err != nil {
			return err
		}
		return tx.AddNotification(ctx, n)
	})
	if err != nil {
		return fmt.Errorf("account: sign up: %w", err)
	}
	s.log.InfoContext(ctx, "sign-up link queued", "outbox_id", n.ID)
	s.queued()
	return nil
}

// PendingSignUp returns the sign-up a link's token belongs to, or
// ErrSignUpLinkInvalid when it is unknown, used or expired.
func (s *Service) PendingSignUp(ctx context.Context, token string) (*PendingSignUp, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrSignUpLinkInvalid
	}
	p, err := s.store.PendingSignUpByTokenHash(ctx, hashToken(token))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrSignUpLinkInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("account: pending sign-up: %w", err)
	}
	if !s.now().Before(p.ExpiresAt) {
		return nil, ErrSignUpLinkInvalid
	}
	return p, nil
}

// ConfirmSignUp finishes a sign-up: with the link's token and the password
// chosen at sign-up, it creates the account and signs it in, returning the
// session token. A wrong password is ErrWrongPassword, counted against the
// link (Policy.SignUpConfirmAttempts) and the client IP like any password
// guess; an unknown, used or expired link is ErrSignUpLinkInvalid, as is
// one whose email got an account in the meantime.
func (s *Service) ConfirmSignUp(ctx context.Context, in ConfirmSignUpInput, c Client) (*User, string, error) {
	if !s.policy.OpenSignUp {
		// A link mailed before sign-up became by invitation makes nothing.
		return nil, "", ErrSignUpDisabled
	}
	p, err := s.PendingSignUp(ctx, in.Token)
	if err != nil {
		return nil, "", err
	}
	if in.Password == "" {
		// A slip, not a guess: not counted against the link.
		return nil, "", &ValidationError{Fields: map[string]string{"password": "Enter your password."}}
	}
	if s.hasher.Saturated() {
		return nil, "", ErrBusy
	}
	linkLimit := AttemptLimit{Kind: "signup_link", Key: "signup-link:" + p.TokenHash, Limit: s.policy.SignUpConfirmAttempts, Window: s.policy.SignUpLinkTTL}
	reserved, err := s.reserve(ctx, s.passwordIPLimit(c.IP), linkLimit)
	if err != nil {
		var te *ThrottledError
		if errors.As(err, &te) && te.key == linkLimit.Key {
			// Its wrong passwords are used up, and the window outlasts the
			// link: it will never work again, so say so.
			return nil, "", ErrSignUpLinkInvalid
		}
		return nil, "", err
	}
	if err := mapHasherErr(s.hasher.Verify(ctx, p.PasswordHash, in.Password)); err != nil {
		if !errors.Is(err, ErrWrongPassword) {
			s.giveBack(ctx, reserved)
			return nil, "", err
		}
		// The last wrong password spends the link at once, so the page it
		// opens says so rather than asking for a password it will refuse.
		s.recordFailure(ctx, func(ctx context.Context, tx Tx) error {
			_, err := tx.RecordSignUpFailure(ctx, p.ID, s.policy.SignUpConfirmAttempts)
			return err
		})
		return nil, "", err
	}
	u := &User{Email: p.Email, Name: p.Name, MobilePhone: p.MobilePhone, PasswordHash: p.PasswordHash, CreatedAt: s.now()}
	token, sess, err := s.newSession(0, StageComplete, c)
	if err != nil {
		s.giveBack(ctx, reserved)
		return nil, "", err
	}
	// The account, its session, the end of the session the client held
	// before, and the records, in one transaction.
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := releaseAttempts(ctx, tx, reserved); err != nil {
			return err
		}
		if err := tx.CompleteSignUp(ctx, p.ID, u.CreatedAt, u); err != nil {
			return err
		}
		sess.UserID = u.ID
		if err := tx.CreateSession(ctx, sess); err != nil {
			return fmt.Errorf("account: create session: %w", err)
		}
		if in.PreviousToken != "" {
			switch previous, err := tx.DeleteSession(ctx, hashToken(in.PreviousToken)); {
			case errors.Is(err, ErrNotFound):
			case err != nil:
				return fmt.Errorf("account: end previous session: %w", err)
			case previous.Stage == StageComplete:
				if err := s.record(ctx, tx, previous.UserID, EventSignOut, "", c); err != nil {
					return err
				}
			}
		}
		return s.record(ctx, tx, u.ID, EventSignUp, "", c)
	})
	switch {
	case errors.Is(err, ErrNotFound) || errors.Is(err, ErrEmailTaken):
		s.giveBack(ctx, reserved)
		return nil, "", ErrSignUpLinkInvalid
	case err != nil:
		s.giveBack(ctx, reserved)
		return nil, "", fmt.Errorf("account: confirm sign-up: %w", err)
	}
	return u, token, nil
}

// signUpLink is the address mailed for a sign-up token.
func (s *Service) signUpLink(token string) string {
	return s.linkFor(token)
}

// DescribeDuration says d for people, as mails and pages do: "1 hour",
// "24 hours", "1 minute", "90 minutes" (minutes rounded up).
func DescribeDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= 2*day && d%day == 0 {
		return plural(int(d/day), "day")
	}
	if d >= time.Hour && d%time.Hour == 0 {
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int((d+time.Minute-1)/time.Minute), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
