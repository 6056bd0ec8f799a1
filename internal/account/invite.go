package account

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Role says what an account may do beyond its own My info.
type Role string

// The roles. Every account is a member; administrators also manage the
// other accounts and the settings.
const (
	RoleMember Role = "member"
	RoleAdmin  Role = "admin"
)

// ParseRole reads a role as the API and the CLI spell it.
func ParseRole(s string) (Role, bool) {
	switch Role(s) {
	case RoleMember, RoleAdmin:
		return Role(s), true
	}
	return "", false
}

// IsAdmin reports whether u is an active administrator.
func (u *User) IsAdmin() bool { return u.Role == RoleAdmin && u.DeactivatedAt.IsZero() }

// UserSummary is an account as the administrators' Users page shows it.
type UserSummary struct {
	User                 *User
	BackupCodesRemaining int       // 0 while 2FA is off
	LastSignInAt         time.Time // zero when never signed in
	TwoFactorStatus      TwoFactorStatus
	Deadline             time.Time // while in grace or overdue
}

// Invitation is a single-use link that makes one account with Role. A
// setup link (Email "") makes the first administrator, and the person who
// opens it chooses the email; any other invitation fixes the email.
type Invitation struct {
	ID        int64
	TokenHash string
	Email     string // "" for a setup link
	Role      Role
	InvitedBy int64 // 0 when made by the operator (CLI) or at first start
	CreatedAt time.Time
	ExpiresAt time.Time
	// AcceptedAt and RevokedAt are zero until the invitation is used or
	// withdrawn.
	AcceptedAt time.Time
	RevokedAt  time.Time
}

// IsSetupLink reports whether the invitation makes the first administrator.
func (inv *Invitation) IsSetupLink() bool { return inv.Email == "" }

// Usable reports whether the invitation can still make its account at now.
func (inv *Invitation) Usable(now time.Time) bool {
	return inv.AcceptedAt.IsZero() && inv.RevokedAt.IsZero() && now.Before(inv.ExpiresAt)
}

// InvitationLink is the address of an invitation's token.
func (s *Service) InvitationLink(token string) string { return s.inviteFor(token) }

