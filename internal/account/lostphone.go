package account

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The rules of the way back for a lost phone.
const (
	// PhoneCodeTTL is how long a texted verification code works, and
	// phoneCodeTries how many wrong codes it takes.
	PhoneCodeTTL   = 10 * time.Minute
	phoneCodeTries = 5
	// phoneTextsPerHour caps the texts one account receives.
	phoneTextsPerHour = 3
	// PhoneVerifiedFor is how long a right code lets a reset go ahead.
	PhoneVerifiedFor = 15 * time.Minute
	// helpRequestsPerDay caps how often one account asks the
	// administrators for help.
	helpRequestsPerDay = 3
	maxHelpMessage     = 500
)

// HelpRequest is a person's "Lost your phone?" request for an
// administrator's help, open until a reset (or an administrator) resolves it.
type HelpRequest struct {
	ID        int64
	UserID    int64
	Email     string // the account's, read with the request
	Name      string
	Message   string
	IP        string
	UserAgent string
	CreatedAt time.Time
}

// PhoneVerification is a code texted to the mobile number on file so that
// an administrator can check, by the code the person reads back, that they
// hold that phone. Only a keyed hash of the code is stored.
type PhoneVerification struct {
	ID         int64
	UserID     int64
	Phone      string
	CodeHash   string
	SentBy     string // the administrator's email, the operator, or "self-recovery"
	Purpose    string // PurposeAdmin or PurposeRecovery
	CreatedAt  time.Time
	ExpiresAt  time.Time
	Failures   int
	VerifiedAt time.Time // zero until the right code was typed
	ConsumedAt time.Time // zero until a reset relied on it
}

var (
	// ErrTextsUnavailable: no SMS sender is configured, so a texted code
	// would never arrive.
	ErrTextsUnavailable = errors.New("account: text messages are not set up on this server")
	// ErrNoMobilePhone: the account has no mobile number to text.
	ErrNoMobilePhone = errors.New("account: the account has no mobile phone number")
	// ErrPhoneNotVerified: a reset without a right code texted in the last
	// PhoneVerifiedFor, and without a reason.
	ErrPhoneNotVerified = errors.New("account: the phone was not verified, and no reason was given")
	// ErrPhoneCodeSpent: the newest texted code expired or took too many
	// wrong tries; a new one must be sent. It is an ErrInvalidCode.
	ErrPhoneCodeSpent = &phoneCodeSpentError{}
)

type phoneCodeSpentError struct{}

func (*phoneCodeSpentError) Error() string {
	return "account: the texted code expired or was tried too often; send a new one"
}
func (*phoneCodeSpentError) Unwrap() error { return ErrInvalidCode }

// What a texted code is for: an administrator's check before a reset, or
// the proof of the phone that starts a self-recovery. One never counts as
// the other.
const (
	PurposeAdmin    = "admin"
	PurposeRecovery = "recovery"
)

// actor is who acts on an account for its lost phone: an administrator
// (admin and session set, checked again where the action is written) or
// the operator at the command line.
type actor struct {
	admin   *User
	session *Session
}

func (a actor) name() string {
	if a.admin == nil {
		return operatorActor
	}
	return a.admin.Email
}

// stillInCharge re-checks, inside the action's transaction, that the
// administrator still is one, with the session still there, and that the
// target is as read.
func (s *Service) stillInCharge(ctx context.Context, tx Tx, a actor, target *User) error {
	if a.admin == nil {
		return tx.RequireSecurityVersion(ctx, target.ID, target.SecurityVersion)
	}
	return s.stillAdminOver(ctx, tx, a.admin, target, a.session)
}

func (s *Service) adminActor(ctx context.Context, by *Session) (actor, error) {
	admin, err := s.requireAdmin(ctx, by)
	if err != nil {
		return actor{}, err
	}
	return actor{admin: admin, session: by}, nil
}

