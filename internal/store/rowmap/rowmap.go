// Package rowmap is the one mapping between the tables both stores share
// (users, sessions, security_events, outbox) and the account types: the
// column lists and the scans. The SQLite and PostgreSQL schemas are the same
// column for column (times are Unix milliseconds in integer columns), and
// both drivers scan a NULL into a nil pointer, so one scan serves both;
// the statements themselves, with their placeholders and their dialect's
// concurrency SQL, stay in each store.
package rowmap

import (
	"strings"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// Scanner is a row of either driver: *sql.Row, *sql.Rows, pgx.Row, pgx.Rows.
type Scanner interface{ Scan(dest ...any) error }

// Millis is how times are stored.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// FromMillis reads a stored time.
func FromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// UserColumns are the columns ScanUser reads, in its order.
const UserColumns = `id, email, name, mobile_phone, password_hash, created_at,
	totp_key_id, totp_secret, totp_last_step, totp_enabled_at, totp_pending_key_id, totp_pending_secret,
	totp_failures, totp_suspended_at, security_version, role, deactivated_at`

// SessionColumns are the columns of a session, in ScanSession's order.
const SessionColumns = `token_hash, user_id, stage, created_at, last_seen_at, authenticated_at, expires_at, ip, user_agent, second_factor`

// EventColumns are the columns of an activity-log entry, in ScanEvent's order.
const EventColumns = `id, user_id, kind, detail, ip, user_agent, created_at`

// NotificationColumns are the columns of an outbox message, in
// ScanNotification's order.
const NotificationColumns = `id, COALESCE(user_id, 0), channel, recipient, kind, subject, body, created_at, sent_at, attempts, last_error, link_used_at`

// Qualified prefixes every column of a list with a table alias, for joins:
// Qualified("u", UserColumns) is "u.id, u.email, …".
func Qualified(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// userDest holds the scan targets of a user row.
type userDest struct {
	u                     account.User
	createdAt, lastStep   int64
	keyID, pendingKeyID   *string
	secret, pendingSecret []byte
	enabledAt             *int64
	failures              int
	suspendedAt           *int64
	role                  string
	deactivatedAt         *int64
}

func (d *userDest) targets() []any {
	return []any{&d.u.ID, &d.u.Email, &d.u.Name, &d.u.MobilePhone, &d.u.PasswordHash, &d.createdAt,
		&d.keyID, &d.secret, &d.lastStep, &d.enabledAt, &d.pendingKeyID, &d.pendingSecret, &d.failures, &d.suspendedAt,
		&d.u.SecurityVersion, &d.role, &d.deactivatedAt}
}

func (d *userDest) user() *account.User {
	u := d.u
	u.CreatedAt = FromMillis(d.createdAt)
	u.Role = account.Role(d.role)
	if d.deactivatedAt != nil {
		u.DeactivatedAt = FromMillis(*d.deactivatedAt)
	}
	if d.enabledAt != nil && d.keyID != nil {
		u.TOTP = &account.TOTPState{
			Secret:    account.SealedSecret{KeyID: *d.keyID, Ciphertext: d.secret},
			LastStep:  d.lastStep,
			EnabledAt: FromMillis(*d.enabledAt),
			Failures:  d.failures,
		}
		if d.suspendedAt != nil {
			u.TOTP.SuspendedAt = FromMillis(*d.suspendedAt)
		}
	}
	if d.pendingKeyID != nil {
		u.PendingTOTP = &account.SealedSecret{KeyID: *d.pendingKeyID, Ciphertext: d.pendingSecret}
	}
	return &u
}

// ScanUser reads a row of UserColumns. The driver's no-rows error is
// returned as is, for the store to map.
func ScanUser(row Scanner) (*account.User, error) {
	var d userDest
	if err := row.Scan(d.targets()...); err != nil {
		return nil, err
	}
	return d.user(), nil
}

type sessionDest struct {
	s                                        account.Session
	stage                                    string
	created, lastSeen, authenticated, expiry int64
}

func (d *sessionDest) targets() []any {
	return []any{&d.s.TokenHash, &d.s.UserID, &d.stage, &d.created, &d.lastSeen, &d.authenticated, &d.expiry, &d.s.IP, &d.s.UserAgent, &d.s.SecondFactor}
}

func (d *sessionDest) session() *account.Session {
	s := d.s
	s.Stage = account.Stage(d.stage)
	s.CreatedAt, s.LastSeenAt = FromMillis(d.created), FromMillis(d.lastSeen)
	s.AuthenticatedAt, s.ExpiresAt = FromMillis(d.authenticated), FromMillis(d.expiry)
	return &s
}

// ScanSession reads a row of SessionColumns.
func ScanSession(row Scanner) (*account.Session, error) {
	var d sessionDest
	if err := row.Scan(d.targets()...); err != nil {
		return nil, err
	}
	return d.session(), nil
}

// SessionProfileColumns is the select list of the one read behind every
// authenticated request: the session (alias s), its user (alias u), the
// user's unused backup codes and whether they have any codes, used or not
// (disabling 2FA deletes them all), in ScanSessionProfile's order.
var SessionProfileColumns = Qualified("s", SessionColumns) + ", " + Qualified("u", UserColumns) +
	", (SELECT count(*) FROM backup_codes b WHERE b.user_id = u.id AND b.used_at IS NULL)" +
	", EXISTS (SELECT 1 FROM backup_codes b WHERE b.user_id = u.id)" +
	", " + SettingsColumns("st")

// SettingsColumns are the server-wide settings of the settings row alias,
// in scanSettings' order; a missing row reads as the defaults.
func SettingsColumns(alias string) string {
	return "COALESCE(" + alias + ".require_two_factor, 0), COALESCE(" + alias + ".grace_period_days, 0), " + alias + ".required_since, " +
		"COALESCE(" + alias + ".recovery_delay_hours, 0)"
}

type settingsDest struct {
	require, grace, recovery int
	since                    *int64
}

func (d *settingsDest) targets() []any { return []any{&d.require, &d.grace, &d.since, &d.recovery} }

func (d *settingsDest) settings() account.Settings {
	st := account.Settings{RequireTwoFactor: d.require != 0, GracePeriodDays: d.grace, RecoveryDelayHours: d.recovery}
	if d.since != nil {
		st.RequiredSince = FromMillis(*d.since)
	}
	return st
}

// ScanSettings reads a row of SettingsColumns.
func ScanSettings(row Scanner) (account.Settings, error) {
	var d settingsDest
	if err := row.Scan(d.targets()...); err != nil {
		return account.Settings{}, err
	}
	return d.settings(), nil
}

// ScanSessionProfile reads a row of SessionProfileColumns into a session
// whose Profile is set.
func ScanSessionProfile(row Scanner) (*account.Session, error) {
	var sd sessionDest
	var ud userDest
	var codes int
	var generated bool
	var st settingsDest
	if err := row.Scan(append(append(append(sd.targets(), ud.targets()...), &codes, &generated), st.targets()...)...); err != nil {
		return nil, err
	}
	s := sd.session()
	u := ud.user()
	s.Profile = &account.Profile{User: u, Settings: st.settings()}
	if u.TwoFactorEnabled() {
		s.Profile.BackupCodesRemaining = codes
		s.Profile.BackupCodesGenerated = generated
	}
	return s, nil
}

// ScanEvent reads a row of EventColumns.
func ScanEvent(row Scanner) (*account.Event, error) {
	var e account.Event
	var kind string
	var created int64
	if err := row.Scan(&e.ID, &e.UserID, &kind, &e.Detail, &e.IP, &e.UserAgent, &created); err != nil {
		return nil, err
	}
	e.Kind, e.CreatedAt = account.EventKind(kind), FromMillis(created)
	return &e, nil
}

// Channel is how a notification's channel is stored; an unknown one is an
// error rather than a row no scan could read back.
func Channel(c account.Channel) (string, error) {
	if _, err := account.ParseChannel(c.String()); err != nil {
		return "", err
	}
	return c.String(), nil
}

// Backlogs is an empty backlog for every channel, which AddBacklog fills
// from the rows of a count grouped by channel.
func Backlogs() []account.OutboxBacklog {
	out := make([]account.OutboxBacklog, len(account.Channels))
	for i, c := range account.Channels {
		out[i].Channel = c
	}
	return out
}

// AddBacklog sets the backlog of the stored channel name in backlogs.
func AddBacklog(backlogs []account.OutboxBacklog, channel string, b account.OutboxBacklog) error {
	c, err := account.ParseChannel(channel)
	if err != nil {
		return err
	}
	for i := range backlogs {
		if backlogs[i].Channel == c {
			b.Channel = c
			backlogs[i] = b
		}
	}
	return nil
}

// ScanNotification reads a row of NotificationColumns.
func ScanNotification(row Scanner) (*account.Notification, error) {
	var n account.Notification
	var kind, channel string
	var created int64
	var sent, linkUsed *int64
	if err := row.Scan(&n.ID, &n.UserID, &channel, &n.Recipient, &kind, &n.Subject, &n.Body, &created, &sent, &n.Attempts, &n.LastError, &linkUsed); err != nil {
		return nil, err
	}
	n.Kind, n.CreatedAt = account.EventKind(kind), FromMillis(created)
	var err error
	if n.Channel, err = account.ParseChannel(channel); err != nil {
		return nil, err
	}
	if sent != nil {
		n.SentAt = FromMillis(*sent)
	}
	if linkUsed != nil {
		n.LinkUsedAt = FromMillis(*linkUsed)
	}
	return &n, nil
}

// PendingSignUpColumns are the columns of a pending sign-up, in
// ScanPendingSignUp's order.
const PendingSignUpColumns = `id, token_hash, email, name, mobile_phone, password_hash, created_at, expires_at`

// ScanPendingSignUp reads a row of PendingSignUpColumns.
func ScanPendingSignUp(row Scanner) (*account.PendingSignUp, error) {
	var p account.PendingSignUp
	var created, expires int64
	if err := row.Scan(&p.ID, &p.TokenHash, &p.Email, &p.Name, &p.MobilePhone, &p.PasswordHash, &created, &expires); err != nil {
		return nil, err
	}
	p.CreatedAt, p.ExpiresAt = FromMillis(created), FromMillis(expires)
	return &p, nil
}

// UserSummaryColumns are the columns of a user (alias u) with their unused
// backup codes and last sign-in, in ScanUserSummary's order.
var UserSummaryColumns = Qualified("u", UserColumns) +
	", (SELECT count(*) FROM backup_codes b WHERE b.user_id = u.id AND b.used_at IS NULL)" +
	", (SELECT max(e.created_at) FROM security_events e WHERE e.user_id = u.id AND e.kind IN ('sign_in', 'sign_up'))"

// ScanUserSummary reads a row of UserSummaryColumns.
func ScanUserSummary(row Scanner) (*account.UserSummary, error) {
	var ud userDest
	var codes int
	var last *int64
	if err := row.Scan(append(ud.targets(), &codes, &last)...); err != nil {
		return nil, err
	}
	sum := &account.UserSummary{User: ud.user(), BackupCodesRemaining: codes}
	if last != nil {
		sum.LastSignInAt = FromMillis(*last)
	}
	return sum, nil
}

// AuditColumns are the columns of an audit entry, in ScanAudit's order.
const AuditColumns = `id, COALESCE(actor_id, 0), actor, action, target, detail, ip, created_at`

// ScanAudit reads a row of AuditColumns.
func ScanAudit(row Scanner) (*account.AuditEntry, error) {
	var e account.AuditEntry
	var action string
	var created int64
	if err := row.Scan(&e.ID, &e.ActorID, &e.Actor, &action, &e.Target, &e.Detail, &e.IP, &created); err != nil {
		return nil, err
	}
	e.Action, e.CreatedAt = account.AuditAction(action), FromMillis(created)
	return &e, nil
}

// InvitationColumns are the columns of an invitation, in ScanInvitation's order.
const InvitationColumns = `id, token_hash, email, role, COALESCE(invited_by, 0), created_at, expires_at, accepted_at, revoked_at`

// ScanInvitation reads a row of InvitationColumns.
func ScanInvitation(row Scanner) (*account.Invitation, error) {
	var inv account.Invitation
	var role string
	var created, expires int64
	var accepted, revoked *int64
	if err := row.Scan(&inv.ID, &inv.TokenHash, &inv.Email, &role, &inv.InvitedBy, &created, &expires, &accepted, &revoked); err != nil {
		return nil, err
	}
	inv.Role = account.Role(role)
	inv.CreatedAt, inv.ExpiresAt = FromMillis(created), FromMillis(expires)
	if accepted != nil {
		inv.AcceptedAt = FromMillis(*accepted)
	}
	if revoked != nil {
		inv.RevokedAt = FromMillis(*revoked)
	}
	return &inv, nil
}

// Rows is a result set of either driver.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// ScanAll reads every row with scan.
func ScanAll[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CountQueries count the rows of each table a use case writes (for
// backup_codes, the unused ones), for the stores' RowCounts, which tests
// use to check that a use case left all of its effect or none.
var CountQueries = map[string]string{
	"users":           `SELECT count(*) FROM users`,
	"sessions":        `SELECT count(*) FROM sessions`,
	"backup_codes":    `SELECT count(*) FROM backup_codes WHERE used_at IS NULL`,
	"security_events": `SELECT count(*) FROM security_events`,
	"outbox":          `SELECT count(*) FROM outbox`,
	"invitations":     `SELECT count(*) FROM invitations WHERE accepted_at IS NULL AND revoked_at IS NULL`,
	"audit_log":       `SELECT count(*) FROM audit_log`,
	"pending_signups": `SELECT count(*) FROM pending_signups`,
	// A rotation changes no count: it adds a replaced token.
	"remembered_devices":       `SELECT count(*) FROM remembered_devices`,
	"remembered_device_tokens": `SELECT count(*) FROM remembered_device_tokens`,
	"help_requests":            `SELECT count(*) FROM help_requests WHERE resolved_at IS NULL`,
	"phone_verifications":      `SELECT count(*) FROM phone_verifications WHERE verified_at IS NULL AND consumed_at IS NULL`,
	// The "This wasn't me" links still unused.
	"disavowals": `SELECT count(*) FROM disavowals WHERE used_at IS NULL`,
	// The OpenID provider's: every row (a refresh adds a token and marks
	// the one it replaces used).
	"oidc_auth_requests":  `SELECT count(*) FROM oidc_auth_requests`,
	"oidc_subjects":       `SELECT count(*) FROM oidc_subjects`,
	"oidc_grants":         `SELECT count(*) FROM oidc_grants`,
	"oidc_access_tokens":  `SELECT count(*) FROM oidc_access_tokens`,
	"oidc_refresh_tokens": `SELECT count(*) FROM oidc_refresh_tokens`,
	// And what their conditional writes change without adding a row.
	"oidc_clients":                 `SELECT count(*) FROM oidc_clients`,
	"oidc_signing_keys":            `SELECT count(*) FROM oidc_signing_keys`,
	"oidc_signing_keys active":     `SELECT count(*) FROM oidc_signing_keys WHERE retired_at IS NULL`,
	"oidc_auth_requests satisfied": `SELECT count(*) FROM oidc_auth_requests WHERE user_id IS NOT NULL`,
	"oidc_auth_requests with code": `SELECT count(*) FROM oidc_auth_requests WHERE code_hash IS NOT NULL`,
	"oidc_grants revoked":          `SELECT count(*) FROM oidc_grants WHERE revoked_at IS NOT NULL`,
	"oidc_refresh_tokens used":     `SELECT count(*) FROM oidc_refresh_tokens WHERE used_at IS NOT NULL`,
}

// DeviceColumns are the columns of a remembered device, in ScanDevice's
// order; a query adds whether the token matched is a replaced one.
const DeviceColumns = `id, user_id, token_hash, user_agent, ip, created_at, last_used_at, expires_at`

// ScanDevice reads a row of DeviceColumns followed by the stale flag.
func ScanDevice(row Scanner) (*account.Device, error) {
	var d account.Device
	var created, used, expires int64
	if err := row.Scan(&d.ID, &d.UserID, &d.TokenHash, &d.UserAgent, &d.IP, &created, &used, &expires, &d.Stale); err != nil {
		return nil, err
	}
	d.CreatedAt, d.LastUsedAt, d.ExpiresAt = FromMillis(created), FromMillis(used), FromMillis(expires)
	return &d, nil
}

// HelpRequestColumns are the columns of a help request (alias h) and its
// account (alias u), in ScanHelpRequest's order.
const HelpRequestColumns = `h.id, h.user_id, u.email, u.name, h.message, h.ip, h.user_agent, h.created_at`

// ScanHelpRequest reads a row of HelpRequestColumns.
func ScanHelpRequest(row Scanner) (*account.HelpRequest, error) {
	var r account.HelpRequest
	var created int64
	if err := row.Scan(&r.ID, &r.UserID, &r.Email, &r.Name, &r.Message, &r.IP, &r.UserAgent, &created); err != nil {
		return nil, err
	}
	r.CreatedAt = FromMillis(created)
	return &r, nil
}

// PhoneVerificationColumns are the columns of a phone verification, in
// ScanPhoneVerification's order.
const PhoneVerificationColumns = `id, user_id, phone, code_hash, sent_by, purpose, created_at, expires_at, failures, verified_at, consumed_at`

// ScanPhoneVerification reads a row of PhoneVerificationColumns.
func ScanPhoneVerification(row Scanner) (*account.PhoneVerification, error) {
	var v account.PhoneVerification
	var created, expires int64
	var verified, consumed *int64
	if err := row.Scan(&v.ID, &v.UserID, &v.Phone, &v.CodeHash, &v.SentBy, &v.Purpose, &created, &expires, &v.Failures, &verified, &consumed); err != nil {
		return nil, err
	}
	v.CreatedAt, v.ExpiresAt = FromMillis(created), FromMillis(expires)
	if verified != nil {
		v.VerifiedAt = FromMillis(*verified)
	}
	if consumed != nil {
		v.ConsumedAt = FromMillis(*consumed)
	}
	return &v, nil
}

// RecoveryColumns are the columns of a recovery, in ScanRecovery's order.
const RecoveryColumns = `id, user_id, cancel_token_hash, created_at, effective_at, ip, user_agent`

// ScanRecovery reads a row of RecoveryColumns.
func ScanRecovery(row Scanner) (*account.Recovery, error) {
	var r account.Recovery
	var created, effective int64
	if err := row.Scan(&r.ID, &r.UserID, &r.CancelTokenHash, &created, &effective, &r.IP, &r.UserAgent); err != nil {
		return nil, err
	}
	r.CreatedAt, r.EffectiveAt = FromMillis(created), FromMillis(effective)
	return &r, nil
}

// DisavowalColumns are the columns of a "This wasn't me" link, in
// ScanDisavowal's order.
const DisavowalColumns = `id, user_id, token_hash, kind, COALESCE(previous_password_hash, ''), created_at, expires_at, used_at`

// ScanDisavowal reads a row of DisavowalColumns.
func ScanDisavowal(row Scanner) (*account.Disavowal, error) {
	var d account.Disavowal
	var kind string
	var created, expires int64
	var used *int64
	if err := row.Scan(&d.ID, &d.UserID, &d.TokenHash, &kind, &d.PreviousPasswordHash, &created, &expires, &used); err != nil {
		return nil, err
	}
	d.Kind = account.EventKind(kind)
	d.CreatedAt, d.ExpiresAt = FromMillis(created), FromMillis(expires)
	if used != nil {
		d.UsedAt = FromMillis(*used)
	}
	return &d, nil
}
