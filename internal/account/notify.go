package account

import (
	"context"
	"fmt"
	"time"
)

// Notification is a security message to a user, queued in the outbox in the
// same database as the change it reports, so it is never silently dropped:
// a sender delivers it by email when SMTP is configured, and operators can
// always read it with `twofold outbox list`. A text message (ChannelSMS) is
// queued the same way and sent by the same worker, through Twilio when it
// is configured (Policy.TextMessages).
type Notification struct {
	ID        int64
	UserID    int64
	Recipient string
	Kind      EventKind
	Subject   string
	Body      string
	CreatedAt time.Time
	SentAt    time.Time // zero until delivered
	Attempts  int
	LastError string
	// LinkTokenHash is set on a sign-up link's message (written, never read
	// back): the hash of the link's token, by which finishing the sign-up
	// marks the message's LinkUsedAt in the same transaction.
	LinkTokenHash string
	// LinkUsedAt is when the message's sign-up link finished a sign-up;
	// zero while unused, and for every other message.
	LinkUsedAt time.Time
	// Channel is ChannelEmail unless set. For ChannelSMS, Recipient is the
	// E.164 number (User.MobilePhone) and Subject is empty.
	Channel Channel
}

// notifications says which events are mailed to the user, and how.
var notifications = map[EventKind]struct{ subject, body string }{
	EventTwoFactorEnabled: {
		"2 factor authentication is on",
		"2 factor authentication was turned on for your account. From now on, signing in asks for a code from your authenticator app.\n\nIf this wasn't you, sign in and change your password at once, and contact your administrator.",
	},
	EventTwoFactorDisabled: {
		"2 factor authentication is off",
		"2 factor authentication was turned off for your account. Signing in now needs only your password.\n\nIf this wasn't you, contact your administrator at once.",
	},
	EventTwoFactorReset: {
		"2 factor authentication was reset",
		"An administrator (or the server's operator) turned 2 factor authentication off for your account, and your sessions were ended. Sign in with your password and enable it again from My info.\n\nIf you did not ask for this, contact your administrator at once.",
	},
	EventBackupCodesGenerated: {
		"New backup codes were generated",
		"New backup codes were generated for your account; the earlier ones no longer work. Store the new ones somewhere safe.\n\nIf this wasn't you, sign in, change your password and generate new codes.",
	},
	EventBackupCodeUsed: {
		"A backup code was used to sign in",
		"A backup code was used to sign in to your account. Each code works once; generate new ones from My info when you run low.\n\nIf this wasn't you, someone has your password and a backup code: contact your administrator at once.",
	},
	EventPasswordChanged: {
		"Your password was changed",
		"The password of your account was changed, and every other session of it was signed out and every remembered device forgotten.\n\nIf this wasn't you, contact your administrator at once.",
	},
	EventSignUpAttempt: {
		"Someone tried to sign up with your email address",
		"Someone tried to create a new account with your email address, which already has an account. Nothing was changed.\n\nIf it was you, sign in instead. If not, you can ignore this message.",
	},
	EventInvitationAttempt: {
		"You were invited, and already have an account",
		"An administrator invited this email address to create an account, but it already has one: nothing was changed, and the invitation makes no new account.\n\nSign in as usual. Forgot your password? Ask your administrator.",
	},
	EventRecoveryCompleted: {
		"2 factor authentication was turned off by your recovery",
		"The recovery of your account, started after your phone was proved by a texted code, waited out its delay and was completed at a sign-in with your password: 2 factor authentication is off, every session was ended and every remembered device forgotten. Set it up again on your new phone from My info.\n\nIf this wasn't you, contact your administrator at once: someone has your password and your phone's text messages.",
	},
	EventRecoveryCancelled: {
		"The recovery of your account was cancelled",
		"The pending recovery of your account was cancelled, so 2 factor authentication stays as it was.\n\nIf you did not start the recovery, someone has your password: sign in and change it.",
	},
	EventDeviceRemembered: {
		"A new device was remembered",
		"A browser signed in to your account with your password and a code, and was remembered: it will not be asked for a code for a while. My info lists your remembered devices and lets you forget them.\n\nIf this wasn't you, sign in, change your password (which forgets every remembered device) and contact your administrator.",
	},
	EventDeviceTokenReused: {
		"A remembered device was forgotten for your safety",
		"Someone signed in to your account with your password and an old copy of a remembered device's token, one that a browser had already used. That means the token was copied from one of your browsers. The device was forgotten, and the sign-in was asked for a code.\n\nIf this wasn't you, change your password at once and contact your administrator.",
	},
	EventDisavowed: {
		"Your account was signed out everywhere",
		"Someone opened the \"This wasn't me\" link of a security email from us and typed your password: every session of your account was signed out, every remembered device forgotten, and any recovery of your account that was waiting was cancelled.\n\nChange your password now: sign in, open My info and choose Change password. If this wasn't you either, someone has your password and can read your email: contact your administrator at once.",
	},
	EventAuthenticatorSuspend: {
		"Your authenticator codes are suspended",
		"Too many wrong authenticator codes were entered for your account in a row, so codes from your authenticator app are no longer accepted. Whoever entered them knew your password.\n\nSign in with a backup code to lift the suspension, then change your password. No backup codes left? Ask your administrator to reset 2 factor authentication.",
	},
}

// notification is the message for kind to u, if kind is one users are told about.
func (s *Service) notification(u *User, kind EventKind, c Client) (*Notification, bool) {
	msg, ok := notifications[kind]
	if !ok {
		return nil, false
	}
	return &Notification{
		UserID: u.ID, Recipient: u.Email, Kind: kind, Subject: msg.subject, CreatedAt: s.now(),
		Body: fmt.Sprintf("Hello %s,\n\n%s\n\nWhen: %s UTC\nFrom IP address: %s\n\n— %s\n", u.Name, msg.body,
			s.now().UTC().Format("2 January 2006 15:04"), c.IP, s.policy.Issuer),
	}, true
}

// recordAndNotify appends the event to the activity log and queues the
// user's message, inside the use case's transaction.
func (s *Service) recordAndNotify(ctx context.Context, tx Tx, u *User, kind EventKind, detail string, c Client) error {
	if err := s.record(ctx, tx, u.ID, kind, detail, c); err != nil {
		return err
	}
	return s.notify(ctx, tx, u, kind, c)
}

// notify queues the user's message for kind (with its "This wasn't me"
// link), inside the use case's transaction, when kind is one users are
// told about.
func (s *Service) notify(ctx context.Context, tx Tx, u *User, kind EventKind, c Client) error {
	n, ok := s.notification(u, kind, c)
	if !ok {
		return nil
	}
	if !withoutDisavowLink[kind] {
		previous := "" // a password change's link also takes the password it replaced (u is as read before)
		if kind == EventPasswordChanged {
			previous = u.PasswordHash
		}
		if err := s.offerDisavowal(ctx, tx, u, n, previous); err != nil {
			return err
		}
	}
	if err := tx.AddNotification(ctx, n); err != nil {
		return fmt.Errorf("account: queue %s notification: %w", kind, err)
	}
	// Logged inside the transaction: a rollback after it is logged as the
	// use case's error.
	s.log.InfoContext(ctx, "notification queued", "user_id", u.ID, "kind", kind, "outbox_id", n.ID)
	return nil
}