// adminOver is the administrator acting through session by on the
// account id, read for the action (checked again where it is written).
func (s *Service) adminOver(ctx context.Context, by *Session, id int64) (actor, *User, error) {
	a, err := s.adminActor(ctx, by)
	if err != nil {
		return actor{}, nil, err
	}
	target, err := s.store.UserByID(ctx, id)
	if err != nil {
		return actor{}, nil, err
	}
	return a, target, nil
}

// textedCode reads the newest code texted to userID for purpose and
// compares code with it: right says whether it matches. A code that is
// not 6 digits is a ValidationError on field; none sent, or one expired,
// verified or out of tries, is ErrPhoneCodeSpent. The caller writes the
// outcome with FailPhoneVerification or VerifyPhoneVerification, which
// check the same conditions again.
func (s *Service) textedCode(ctx context.Context, userID int64, purpose, code, field, problem string) (v *PhoneVerification, right bool, err error) {
	digits := strings.Join(strings.Fields(code), "")
	if len(digits) != 6 || strings.Trim(digits, "0123456789") != "" {
		return nil, false, &ValidationError{Fields: map[string]string{field: problem}}
	}
	v, err = s.store.LatestPhoneVerification(ctx, userID, purpose)
	if errors.Is(err, ErrNotFound) {
		return nil, false, ErrPhoneCodeSpent // none sent: send one
	}
	if err != nil {
		return nil, false, fmt.Errorf("account: texted code: %w", err)
	}
	if !v.VerifiedAt.IsZero() || v.Failures >= phoneCodeTries || !s.now().Before(v.ExpiresAt) {
		return nil, false, ErrPhoneCodeSpent
	}
	right = subtle.ConstantTimeCompare([]byte(s.phoneCodeMAC(userID, purpose, digits)), []byte(v.CodeHash)) == 1
	return v, right, nil
}

// normalizeHelpMessage trims what the person wrote to the administrators:
// text of at most maxHelpMessage characters, lines allowed.
func normalizeHelpMessage(input string) (string, string) {
	msg := strings.TrimSpace(strings.ReplaceAll(input, "\r\n", "\n"))
	switch {
	case !utf8.ValidString(msg):
		return "", "Your message contains characters that are not text."
	case utf8.RuneCountInString(msg) > maxHelpMessage:
		return "", fmt.Sprintf("Use at most %d characters.", maxHelpMessage)
	}
	for _, r := range msg {
		if (unicode.IsControl(r) && r != '\n') || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control) {
			return "", "Your message contains characters that are not text."
		}
	}
	return msg, ""
}

