package account

import (
	"context"
	"time"
)

// Store is the persistence the account service needs. Implementations:
// internal/store/sqlite and internal/store/postgres, checked by the same
// conformance tests (internal/store/storetest).
//
// Every state-changing use case writes through exactly one InTx: its rows,
// its security event and its notification commit together or not at all
// (DESIGN convention 6). Outside InTx the Store offers only reads and the
// few writes that must commit on their own before anything is checked
// (ReserveAttempts: a throttle reservation has to be visible to parallel
// guesses before the guess is evaluated), plus the session touch and the
// cleanup job, which are a whole use case of one statement each.
//
// Why a transaction handle rather than one store method per use case: the
// rules (what is conditional on what, which event goes with which change)
// stay in this package, readable in one place per use case, and the stores
// only need small conditional statements whose row counts decide, each
// tested by the conformance suite. The handle offers only the methods that
// are safe inside a transaction, so a use case cannot commit half-way.
type Store interface {
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	// SessionByTokenHash returns the session with its account in one read:
	// Session.Profile is the user and their count of unused backup codes.
	SessionByTokenHash(ctx context.Context, tokenHash string) (*Session, error)
	PendingSignUpByTokenHash(ctx context.Context, tokenHash string) (*PendingSignUp, error)
	InvitationByTokenHash(ctx context.Context, tokenHash string) (*Invitation, error)
	// Invitations lists the newest invitations first, setup links included.
	Invitations(ctx context.Context, limit int) ([]*Invitation, error)
	// UserSummaries lists every account with its unused backup codes and
	// its last sign-in, for the administrators' Users page, oldest first.
	UserSummaries(ctx context.Context) ([]*UserSummary, error)
	// AuditLog lists the newest administrative actions first.
	AuditLog(ctx context.Context, limit int) ([]*AuditEntry, error)
	// Settings reads the server's settings.
	Settings(ctx context.Context) (Settings, error)
	// CountAdministrators counts the active administrators.
	CountAdministrators(ctx context.Context) (int, error)
	Events(ctx context.Context, userID int64, limit int) ([]*Event, error)
	// OpenHelpRequests lists the help requests no reset or administrator
	// has resolved, oldest first, with their account's email and name.
	OpenHelpRequests(ctx context.Context) ([]*HelpRequest, error)
	// LatestPhoneVerification returns the newest code texted to the user
	// for purpose.
	LatestPhoneVerification(ctx context.Context, userID int64, purpose string) (*PhoneVerification, error)
	// PendingRecovery returns the user's recovery that is neither
	// cancelled nor completed.
	PendingRecovery(ctx context.Context, userID int64) (*Recovery, error)
	// RecoveryByCancelToken returns the pending recovery of a cancel link.
	RecoveryByCancelToken(ctx context.Context, tokenHash string) (*Recovery, error)
	// DeviceByTokenHash returns the remembered device whose current token
	// hash is tokenHash or, with Stale set, one it replaced.
	DeviceByTokenHash(ctx context.Context, tokenHash string) (*Device, error)
	// Devices lists the user's remembered devices that expire after now,
	// the most recently used first.
	Devices(ctx context.Context, userID int64, now time.Time) ([]*Device, error)
	appStore  // protected apps (apps.go)
	oidcStore // the OpenID provider (oidc_store.go)
	// DisavowalByTokenHash returns the "This wasn't me" link whose token
	// hash is tokenHash, used or not.
	DisavowalByTokenHash(ctx context.Context, tokenHash string) (*Disavowal, error)

	// InTx runs fn in one write transaction: committed when fn returns nil,
	// rolled back when it returns an error (returned as is). fn must use
	// the ctx and tx it is given; a write started on the Store itself from
	// inside fn fails with an error instead of waiting for the transaction
	// it is part of.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error

	// ReserveAttempts records one attempt under every key of limits, all or
	// none, in one transaction of its own: only if each key has fewer than
	// its Limit attempts since now minus its Window. refused is the index
	// of the first key at its limit (-1 when all were recorded), and oldest
	// the time of that key's oldest attempt in its window (it ages out
	// first). Concurrent reservations, from any instance, never both see
	// room for one more.
	ReserveAttempts(ctx context.Context, now time.Time, limits []AttemptLimit) (ids []int64, refused int, oldest time.Time, err error)
	// TouchSession moves last_seen_at forward to now (never back).
	TouchSession(ctx context.Context, tokenHash string, now time.Time) error
	// DeleteExpired removes sessions expired by now or idle since
	// idleBefore, pending sign-ups and remembered devices expired by now, messages carrying sign-up
	// links queued before linksBefore (sent or not: the link no longer
	// works) and throttle attempts older than attemptsBefore, in batches.
	// Safe on every instance at once.
	DeleteExpired(ctx context.Context, now, idleBefore, linksBefore, attemptsBefore time.Time) error
}

// AttemptLimit is one throttle key and its rule: at most Limit attempts
// per Window.
type AttemptLimit struct {
	Kind   string // names the limit in metrics: never holds the key's email or IP
	Key    string
	Limit  int
	Window time.Duration
}