// CreateSetupLink makes the first administrator's setup link when there is
// no active administrator, and returns its address; "" when there is one
// already. serve calls it at each start, so a lost link is replaced by
// restarting; each works once, for Policy.SetupLinkTTL, and only while no
// administrator exists.
func (s *Service) CreateSetupLink(ctx context.Context) (string, error) {
	n, err := s.store.CountAdministrators(ctx)
	if err != nil {
		return "", fmt.Errorf("account: setup link: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	token, err := s.newToken()
	if err != nil {
		return "", err
	}
	now := s.now()
	inv := &Invitation{TokenHash: hashToken(token), Role: RoleAdmin, CreatedAt: now, ExpiresAt: now.Add(s.policy.SetupLinkTTL)}
	if err := s.write(ctx, func(ctx context.Context, tx Tx) error { return tx.CreateInvitation(ctx, inv) }); err != nil {
		return "", fmt.Errorf("account: setup link: %w", err)
	}
	return s.inviteFor(token), nil
}

// InviteInput is an invitation to make.
type InviteInput struct {
	Email string
	Role  Role
}

// Invite makes an invitation for in.Email with in.Role, mails its link
// and returns it with the link, for an administrator to copy when there is
// no mail server. by is the inviting administrator's session, or nil for
// the operator at the command line. When the email already has an account
// its owner is told instead and the link makes nothing, but the answer is
// the same, so an invitation never tells whether an account exists.
func (s *Service) Invite(ctx context.Context, by *Session, in InviteInput, c Client) (*Invitation, string, error) {
	return s.invite(ctx, by, in, 0, c)
}

// ResendInvitation replaces pending invitation id with a new one to the
// same email and role, mailed again: only a hash of a link is kept, so the
// old link cannot be sent twice. The old link stops working in the same
// transaction.
func (s *Service) ResendInvitation(ctx context.Context, by *Session, id int64, c Client) (*Invitation, string, error) {
	if _, err := s.requireAdmin(ctx, by); err != nil {
		return nil, "", err
	}
	inv, err := s.pendingInvitation(ctx, id)
	if err != nil {
		return nil, "", err
	}
	return s.invite(ctx, by, InviteInput{Email: inv.Email, Role: inv.Role}, id, c)
}

// pendingInvitation finds invitation id among the pending ones;
// ErrInvitationNotFound when it is not (any longer) pending.
func (s *Service) pendingInvitation(ctx context.Context, id int64) (*Invitation, error) {
	list, err := s.store.Invitations(ctx, 500)
	if err != nil {
		return nil, fmt.Errorf("account: invitation %d: %w", id, err)
	}
	for _, inv := range list {
		if inv.ID == id && !inv.IsSetupLink() && inv.Usable(s.now()) {
			return inv, nil
		}
	}
	return nil, ErrInvitationNotFound
}

// invite is Invite; replaces, when not 0, is a pending invitation that the
// new one replaces (withdrawn in the same transaction).
func (s *Service) invite(ctx context.Context, by *Session, in InviteInput, replaces int64, c Client) (*Invitation, string, error) {
	var inviter *User
	if by != nil {
		admin, err := s.requireAdmin(ctx, by)
		if err != nil {
			return nil, "", err
		}
		inviter = admin
	}
	var verr ValidationError
	email, msg := NormalizeEmail(in.Email)
	if msg != "" {
		verr.add("email", msg)
	}
	if _, ok := ParseRole(string(in.Role)); !ok {
		verr.add("role", "Choose member or admin.")
	}
	if err := verr.orNil(); err != nil {
		return nil, "", err
	}
	owner, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, "", fmt.Errorf("account: invite: %w", err)
	}
	token, err := s.newToken()
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	inv := &Invitation{TokenHash: hashToken(token), Email: email, Role: in.Role, CreatedAt: now, ExpiresAt: now.Add(s.policy.InvitationTTL)}
	from := "The operator of " + s.policy.Issuer
	if inviter != nil {
		inv.InvitedBy = inviter.ID
		from = inviter.Name + " (" + inviter.Email + ")"
	}
	link := s.inviteFor(token)
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if inviter != nil {
			if err := s.stillAdmin(ctx, tx, inviter, by); err != nil {
				return err
			}
		}
		if replaces != 0 {
			if err := tx.RevokeInvitation(ctx, replaces, now); err != nil {
				if errors.Is(err, ErrNotFound) {
					return errNoSuchInvitation // accepted or withdrawn meanwhile
				}
				return err
			}
		}
		if err := tx.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		if inviter != nil {
			if err := s.record(ctx, tx, inviter.ID, EventInvitationSent, string(in.Role)+" "+email, c); err != nil {
				return err
			}
		}
		detail := "as " + string(in.Role)
		if replaces != 0 {
			detail += fmt.Sprintf(", again (replaces invitation %d)", replaces)
		}
		if err := s.audit(ctx, tx, inviter, AuditInvite, email, detail, c); err != nil {
			return err
		}
		if owner != nil {
			return s.recordAndNotify(ctx, tx, owner, EventInvitationAttempt, "", c)
		}
		return tx.AddNotification(ctx, &Notification{
			Recipient: email, Kind: NotificationInvitation, CreatedAt: now, LinkTokenHash: inv.TokenHash,
			Subject: "You are invited to " + s.policy.Issuer,
			Body: fmt.Sprintf("Hello,\n\n%s invited you to create an account on %s. Open this link within %s, choose your name and a password, and you are signed in:\n\n%s\n\nThe link works once. If you did not expect this, ignore this message.\n\n— %s\n",
				from, s.policy.Issuer, DescribeDuration(s.policy.InvitationTTL), link, s.policy.Issuer),
		})
	})
	if errors.Is(err, errNoSuchInvitation) {
		return nil, "", ErrInvitationNotFound
	}
	if err != nil {
		return nil, "", s.fault(ctx, "invite", err, nil)
	}
	return inv, link, nil
}

// errNoSuchInvitation tells a missing invitation from a missing account
// inside RevokeInvitation's transaction.
var errNoSuchInvitation = errors.New("account: no usable invitation with this id")

// NotificationInvitation is the outbox kind of the message that carries an
// invitation's link.
const NotificationInvitation EventKind = "invitation"

// requireAdmin returns the session's account, read afresh, when it is an
// active administrator who confirmed their password recently.
func (s *Service) requireAdmin(ctx context.Context, sess *Session) (*User, error) {
	if sess.Stage != StageComplete {
		return nil, ErrSecondFactorRequired
	}
	u, err := s.userOf(ctx, sess)
	if err != nil {
		return nil, err
	}
	if !u.IsAdmin() {
		return nil, ErrForbidden
	}
	if sess.Profile != nil && sess.Profile.Settings.RequireTwoFactor && !u.TwoFactorEnabled() {
		// While 2FA is required, administrators act only with it on.
		return nil, ErrEnrollmentRequired
	}
	if err := s.requireRecentAuth(sess); err != nil {
		return nil, err
	}
	return u, nil
}

// InvitationByToken returns the invitation of a link, usable now, for the
// page that accepts it; ErrInvitationInvalid otherwise.
func (s *Service) InvitationByToken(ctx context.Context, token string) (*Invitation, error) {
	if token == "" {
		return nil, ErrInvitationInvalid
	}
	inv, err := s.store.InvitationByTokenHash(ctx, hashToken(token))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvitationInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("account: invitation: %w", err)
	}
	if !inv.Usable(s.now()) {
		return nil, ErrInvitationInvalid
	}
	return inv, nil
}

// AcceptInput accepts an invitation. Email is asked only by a setup link;
// an invitation's email is the invited one.
type AcceptInput struct {
	Token         string
	Email         string
	Name          string
	Password      string
	PreviousToken string
}