// RequestHelp records the "Lost your phone?" request of a half-signed-in
// session (the password was right, the code is what is missing) and emails
// the active administrators, in one transaction. A request already open is
// not repeated; at most helpRequestsPerDay are accepted per account a day.
func (s *Service) RequestHelp(ctx context.Context, token, message string, c Client) error {
	sess, err := s.Session(ctx, token)
	if err != nil {
		return err
	}
	if sess.Stage != StageSecondFactor {
		return ErrSessionAlreadyAdvanced
	}
	msg, problem := normalizeHelpMessage(message)
	if problem != "" {
		return &ValidationError{Fields: map[string]string{"message": problem}}
	}
	u := sess.Profile.User
	reserved, err := s.reserve(ctx, AttemptLimit{Kind: "help_request", Key: fmt.Sprintf("help:user:%d", u.ID), Limit: helpRequestsPerDay, Window: 24 * time.Hour})
	if err != nil {
		return err
	}
	admins, err := s.activeAdministrators(ctx)
	if err != nil {
		s.giveBack(ctx, reserved)
		return fmt.Errorf("account: help request: %w", err)
	}
	req := &HelpRequest{UserID: u.ID, Message: msg, IP: c.IP, UserAgent: truncate(c.UserAgent, 200), CreatedAt: s.now()}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		// The user's row first (it serializes the user's requests), then
		// the session: the lock order of every use case.
		if err := tx.RequireSecurityVersion(ctx, u.ID, u.SecurityVersion); err != nil {
			return err
		}
		if err := holdSession(ctx, tx, sess); err != nil {
			return err
		}
		opened, err := tx.AddHelpRequest(ctx, req)
		if err != nil {
			return fmt.Errorf("account: add help request: %w", err)
		}
		if !opened {
			// One is open already: the administrators know, and asking
			// again costs nothing of the day's limit.
			return releaseAttempts(ctx, tx, reserved)
		}
		if err := s.record(ctx, tx, u.ID, EventHelpRequested, "", c); err != nil {
			return err
		}
		for _, a := range admins {
			n := s.helpRequestNotice(a, u, msg, c)
			if err := tx.AddNotification(ctx, n); err != nil {
				return fmt.Errorf("account: notify administrators: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return s.fault(ctx, "help request", err, reserved)
	}
	return nil
}

func (s *Service) activeAdministrators(ctx context.Context) ([]*User, error) {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var admins []*User
	for _, u := range users {
		if u.IsAdmin() && u.DeactivatedAt.IsZero() {
			admins = append(admins, u)
		}
	}
	return admins, nil
}

func (s *Service) helpRequestNotice(admin, u *User, msg string, c Client) *Notification {
	quoted := "(no message)"
	if msg != "" {
		quoted = "“" + msg + "”"
	}
	return &Notification{
		UserID: admin.ID, Recipient: admin.Email, Kind: EventHelpRequested, CreatedAt: s.now(),
		Subject: u.Name + " cannot sign in: lost phone",
		Body: fmt.Sprintf("Hello %s,\n\n%s (%s) signed in with their password but cannot give a code, and asks for help:\n\n%s\n\n"+
			"Check that it is them before you reset 2 factor authentication: on the Users page, open their account, send a verification code to the mobile number on file and have them read it back to you, by phone or in person.\n\n"+
			"When: %s UTC\nFrom IP address: %s\n\n— %s\n",
			admin.Name, u.Name, u.Email, quoted, s.now().UTC().Format("2 January 2006 15:04"), c.IP, s.policy.Issuer),
	}
}

// HelpRequests lists the open help requests, oldest first, for administrators.
func (s *Service) HelpRequests(ctx context.Context, by *Session) ([]*HelpRequest, error) {
	if _, err := s.requireAdmin(ctx, by); err != nil {
		return nil, err
	}
	reqs, err := s.store.OpenHelpRequests(ctx)
	if err != nil {
		return nil, fmt.Errorf("account: help requests: %w", err)
	}
	return reqs, nil
}

// SendPhoneVerification texts a new 6-digit code to the mobile number on
// file of user id, for an administrator who will ask the person to read
// it back. It works for PhoneCodeTTL and PhoneCodeTries wrong tries; an
// account receives at most phoneTextsPerHour texts an hour. The code, the
// text and the audit entry are written in one transaction.
func (s *Service) SendPhoneVerification(ctx context.Context, by *Session, id int64, c Client) (*PhoneVerification, error) {
	a, target, err := s.adminOver(ctx, by, id)
	if err != nil {
		return nil, err
	}
	return s.sendPhoneVerification(ctx, a, target, c)
}

// SendPhoneVerificationByOperator is SendPhoneVerification for the
// operator at the command line.
func (s *Service) SendPhoneVerificationByOperator(ctx context.Context, email string) (*PhoneVerification, error) {
	target, err := s.operatorTarget(ctx, email)
	if err != nil {
		return nil, err
	}
	return s.sendPhoneVerification(ctx, actor{}, target, Client{IP: "cli"})
}

func (s *Service) operatorTarget(ctx context.Context, email string) (*User, error) {
	normalized, msg := NormalizeEmail(email)
	if msg != "" {
		return nil, &ValidationError{Fields: map[string]string{"email": msg}}
	}
	u, err := s.store.UserByEmail(ctx, normalized)
	if err != nil {
		return nil, fmt.Errorf("account: %s: %w", normalized, err)
	}
	return u, nil
}

func (s *Service) sendPhoneVerification(ctx context.Context, a actor, target *User, c Client) (*PhoneVerification, error) {
	switch {
	case target.MobilePhone == "":
		return nil, ErrNoMobilePhone
	case !s.policy.TextMessages:
		return nil, ErrTextsUnavailable
	}
	reserved, err := s.reserve(ctx, s.textLimit(target.ID))
	if err != nil {
		return nil, err
	}
	code, err := newPhoneCode(s.random)
	if err != nil {
		s.giveBack(ctx, reserved)
		return nil, err
	}
	now := s.now()
	v := &PhoneVerification{
		UserID: target.ID, Phone: target.MobilePhone, CodeHash: s.phoneCodeMAC(target.ID, PurposeAdmin, code), SentBy: a.name(),
		Purpose: PurposeAdmin, CreatedAt: now, ExpiresAt: now.Add(PhoneCodeTTL),
	}
	text := &Notification{
		UserID: target.ID, Recipient: target.MobilePhone, Kind: EventPhoneVerificationSent, Channel: ChannelSMS, CreatedAt: now,
		Body: fmt.Sprintf("%s verification code: %s. Read it only to your administrator, who is checking your phone before resetting your 2 factor authentication. It works for %d minutes.",
			s.policy.Issuer, code, int(PhoneCodeTTL/time.Minute)),
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillInCharge(ctx, tx, a, target); err != nil {
			return err
		}
		if err := tx.CreatePhoneVerification(ctx, v); err != nil {
			return fmt.Errorf("account: store phone verification: %w", err)
		}
		if err := tx.AddNotification(ctx, text); err != nil {
			return fmt.Errorf("account: queue verification text: %w", err)
		}
		if err := s.audit(ctx, tx, a.admin, AuditPhoneCodeSent, target.Email, "to "+DisplayPhone(target.MobilePhone), c); err != nil {
			return err
		}
		return s.record(ctx, tx, target.ID, EventPhoneVerificationSent, "by "+a.name(), c)
	})
	switch {
	case errors.Is(err, ErrStale):
		s.giveBack(ctx, reserved)
		return nil, ErrConflict
	case err != nil:
		return nil, s.fault(ctx, "send phone verification", err, reserved)
	}
	s.queued()
	return v, nil
}

func (s *Service) textLimit(userID int64) AttemptLimit {
	return AttemptLimit{Kind: "texts_user", Key: fmt.Sprintf("texts:user:%d", userID), Limit: phoneTextsPerHour, Window: time.Hour}
}

// newPhoneCode returns 6 uniformly random digits.
func newPhoneCode(random io.Reader) (string, error) {
	var b [4]byte
	for {
		if _, err := io.ReadFull(random, b[:]); err != nil {
			return "", fmt.Errorf("account: phone code: %w", err)
		}
		// Below the largest multiple of a million under 2^32: no bias.
		if v := binary.BigEndian.Uint32(b[:]); v < 4294000000 {
			return fmt.Sprintf("%06d", v%1000000), nil
		}
	}
}

// phoneCodeMAC binds a texted code to its account and purpose, under the
// server key.
func (s *Service) phoneCodeMAC(userID int64, purpose, code string) string {
	return s.keys.MAC(fmt.Appendf(nil, "twofold/user/%d/phone-code/%s/%s", userID, purpose, code))
}

// CheckPhoneVerification checks the code the person read back against the
// newest one texted to user id. A right code marks the phone verified for
// PhoneVerifiedFor; a wrong one counts against the code's tries, and
// ErrPhoneCodeSpent says a new code is needed. Both are conditional writes
// on the code's row, so racing tries count each once and a spent code
// never verifies.
func (s *Service) CheckPhoneVerification(ctx context.Context, by *Session, id int64, code string, c Client) error {
	a, target, err := s.adminOver(ctx, by, id)
	if err != nil {
		return err
	}
	return s.checkPhoneVerification(ctx, a, target, code, c)
}

// CheckPhoneVerificationByOperator is CheckPhoneVerification for the
// operator at the command line.
func (s *Service) CheckPhoneVerificationByOperator(ctx context.Context, email, code string) error {
	target, err := s.operatorTarget(ctx, email)
	if err != nil {
		return err
	}
	return s.checkPhoneVerification(ctx, actor{}, target, code, Client{IP: "cli"})
}

func (s *Service) checkPhoneVerification(ctx context.Context, a actor, target *User, code string, c Client) error {
	v, right, err := s.textedCode(ctx, target.ID, PurposeAdmin, code, "code", "Enter the 6 digits the person reads from the text message.")
	if err != nil {
		return err
	}
	now := s.now()
	verified, spent := false, false
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		verified, spent = false, false
		if err := s.stillInCharge(ctx, tx, a, target); err != nil {
			return err
		}
		if !right {
			counted, err := tx.FailPhoneVerification(ctx, v.ID, phoneCodeTries, now)
			if err != nil || !counted {
				spent = !counted
				return err
			}
			return s.audit(ctx, tx, a.admin, AuditPhoneCodeWrong, target.Email, "", c)
		}
		ok, err := tx.VerifyPhoneVerification(ctx, v.ID, phoneCodeTries, now)
		if err != nil || !ok {
			return err
		}
		verified = true
		if err := s.audit(ctx, tx, a.admin, AuditPhoneVerified, target.Email, "code texted to "+DisplayPhone(v.Phone), c); err != nil {
			return err
		}
		return s.record(ctx, tx, target.ID, EventPhoneVerified, "by "+a.name(), c)
	})
	switch {
	case errors.Is(err, ErrStale):
		return ErrConflict
	case err != nil:
		return s.fault(ctx, "check phone verification", err, nil)
	case verified:
		return nil
	case right || spent:
		return ErrPhoneCodeSpent // spent or expired meanwhile
	}
	return ErrInvalidCode
}

