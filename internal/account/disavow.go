package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// "This wasn't me": every security email carries a link of its own that,
// after the account's password, signs out every session of the account,
// forgets every remembered device and cancels a pending recovery. The link
// never signs anyone in: it only takes access away.

// EventDisavowed is recorded (and mailed) when a "This wasn't me" link was
// used; AuditDisavowed is its entry in the administrators' audit log, so
// they learn that an account may be in someone else's hands.
const (
	EventDisavowed EventKind   = "signed_out_everywhere"
	AuditDisavowed AuditAction = "signed_out_everywhere"
)

// ErrDisavowLinkInvalid: the "This wasn't me" link is unknown, was already
// used, or has expired. They are not told apart.
var ErrDisavowLinkInvalid = errors.New("account: this link has expired or was already used")

// DefaultDisavowLinkTTL is how long a "This wasn't me" link works: long
// enough for an email read after a holiday.
const DefaultDisavowLinkTTL = 30 * 24 * time.Hour

// Disavowal is the "This wasn't me" link of one security email. Only the
// hash of its token is stored.
type Disavowal struct {
	ID        int64
	UserID    int64
	TokenHash string
	Kind      EventKind // the email it came in
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unused
	// PreviousPasswordHash is set on the link of a "password changed"
	// email: the hash that change replaced, which this link accepts too,
	// since the person who did not make the change knows only the old
	// password. Cleared when the link is used.
	PreviousPasswordHash string
}

// withoutDisavowLink lists the emails to a user that carry no link: they
// report no change to the account (someone tried to sign up or was
// invited with its address), or they are the outcome of a link.
// Every other email of the notifications map, and any later one, carries
// one (a test holds the list and the map together).
var withoutDisavowLink = map[EventKind]bool{
	EventSignUpAttempt:     true,
	EventInvitationAttempt: true,
	EventDisavowed:         true,
}

// disavowTTL is Policy.DisavowLinkTTL, or its default.
func (s *Service) disavowTTL() time.Duration {
	if s.policy.DisavowLinkTTL > 0 {
		return s.policy.DisavowLinkTTL
	}
	return DefaultDisavowLinkTTL
}

// offerDisavowal gives the security email n to u a "This wasn't me" link
// of its own, stored inside the use case's transaction (it commits with
// the email or not at all). previousHash is the password hash a password
// change replaced, for its email's link; "" otherwise.
func (s *Service) offerDisavowal(ctx context.Context, tx Tx, u *User, n *Notification, previousHash string) error {
	token, err := s.newToken()
	if err != nil {
		return err
	}
	now := s.now()
	d := &Disavowal{UserID: u.ID, TokenHash: hashToken(token), Kind: n.Kind, CreatedAt: now, ExpiresAt: now.Add(s.disavowTTL()), PreviousPasswordHash: previousHash}
	if err := tx.CreateDisavowal(ctx, d); err != nil {
		return fmt.Errorf("account: store this-wasn't-me link: %w", err)
	}
	which := "your password"
	if previousHash != "" {
		which = "your password (the one before this change works too)"
	}
	paragraph := fmt.Sprintf("This wasn't you? Open this link and type %s: it signs out every session of your account, forgets every remembered device and cancels any recovery of your account that is waiting. It signs nobody in, and works once, for %s:\n%s",
		which, DescribeDuration(s.disavowTTL()), s.disavowFor(token))
	// Before the When/From lines of the usual layout; at the end otherwise.
	if i := strings.Index(n.Body, "\n\nWhen: "); i >= 0 {
		n.Body = n.Body[:i] + "\n\n" + paragraph + n.Body[i:]
	} else {
		n.Body = strings.TrimRight(n.Body, "\n") + "\n\n" + paragraph + "\n"
	}
	return nil
}

// DisavowalNotice is what the "This wasn't me" page says about its link:
// which email it came in, and when that was sent.
type DisavowalNotice struct {
	Kind    EventKind
	Subject string // the email's subject
	SentAt  time.Time
}

// Disavowal returns what the link of token is about, changing nothing;
// ErrDisavowLinkInvalid when it is unknown, used or expired.
func (s *Service) Disavowal(ctx context.Context, token string) (*DisavowalNotice, error) {
	d, err := s.usableDisavowal(ctx, token)
	if err != nil {
		return nil, err
	}
	return noticeOf(d), nil
}

func noticeOf(d *Disavowal) *DisavowalNotice {
	subject := d.Kind.Describe()
	if msg, ok := notifications[d.Kind]; ok {
		subject = msg.subject
	}
	return &DisavowalNotice{Kind: d.Kind, Subject: subject, SentAt: d.CreatedAt}
}

