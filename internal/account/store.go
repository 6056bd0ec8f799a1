package account

import (
	"context"
	"time"
)

// Store is the persistence the account service needs. Every method is one
// transaction; every "use once" rule is a single conditional write whose
// row count decides, so the rules hold under concurrency and across
// instances sharing one database. Implementations: internal/store/sqlite
// (and PostgreSQL later), checked by the same conformance tests.
type Store interface {
	// CreateUser inserts u and sets u.ID; ErrEmailTaken if the email exists.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	UpdateProfile(ctx context.Context, userID int64, name, mobilePhone string) error
	UpdatePasswordHash(ctx context.Context, userID int64, hash string) error

	// SetPendingTOTP stores a setup secret; ErrTwoFactorEnabled if 2FA is on.
	SetPendingTOTP(ctx context.Context, userID int64, secret SealedSecret) error
	// EnableTOTP turns the pending secret into the enabled one, with step as
	// its last used step, if and only if 2FA is still off and the pending
	// secret is still pending (ErrConflict otherwise).
	EnableTOTP(ctx context.Context, userID int64, pending SealedSecret, step int64, now time.Time) error
	// AdvanceTOTPStep records step as used if it is later than the stored
	// one: false means the code was already used (or 2FA is off).
	AdvanceTOTPStep(ctx context.Context, userID int64, step int64) (bool, error)
	// RecordSecondFactorFailure adds one to the user's consecutive failures
	// and, when they reach suspendAfter, suspends the authenticator, in one
	// conditional write: suspended is true for exactly the one call that
	// suspended it.
	RecordSecondFactorFailure(ctx context.Context, userID int64, suspendAfter int, now time.Time) (failures int, suspended bool, err error)
	// ClearSecondFactorFailures sets the failures to zero; with unsuspend it
	// also lifts a suspension (a backup code was used).
	ClearSecondFactorFailures(ctx context.Context, userID int64, unsuspend bool) error
	// DisableTOTP removes the authenticator, any pending secret, all backup
	// codes and any failure count or suspension.
	DisableTOTP(ctx context.Context, userID int64) error

	// ReplaceBackupCodes deletes every backup code of the user and stores
	// the new keyed hashes, in one transaction.
	ReplaceBackupCodes(ctx context.Context, userID int64, keyID string, hashes []string, now time.Time) error
	// UseBackupCode marks the code used if it exists and is unused: false
	// means no such unused code.
	UseBackupCode(ctx context.Context, userID int64, hash string, now time.Time) (bool, error)
	CountBackupCodes(ctx context.Context, userID int64) (int, error)

	CreateSession(ctx context.Context, s *Session) error
	SessionByTokenHash(ctx context.Context, tokenHash string) (*Session, error)
	// ReplaceSession deletes the session oldHash and inserts next in one
	// transaction; ErrNotFound if oldHash was already gone (so one pending
	// session is promoted at most once).
	ReplaceSession(ctx context.Context, oldHash string, next *Session) error
	TouchSession(ctx context.Context, tokenHash string, now time.Time) error
	SetSessionAuthenticatedAt(ctx context.Context, tokenHash string, at time.Time) error
	DeleteSession(ctx context.Context, tokenHash string) error
	// DeleteUserSessions deletes every session of the user except keepHash.
	DeleteUserSessions(ctx context.Context, userID int64, keepHash string) error

	// ReserveAttempt records one attempt under key if fewer than limit were
	// recorded since windowStart, atomically. When refused, oldest is the
	// time of the oldest attempt in the window (it ages out first).
	ReserveAttempt(ctx context.Context, key string, now, windowStart time.Time, limit int) (id int64, ok bool, oldest time.Time, err error)
	// ReleaseAttempt forgets a reserved attempt (it succeeded).
	ReleaseAttempt(ctx context.Context, id int64) error

	// CreatePendingSignUp stores p (setting p.ID) and queues n, the message
	// carrying its link, in one transaction.
	CreatePendingSignUp(ctx context.Context, p *PendingSignUp, n *Notification) error
	// PendingSignUpByTokenHash returns the pending sign-up or ErrNotFound.
	PendingSignUpByTokenHash(ctx context.Context, tokenHash string) (*PendingSignUp, error)
	// CompleteSignUp, in one transaction, deletes the pending sign-up id if
	// it expires after now (ErrNotFound otherwise, so a link is used at most
	// once), creates u (ErrEmailTaken if the email has an account), deletes
	// the email's other pending sign-ups and creates sess for u.
	CompleteSignUp(ctx context.Context, id int64, now time.Time, u *User, sess *Session) error
	// RecordSignUpFailure counts one wrong password against the pending
	// sign-up id and deletes it when the count reaches spentAt, in one
	// transaction: spent is true when it was deleted.
	RecordSignUpFailure(ctx context.Context, id int64, spentAt int) (spent bool, err error)
	// AddEventAndNotification appends e to the activity log and queues n in
	// one transaction.
	AddEventAndNotification(ctx context.Context, e *Event, n *Notification) error

	// AddNotification queues a message for the user in the outbox.
	AddNotification(ctx context.Context, n *Notification) error

	AddEvent(ctx context.Context, e *Event) error
	Events(ctx context.Context, userID int64, limit int) ([]*Event, error)

	// DeleteExpired removes sessions expired by now or idle since
	// idleBefore, pending sign-ups expired by now, messages carrying sign-up
	// links queued before linksBefore (sent or not: the link no longer
	// works) and throttle attempts older than attemptsBefore. Safe on every
	// instance at once.
	DeleteExpired(ctx context.Context, now, idleBefore, linksBefore, attemptsBefore time.Time) error
}
