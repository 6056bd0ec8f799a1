// Package account is the domain of twofold: users, the sign-in state machine
// (password, then second factor), TOTP enrollment, backup codes, sessions,
// throttling and the security activity log. It owns every security rule, so
// the web pages and the JSON API cannot disagree; it knows nothing of HTTP
// and reaches the database only through the Store interface declared here.
package account

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// User is an account as the rest of the service sees it. Secrets stay sealed.
type User struct {
	ID           int64
	Email        string // lower-case, unique
	Name         string
	MobilePhone  string // E.164, or "" when not set
	PasswordHash string // argon2id PHC string
	CreatedAt    time.Time
	// SecurityVersion is bumped, in the same transaction, by every change
	// that must end other sessions or invalidate what a request in flight
	// read (password, 2FA on or off, backup codes, phone number). A sign-in
	// or a change decided on a read of version v is written only while the
	// version is still v (Tx.RequireSecurityVersion).
	SecurityVersion int64
	// Role is RoleMember or RoleAdmin; administrators are members too.
	Role Role
	// DeactivatedAt is when an administrator deactivated the account; zero
	// while it is active.
	DeactivatedAt time.Time

	// TOTP is the enabled authenticator; nil while 2FA is off.
	TOTP *TOTPState
	// PendingTOTP is a secret shown on the setup page but not yet proven by a
	// code; it never counts for sign-in.
	PendingTOTP *SealedSecret
}

// TwoFactorEnabled reports whether sign-in asks for a second factor.
func (u *User) TwoFactorEnabled() bool { return u.TOTP != nil }

// SealedSecret is a TOTP secret encrypted with the server key named KeyID.
type SealedSecret struct {
	KeyID      string
	Ciphertext []byte
}

// TOTPState is an enabled authenticator.
type TOTPState struct {
	Secret    SealedSecret
	LastStep  int64 // last accepted time step; codes at or before it are refused
	EnabledAt time.Time
	// Failures counts wrong second-factor codes since the last right one.
	Failures int
	// SuspendedAt is set when Failures reached Policy.SuspendAfter: from then
	// on authenticator codes are refused until a backup code is used or an
	// operator resets 2FA. Zero while not suspended.
	SuspendedAt time.Time
}

// Suspended reports whether authenticator codes are refused for now.
func (t *TOTPState) Suspended() bool { return !t.SuspendedAt.IsZero() }

// Profile is what the My info page and GET /api/v1/me show.
type Profile struct {
	User                 *User
	BackupCodesRemaining int
	// BackupCodesGenerated is set while 2FA is on and a set of backup codes
	// exists, used or not: no codes remaining then means all were used,
	// and without it none were ever generated since 2FA was enabled.
	BackupCodesGenerated bool
	// Settings are the server's, read with the session.
	Settings Settings
}

// Stage is how far a session has come through sign-in.
type Stage string

const (
	// StageSecondFactor: the password was right, the code step is pending.
	// Such a session reaches nothing but the code step and sign-out.
	StageSecondFactor Stage = "two_factor_required"
	// StageComplete: fully signed in.
	StageComplete Stage = "authenticated"
)

// Session is a server-side session. Its token is only ever held by the
// client; the store keeps TokenHash.
type Session struct {
	TokenHash       string
	UserID          int64
	Stage           Stage
	CreatedAt       time.Time
	LastSeenAt      time.Time
	AuthenticatedAt time.Time // last time the password was checked
	ExpiresAt       time.Time // absolute limit (pending: the 5-minute window)
	IP              string
	UserAgent       string
	// SecondFactor says how the second factor of this sign-in was
	// satisfied: SecondFactorTOTP, SecondFactorBackupCode,
	// SecondFactorDevice, or "" (none: 2FA off, or not yet).
	SecondFactor string

	// Profile is the account the session belongs to, read with it in one
	// query (Store.SessionByTokenHash), so an authenticated request needs
	// no second read.
	Profile *Profile
}

// Client describes who is making a request, for throttling and the activity log.
type Client struct {
	IP        string
	UserAgent string
}

// EventKind names an entry of the security activity log. The strings are
// part of the API contract (GET /api/v1/me/events).
type EventKind string