// PhoneVerifiedAt is when the phone of user id was last verified, if that
// is recent enough for a reset (zero otherwise), for the page that offers
// the reset.
func (s *Service) PhoneVerifiedAt(ctx context.Context, by *Session, id int64) (time.Time, *PhoneVerification, error) {
	if _, err := s.requireAdmin(ctx, by); err != nil {
		return time.Time{}, nil, err
	}
	v, err := s.store.LatestPhoneVerification(ctx, id, PurposeAdmin)
	if errors.Is(err, ErrNotFound) {
		return time.Time{}, nil, nil
	}
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("account: phone verification: %w", err)
	}
	if v.VerifiedAt.IsZero() || !v.ConsumedAt.IsZero() || !s.now().Before(v.VerifiedAt.Add(PhoneVerifiedFor)) {
		return time.Time{}, v, nil
	}
	return v.VerifiedAt, v, nil
}

// ErrHelpRequestNotFound: the account has no open help request.
var ErrHelpRequestNotFound = errors.New("account: no open help request")

// DismissHelpRequest resolves an account's open help requests without a
// reset, for administrators (the person found a backup code, or was
// helped another way). It is audited.
func (s *Service) DismissHelpRequest(ctx context.Context, by *Session, id int64, c Client) error {
	a, target, err := s.adminOver(ctx, by, id)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillInCharge(ctx, tx, a, target); err != nil {
			return err
		}
		n, err := tx.ResolveHelpRequests(ctx, target.ID, a.name(), s.now())
		if err != nil {
			return fmt.Errorf("account: resolve help requests: %w", err)
		}
		if n == 0 {
			return ErrHelpRequestNotFound
		}
		return s.audit(ctx, tx, a.admin, AuditHelpDismissed, target.Email, "", c)
	})
	switch {
	case errors.Is(err, ErrHelpRequestNotFound):
		return err
	case errors.Is(err, ErrStale):
		return ErrConflict
	case err != nil:
		return s.fault(ctx, "dismiss help request", err, nil)
	}
	return nil
}