// AcceptInvitation makes the invited account, signed in, and returns it with
// its session token. The invitation is used in the same transaction as the
// account is made (one invitation, one account, whoever races); a setup
// link makes an account only while there is no administrator (checked
// under LockAdministrators, so two setup links accepted at once make one).
func (s *Service) AcceptInvitation(ctx context.Context, in AcceptInput, c Client) (*User, string, error) {
	inv, err := s.InvitationByToken(ctx, in.Token)
	if err != nil {
		return nil, "", err
	}
	var verr ValidationError
	email := inv.Email
	if inv.IsSetupLink() {
		var msg string
		if email, msg = NormalizeEmail(in.Email); msg != "" {
			verr.add("email", msg)
		}
	}
	name, msg := normalizeName(in.Name)
	if msg != "" {
		verr.add("name", msg)
	}
	if msg := passwordProblem(in.Password); msg != "" {
		verr.add("password", msg)
	}
	if err := verr.orNil(); err != nil {
		return nil, "", err
	}
	if s.hasher.Saturated() {
		return nil, "", ErrBusy
	}
	// Links are 256-bit: the limit is for a client hashing passwords at us,
	// so a link that makes its account gives its attempt back (a practice
	// behind one address can bring in all its staff in an hour).
	reserved, err := s.reserve(ctx, AttemptLimit{Kind: "signup_ip", Key: "signup:ip:" + ipKey(c.IP), Limit: s.policy.SignUpAttempts, Window: s.policy.SignUpWindow})
	if err != nil {
		return nil, "", err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		s.giveBack(ctx, reserved)
		return nil, "", mapHasherErr(err)
	}
	now := s.now()
	u := &User{Email: email, Name: name, PasswordHash: hash, CreatedAt: now, Role: inv.Role}
	token, sess, err := s.newSession(0, StageComplete, c)
	if err != nil {
		return nil, "", err
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if inv.IsSetupLink() {
			switch admins, err := tx.LockAdministrators(ctx); {
			case err != nil:
				return err
			case admins > 0:
				return ErrInvitationInvalid
			}
		}
		if err := tx.AcceptInvitation(ctx, inv.ID, now); err != nil {
			if errors.Is(err, ErrNotFound) {
				return ErrInvitationInvalid
			}
			return err
		}
		if err := releaseAttempts(ctx, tx, reserved); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		sess.UserID = u.ID
		if err := tx.CreateSession(ctx, sess); err != nil {
			return fmt.Errorf("account: create session: %w", err)
		}
		if in.PreviousToken != "" {
			if _, err := tx.DeleteSession(ctx, hashToken(in.PreviousToken)); err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("account: end previous session: %w", err)
			}
		}
		return s.record(ctx, tx, u.ID, EventSignUp, "invited as "+string(inv.Role), c)
	})
	switch {
	case errors.Is(err, ErrInvitationInvalid):
		return nil, "", ErrInvitationInvalid
	case errors.Is(err, ErrEmailTaken) && inv.IsSetupLink():
		return nil, "", &ValidationError{Fields: map[string]string{"email": "An account with this email exists already: choose another email for the administrator."}}
	case errors.Is(err, ErrEmailTaken):
		// Invited, but the email has an account (its owner was told when
		// the invitation was made): the invitation makes nothing.
		return nil, "", ErrInvitationInvalid
	case err != nil:
		return nil, "", fmt.Errorf("account: accept invitation: %w", err)
	}
	return u, token, nil
}

// Invitations lists the newest invitations, for administrators.
func (s *Service) Invitations(ctx context.Context, by *Session) ([]*Invitation, error) {
	if _, err := s.requireAdmin(ctx, by); err != nil {
		return nil, err
	}
	return s.store.Invitations(ctx, 200)
}

// RevokeInvitation withdraws invitation id, for administrators;
// ErrInvitationNotFound when there is no such pending invitation (it was
// accepted, withdrawn or expired meanwhile).
func (s *Service) RevokeInvitation(ctx context.Context, by *Session, id int64, c Client) error {
	admin, err := s.requireAdmin(ctx, by)
	if err != nil {
		return err
	}
	inv, err := s.pendingInvitation(ctx, id)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillAdmin(ctx, tx, admin, by); err != nil {
			return err
		}
		if err := tx.RevokeInvitation(ctx, id, s.now()); err != nil {
			if errors.Is(err, ErrNotFound) {
				return errNoSuchInvitation
			}
			return err
		}
		return s.audit(ctx, tx, admin, AuditRevoke, inv.Email, fmt.Sprintf("invitation %d", id), c)
	})
	if errors.Is(err, errNoSuchInvitation) {
		return ErrInvitationNotFound
	}
	if err != nil {
		return s.fault(ctx, "revoke invitation", err, nil)
	}
	return nil
}

// stillAdmin re-checks, where an administrator's action is written, what
// requireAdmin read: the account is unchanged (a role change or a
// deactivation bumps its security version) and the session still exists.
func (s *Service) stillAdmin(ctx context.Context, tx Tx, admin *User, by *Session) error {
	return s.stillAdminOver(ctx, tx, admin, admin, by)
}