const (
	EventSignIn               EventKind = "sign_in"
	EventSignInFailed         EventKind = "sign_in_failed"
	EventSecondFactorFailed   EventKind = "two_factor_failed"
	EventThrottled            EventKind = "throttled"
	EventTwoFactorEnabled     EventKind = "two_factor_enabled"
	EventTwoFactorDisabled    EventKind = "two_factor_disabled"
	EventTwoFactorReset       EventKind = "two_factor_reset"
	EventBackupCodesGenerated EventKind = "backup_codes_generated"
	EventBackupCodeUsed       EventKind = "backup_code_used"
	EventSignOut              EventKind = "sign_out"
	EventProfileUpdated       EventKind = "profile_updated"
	EventSignUp               EventKind = "sign_up"
	EventAuthenticatorSuspend EventKind = "authenticator_suspended"
	EventSignUpAttempt        EventKind = "sign_up_attempt"
	EventPasswordChanged      EventKind = "password_changed"
	EventInvitationSent       EventKind = "invitation_sent"
	EventInvitationAttempt    EventKind = "invitation_attempt"
	EventRoleChanged          EventKind = "role_changed"
	EventDeactivated          EventKind = "account_deactivated"
	EventReactivated          EventKind = "account_reactivated"
	EventSettingsChanged      EventKind = "settings_changed"
	EventTwoFactorRequired    EventKind = "two_factor_required"
	EventDeviceRemembered     EventKind = "device_remembered"
	EventDeviceForgotten      EventKind = "device_forgotten"
	EventDeviceTokenReused    EventKind = "device_token_reused"
	// An app's refresh token came back after it had been exchanged (a
	// copy): the app's sign-in was revoked. Detail is the client id.
	EventOIDCTokenReused       EventKind = "app_token_reused"
	EventHelpRequested         EventKind = "help_requested"
	EventPhoneVerificationSent EventKind = "phone_verification_sent"
	EventPhoneVerified         EventKind = "phone_verified"
	EventRecoveryCodeSent      EventKind = "recovery_code_sent"
	EventRecoveryStarted       EventKind = "recovery_started"
	EventRecoveryCancelled     EventKind = "recovery_cancelled"
	EventRecoveryCompleted     EventKind = "recovery_completed"
)

// Describe is the sentence shown for the event on the My info page.
func (k EventKind) Describe() string {
	switch k {
	case EventSignIn:
		return "Signed in"
	case EventSignInFailed:
		return "Failed sign-in (wrong password)"
	case EventSecondFactorFailed:
		return "Wrong 2FA code entered"
	case EventThrottled:
		return "Too many attempts: sign-in paused"
	case EventTwoFactorEnabled:
		return "2 factor authentication enabled"
	case EventTwoFactorDisabled:
		return "2 factor authentication disabled"
	case EventTwoFactorReset:
		return "2 factor authentication reset by an administrator"
	case EventBackupCodesGenerated:
		return "New backup codes generated"
	case EventBackupCodeUsed:
		return "Backup code used to sign in"
	case EventSignOut:
		return "Signed out"
	case EventProfileUpdated:
		return "Profile updated"
	case EventSignUp:
		return "Account created"
	case EventSignUpAttempt:
		return "Someone tried to create a new account with this email"
	case EventPasswordChanged:
		return "Password changed"
	case EventAuthenticatorSuspend:
		return "Authenticator codes suspended after too many wrong codes"
	case EventInvitationSent:
		return "Invitation sent"
	case EventInvitationAttempt:
		return "An administrator invited this email, which already has this account"
	case EventRoleChanged:
		return "Role changed by an administrator"
	case EventDeactivated:
		return "Account deactivated by an administrator"
	case EventReactivated:
		return "Account reactivated by an administrator"
	case EventSettingsChanged:
		return "Server settings changed"
	case EventTwoFactorRequired:
		return "2 factor authentication required for all users"
	case EventDeviceRemembered:
		return "Device remembered: it skips the code for a while"
	case EventDeviceForgotten:
		return "Remembered device forgotten"
	case EventHelpRequested:
		return "Asked an administrator for help: lost phone"
	case EventPhoneVerificationSent:
		return "Verification code texted to the mobile number"
	case EventPhoneVerified:
		return "Mobile number verified by an administrator"
	case EventRecoveryCodeSent:
		return "Recovery code texted to the mobile number"
	case EventRecoveryStarted:
		return "Recovery started: 2FA will be reset after the waiting period"
	case EventRecoveryCancelled:
		return "Recovery cancelled"
	case EventRecoveryCompleted:
		return "Recovery completed: 2 factor authentication was turned off"
	case EventDisavowed:
		return "\"This wasn't me\": every session signed out, every remembered device forgotten"
	case EventDeviceTokenReused:
		return "An old copy of a remembered device's token was used: the device was forgotten"
	case EventOIDCTokenReused:
		return "An app's old refresh token was used again: that app's sign-in was ended"
	}
	return string(k)
}