func (s *Service) usableDisavowal(ctx context.Context, token string) (*Disavowal, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrDisavowLinkInvalid
	}
	d, err := s.store.DisavowalByTokenHash(ctx, hashToken(token))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrDisavowLinkInvalid
	case err != nil:
		return nil, fmt.Errorf("account: this-wasn't-me link: %w", err)
	case !d.UsedAt.IsZero() || !s.now().Before(d.ExpiresAt):
		return nil, ErrDisavowLinkInvalid
	}
	return d, nil
}

// DisavowResult is what a used link did.
type DisavowResult struct {
	Notice            *DisavowalNotice
	DevicesForgotten  int
	RecoveryCancelled bool
}

// Disavow carries out a "This wasn't me" link: with the password of the
// link's account (or, on a "password changed" email's link, the password
// that change replaced), it uses the link up and, in the same transaction,
// signs out every session of the account, forgets every remembered device,
// cancels a pending recovery, bumps the security version (a sign-in whose
// password was checked before cannot create a session after), records the
// event and an audit entry, and emails the user. It signs nobody in.
//
// The password is checked under the sign-in throttles (per account, per
// IP); a wrong one is recorded as a failed sign-in, returns
// ErrWrongPassword and leaves the link usable. Errors:
// ErrDisavowLinkInvalid (unknown, used, expired; and the loser of two
// concurrent uses), ValidationError (no password), ErrWrongPassword,
// *ThrottledError, ErrBusy.
func (s *Service) Disavow(ctx context.Context, token, pw string, c Client) (*DisavowResult, error) {
	d, err := s.usableDisavowal(ctx, token)
	if err != nil {
		return nil, err
	}
	if pw == "" {
		return nil, &ValidationError{Fields: map[string]string{"password": "Enter your password."}}
	}
	u, err := s.store.UserByID(ctx, d.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrDisavowLinkInvalid
	case err != nil:
		return nil, fmt.Errorf("account: this wasn't me: %w", err)
	}
	reserved, err := s.verifyPassword(ctx, u, pw, c, passwordCheck{
		what:   "this wasn't me link",
		limits: []AttemptLimit{s.passwordIPLimit(c.IP), s.passwordAccountLimit(u.Email)},
		or:     d.PreviousPasswordHash,
	})
	if err != nil {
		return nil, err
	}
	res := &DisavowResult{Notice: noticeOf(d)}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		res.DevicesForgotten, res.RecoveryCancelled = 0, false
		if err := releaseAttempts(ctx, tx, reserved); err != nil {
			return err
		}
		// The row count decides: of two uses of one link, one does it.
		used, err := tx.UseDisavowal(ctx, d.ID, u.ID, s.now())
		if err != nil {
			return fmt.Errorf("account: use this-wasn't-me link: %w", err)
		}
		if !used {
			return ErrDisavowLinkInvalid
		}
		if err := tx.DeleteUserSessions(ctx, u.ID, ""); err != nil {
			return fmt.Errorf("account: sign out everywhere: %w", err)
		}
		if res.DevicesForgotten, err = tx.ForgetDevices(ctx, u.ID); err != nil {
			return fmt.Errorf("account: forget remembered devices: %w", err)
		}
		// The recovery's own "cancelled" email is not sent: the link's says it.
		if res.RecoveryCancelled, err = s.cancelRecoveriesQuietly(ctx, tx, u, cancelledByDisavow, c); err != nil {
			return err
		}
		detail := fmt.Sprintf("from the email %q of %s UTC: every session signed out, %s forgotten",
			res.Notice.Subject, d.CreatedAt.UTC().Format("2 January 2006 15:04"), plural(res.DevicesForgotten, "remembered device"))
		if res.RecoveryCancelled {
			detail += ", the pending recovery cancelled"
		}
		if err := s.audit(ctx, tx, u, AuditDisavowed, u.Email, detail, c); err != nil {
			return err
		}
		return s.recordAndNotify(ctx, tx, u, EventDisavowed, detail, c)
	})
	if err != nil {
		s.giveBack(ctx, reserved)
		if errors.Is(err, ErrDisavowLinkInvalid) {
			return nil, err
		}
		return nil, fmt.Errorf("account: this wasn't me: %w", err)
	}
	return res, nil
}

// cancelledByDisavow names the "This wasn't me" link as what cancelled a
// recovery, for the record.
const cancelledByDisavow = "a \"This wasn't me\" link"