// Tx is the write side of the Store, valid only inside InTx. Every "use
// once" or "only if" rule is one conditional statement whose row count
// decides, so it holds against the same user's other requests and other
// instances; a decision the service made on an earlier read is re-checked
// with RequireSecurityVersion (or a condition of the write itself).
//
// Lock order: a use case writes (or requires) its user's row before it
// touches sessions, so that on PostgreSQL two use cases never wait for
// each other's row locks in a cycle.
type Tx interface {
	// CreateUser inserts u and sets u.ID; ErrEmailTaken if the email exists.
	CreateUser(ctx context.Context, u *User) error
	// RequireSecurityVersion fails with ErrStale unless the user's security
	// version is still version, and holds the user's row until commit so no
	// change that bumps it can commit in between (on PostgreSQL the row
	// lock an UPDATE takes; on SQLite the write transaction already
	// excludes every other).
	RequireSecurityVersion(ctx context.Context, userID, version int64) error
	// UpdateProfile sets the name and the mobile phone number that are not
	// nil, leaving the other as it is now (not as it was read: a concurrent
	// change of it stays). An empty number is written only while 2FA is off
	// (ErrTwoFactorEnabled otherwise); a changed number bumps the security
	// version.
	UpdateProfile(ctx context.Context, userID int64, name, mobilePhone *string) error
	// ChangePasswordHash sets a new password hash if the security version is
	// still version (ErrStale otherwise) and bumps it.
	ChangePasswordHash(ctx context.Context, userID, version int64, hash string) error
	// RehashPassword replaces the hash verified, and only that one, with an
	// equivalent hash of the same password: false when the hash changed
	// meanwhile (nothing is written). The security version stays.
	RehashPassword(ctx context.Context, userID int64, verified, hash string) (bool, error)

	// SetPendingTOTP stores a setup secret; ErrTwoFactorEnabled if 2FA is on.
	SetPendingTOTP(ctx context.Context, userID int64, secret SealedSecret) error
	// EnableTOTP turns the pending secret into the enabled one, with step as
	// its last used step, bumping the security version, if and only if 2FA
	// is still off, the pending secret is still pending and the account has
	// a mobile phone number (ErrConflict otherwise).
	EnableTOTP(ctx context.Context, userID int64, pending SealedSecret, step int64, now time.Time) error
	// AdvanceTOTPStep records step as used if it is later than the stored
	// one and the authenticator is not suspended: false means the code was
	// already used, the authenticator was suspended meanwhile, or 2FA is
	// off.
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
	// codes and any failure count or suspension, and bumps the security
	// version; ErrNotFound if there is no such user.
	DisableTOTP(ctx context.Context, userID int64) error

	// ReplaceBackupCodes deletes every backup code of the user and stores
	// the new keyed hashes, bumping the security version, only while 2FA is
	// on (ErrTwoFactorNotEnabled otherwise).
	ReplaceBackupCodes(ctx context.Context, userID int64, keyID string, hashes []string, now time.Time) error
	// UseBackupCode marks the code used if it exists and is unused: false
	// means no such unused code.
	UseBackupCode(ctx context.Context, userID int64, hash string, now time.Time) (bool, error)

	CreateSession(ctx context.Context, s *Session) error
	// ReplaceSession deletes the session oldHash and inserts next;
	// ErrNotFound if oldHash was already gone (so one pending session is
	// promoted at most once).
	ReplaceSession(ctx context.Context, oldHash string, next *Session) error
	// SetSessionAuthenticatedAt records a password check on the session;
	// ErrNotFound if the session is gone.
	SetSessionAuthenticatedAt(ctx context.Context, tokenHash string, at time.Time) error
	// HoldSession fails with ErrNotFound if the session is gone, and keeps
	// it from being deleted until commit: a change made on its authority
	// is not made by a session that was signed out meanwhile.
	HoldSession(ctx context.Context, tokenHash string) error
	// DeleteSession deletes the session and returns what it was;
	// ErrNotFound if there was none.
	DeleteSession(ctx context.Context, tokenHash string) (*Session, error)
	// DeleteUserSessions deletes every session of the user except keepHash.
	DeleteUserSessions(ctx context.Context, userID int64, keepHash string) error

	// ReleaseAttempt forgets a reserved attempt (it succeeded, or was not
	// evaluated).
	ReleaseAttempt(ctx context.Context, id int64) error

	// CreatePendingSignUp stores p and sets p.ID.
	CreatePendingSignUp(ctx context.Context, p *PendingSignUp) error
	// CompleteSignUp deletes the pending sign-up id if it expires after now
	// (ErrNotFound otherwise, so a link is used at most once), creates u
	// (ErrEmailTaken if the email has an account), deletes the email's
	// other pending sign-ups and marks the message that carried the link as
	// used (Notification.LinkUsedAt = now).
	CompleteSignUp(ctx context.Context, id int64, now time.Time, u *User) error
	// RecordSignUpFailure counts one wrong password against the pending
	// sign-up id and deletes it when the count reaches spentAt: spent is
	// true when it was deleted.
	RecordSignUpFailure(ctx context.Context, id int64, spentAt int) (spent bool, err error)

	// AddEvent appends e to the activity log and sets e.ID.
	AddEvent(ctx context.Context, e *Event) error
	// AddNotification queues n in the outbox and sets n.ID.
	AddNotification(ctx context.Context, n *Notification) error

	// CreateInvitation stores inv and sets inv.ID.
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// AcceptInvitation marks invitation id accepted at now, only while it
	// is neither accepted nor revoked and expires after now; ErrNotFound
	// otherwise (so one invitation makes one account, whoever races).
	AcceptInvitation(ctx context.Context, id int64, now time.Time) error
	// RevokeInvitation marks invitation id revoked at now, only while it
	// is neither accepted nor revoked; ErrNotFound otherwise.
	RevokeInvitation(ctx context.Context, id int64, now time.Time) error
	// SetRole gives user userID role and bumps their security version.
	SetRole(ctx context.Context, userID int64, role Role) error
	// SetDeactivated deactivates user userID at at (zero: reactivates) and
	// bumps their security version.
	SetDeactivated(ctx context.Context, userID int64, at time.Time) error
	// AddAudit records an administrative action and sets e.ID.
	AddAudit(ctx context.Context, e *AuditEntry) error
	// UpdateSettings writes next over the settings, only while they are
	// still was (their values as read); ErrStale otherwise.
	UpdateSettings(ctx context.Context, was, next Settings) error
	// CreateDevice stores a remembered device and sets d.ID.
	CreateDevice(ctx context.Context, d *Device) error
	// RotateDevice gives device id the token hash next, keeping oldHash
	// among its replaced ones, and records its use by c at now, only while oldHash
	// is still its token, it is still userID's and it expires after now:
	// false otherwise (forgotten, expired or rotated meanwhile), and
	// nothing is written. So one token is used at most once.
	RotateDevice(ctx context.Context, userID, id int64, oldHash, next string, now time.Time, c Client) (bool, error)
	// ForgetDevice deletes the user's device id; ErrNotFound when the user
	// has no such device.
	ForgetDevice(ctx context.Context, userID, id int64) error
	// ForgetDevices deletes every remembered device of the user and says
	// how many there were.
	ForgetDevices(ctx context.Context, userID int64) (int, error)

	// AddHelpRequest stores r (setting r.ID) unless the user has an open
	// one: false then, and nothing is written.
	AddHelpRequest(ctx context.Context, r *HelpRequest) (bool, error)
	// ResolveHelpRequests resolves the user's open help requests, by by.
	ResolveHelpRequests(ctx context.Context, userID int64, by string, now time.Time) (int, error)
	// CreatePhoneVerification stores v and sets v.ID.
	CreatePhoneVerification(ctx context.Context, v *PhoneVerification) error
	// FailPhoneVerification counts one wrong code against verification
	// id, only while it is unverified, has fewer than tries failures and
	// expires after now: false otherwise (nothing is written).
	FailPhoneVerification(ctx context.Context, id int64, tries int, now time.Time) (bool, error)
	// VerifyPhoneVerification marks verification id verified at now, under
	// the same conditions: false otherwise.
	VerifyPhoneVerification(ctx context.Context, id int64, tries int, now time.Time) (bool, error)
	// ConsumePhoneVerification uses up the user's newest verification for
	// purpose if it was verified after since and not used yet: false
	// otherwise. So one verification allows one reset, and a code sent
	// after it replaces it.
	ConsumePhoneVerification(ctx context.Context, userID int64, purpose string, since, now time.Time) (bool, error)

	// CreateRecovery stores r (setting r.ID) unless the user has a pending
	// recovery: false then, and nothing is written.
	CreateRecovery(ctx context.Context, r *Recovery) (bool, error)
	// CompleteRecovery marks recovery id completed at now, only while it is
	// pending and effective by now: false otherwise.
	CompleteRecovery(ctx context.Context, id int64, now time.Time) (bool, error)
	// CancelRecovery cancels recovery id, by by, only while it is pending.
	CancelRecovery(ctx context.Context, id int64, by string, now time.Time) (bool, error)
	// CancelRecoveries cancels the user's pending recovery and says how
	// many were cancelled.
	CancelRecoveries(ctx context.Context, userID int64, by string, now time.Time) (int, error)
	// CancelAllRecoveries cancels every pending recovery and returns the
	// users they were of.
	CancelAllRecoveries(ctx context.Context, by string, now time.Time) ([]int64, error)

	// CreateDisavowal stores a "This wasn't me" link and sets d.ID.
	CreateDisavowal(ctx context.Context, d *Disavowal) error
	// UseDisavowal marks link id used at now, only while it is userID's,
	// unused and expires after now, clearing its previous password hash,
	// and then bumps the user's security version; false otherwise, and
	// nothing is written. So one link is used at most once.
	UseDisavowal(ctx context.Context, id, userID int64, now time.Time) (bool, error)

	// LockAdministrators serializes, across instances, every transaction
	// that depends on who the administrators are (the first one, the
	// last one), until this one ends, and returns how many are active.
	LockAdministrators(ctx context.Context) (active int, err error)
	appTx  // protected apps (apps.go)
	oidcTx // the OpenID provider (oidc_store.go)
}