// Event is one entry of the security activity log.
type Event struct {
	ID        int64
	UserID    int64
	Kind      EventKind
	Detail    string
	IP        string
	UserAgent string
	CreatedAt time.Time
}

// Errors the service returns. The web and API layers map them to messages
// and status codes in one place each.
var (
	ErrNotFound             = errors.New("account: not found")
	ErrEmailTaken           = errors.New("account: an account with this email already exists")
	ErrInvalidCredentials   = errors.New("account: wrong email or password")
	ErrWrongPassword        = errors.New("account: wrong password")
	ErrInvalidCode          = errors.New("account: wrong or already used code")
	ErrUnauthenticated      = errors.New("account: not signed in")
	ErrSecondFactorRequired = errors.New("account: the second sign-in step is not done")
	ErrPendingExpired       = errors.New("account: the sign-in took too long; start again")
	ErrPhoneRequired        = errors.New("account: a mobile phone number is required for 2 factor authentication")
	ErrTwoFactorEnabled     = errors.New("account: 2 factor authentication is already enabled")
	ErrTwoFactorNotEnabled  = errors.New("account: 2 factor authentication is not enabled")
	ErrNoPendingSetup       = errors.New("account: start the 2 factor authentication setup first")
	ErrReauthRequired       = errors.New("account: confirm your password to continue")
	ErrBusy                 = errors.New("account: too many sign-ins in progress; try again shortly")
	ErrConflict             = errors.New("account: changed concurrently")
	// ErrStale: a decision made on a read no longer holds where it is
	// written (Tx.RequireSecurityVersion, Tx.ChangePasswordHash).
	ErrStale                  = errors.New("account: the account changed since it was read")
	ErrSessionAlreadyAdvanced = errors.New("account: session already used")
	ErrInvitationInvalid      = errors.New("account: this invitation has expired, was already used or was withdrawn")
	ErrInvitationNotFound     = errors.New("account: no pending invitation with this id")
	ErrDeviceNotFound         = errors.New("account: no remembered device with this id")
	ErrSignUpDisabled         = errors.New("account: accounts are by invitation")
	ErrForbidden              = errors.New("account: only administrators may do this")
	ErrAccountDeactivated     = errors.New("account: this account is deactivated")
	// ErrEnrollmentRequired: 2FA is required, its grace period is over and
	// the account has not enabled it: only enrolling is allowed.
	ErrEnrollmentRequired = errors.New("account: 2 factor authentication is required: enable it first")
	// ErrTwoFactorRequiredByPolicy: 2FA cannot be turned off while it is
	// required for all users.
	ErrTwoFactorRequiredByPolicy = errors.New("account: 2 factor authentication is required for all users")
	ErrLastAdministrator         = errors.New("account: the last active administrator cannot be demoted or deactivated")
	ErrSignUpLinkInvalid         = errors.New("account: this sign-up link has expired or was already used; sign up again")
	// ErrAuthenticatorSuspended: too many wrong codes in a row; only a backup
	// code (or an operator's reset) gets the user in now.
	ErrAuthenticatorSuspended = errors.New("account: authenticator codes are suspended after too many wrong codes; use a backup code")
)

// ThrottledError means too many failures were counted for a key; nothing is
// evaluated until RetryAfter has passed.
type ThrottledError struct {
	RetryAfter time.Duration
	key        string // the throttle key at its limit
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("account: too many attempts; try again in %s", e.RetryAfter.Round(time.Second))
}

// ValidationError lists problems with input, by field name (the JSON member
// or form field name), each with a message written for the person typing.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return "account: invalid input: " + strings.Join(parts, "; ")
}

func (e *ValidationError) add(field, msg string) {
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = msg
	}
}

func (e *ValidationError) orNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}
