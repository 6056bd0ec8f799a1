package rowmap

import "github.com/twofold/twofold/internal/account"

// AppColumns are the columns of a protected app, in ScanApp's order.
const AppColumns = `id, host, path_prefix, access, require_two_factor, created_at`

type appDest struct {
	id        *int64
	host      *string
	prefix    *string
	access    *string
	require   *int64
	createdAt *int64
}

func (d *appDest) targets() []any {
	return []any{&d.id, &d.host, &d.prefix, &d.access, &d.require, &d.createdAt}
}

// app is nil when the row had no app (a LEFT JOIN that found none).
func (d *appDest) app() *account.ProtectedApp {
	if d.id == nil {
		return nil
	}
	a := &account.ProtectedApp{ID: *d.id}
	if d.host != nil {
		a.Host = *d.host
	}
	if d.prefix != nil {
		a.PathPrefix = *d.prefix
	}
	if d.access != nil {
		a.Access = account.AppAccess(*d.access)
	}
	a.RequireTwoFactor = d.require != nil && *d.require != 0
	if d.createdAt != nil {
		a.CreatedAt = FromMillis(*d.createdAt)
	}
	return a
}

// ScanApp reads a row of AppColumns.
func ScanApp(row Scanner) (*account.ProtectedApp, error) {
	var d appDest
	if err := row.Scan(d.targets()...); err != nil {
		return nil, err
	}
	return d.app(), nil
}

// SessionForAppColumns is the select list of the one read behind a
// forward-auth decision, in ScanSessionForApp's order: of the session
// (alias s) what decides whether it is live, of its user (alias u) what a
// decision and the Remote-* headers need (no password hash, no TOTP
// secret, no backup codes: a check neither needs nor should carry them),
// of the settings (alias st) what decides enrollment, the default rule and
// the version of the apps. Nothing more: the driver pays for every column
// of every check (on SQLite, its name and declared type are read per
// query). The statement's WHERE must leave out deactivated accounts.
var SessionForAppColumns = "s.stage, s.last_seen_at, s.expires_at, " +
	"u.id, u.email, u.name, u.created_at, u.totp_enabled_at, u.role, " +
	"COALESCE(st.require_two_factor, 0), COALESCE(st.grace_period_days, 0), st.required_since, " +
	"COALESCE(st.default_app_access, 'everyone'), COALESCE(st.apps_version, 0)"

// ScanSessionForApp reads a row of SessionForAppColumns for the session
// whose token hash is tokenHash: a session whose Profile has the user as
// far as a decision needs it (TOTP, when on, holds only EnabledAt; the
// account is active, as the statement's WHERE ensures) and the settings
// that decide enrollment. The session's CreatedAt and AuthenticatedAt and
// the settings' RecoveryDelayHours are not read: a decision does not use
// them.
func ScanSessionForApp(row Scanner, tokenHash string) (*account.Session, account.AppsState, error) {
	var sess account.Session
	var u account.User
	var stage, role, def string
	var lastSeen, expiry, userCreated, version int64
	var enabledAt, since *int64
	var require, grace int
	if err := row.Scan(&stage, &lastSeen, &expiry,
		&u.ID, &u.Email, &u.Name, &userCreated, &enabledAt, &role,
		&require, &grace, &since, &def, &version); err != nil {
		return nil, account.AppsState{}, err
	}
	sess.TokenHash, sess.UserID, sess.Stage = tokenHash, u.ID, account.Stage(stage)
	sess.LastSeenAt, sess.ExpiresAt = FromMillis(lastSeen), FromMillis(expiry)
	u.CreatedAt, u.Role = FromMillis(userCreated), account.Role(role)
	if enabledAt != nil {
		u.TOTP = &account.TOTPState{EnabledAt: FromMillis(*enabledAt)}
	}
	st := account.Settings{RequireTwoFactor: require != 0, GracePeriodDays: grace}
	if since != nil {
		st.RequiredSince = FromMillis(*since)
	}
	sess.Profile = &account.Profile{User: &u, Settings: st}
	return &sess, account.AppsState{Default: account.AppAccess(def), Version: version}, nil
}

// AppsVersionSQL lists the protected apps with the version of the list,
// in one statement (so both come from one snapshot): a row of
// COALESCE(version), AppColumns (alias a) per app, or one row with a NULL
// app when there is none, for ScanAppsVersion.
const AppsVersionSQL = `SELECT COALESCE(st.apps_version, 0), ` + "a.id, a.host, a.path_prefix, a.access, a.require_two_factor, a.created_at" + `
	FROM (SELECT 1 AS one) o LEFT JOIN settings st ON st.id = 1 LEFT JOIN protected_apps a ON 1 = 1
	ORDER BY a.host, a.path_prefix`

// ScanAppsVersion reads the rows of AppsVersionSQL.
func ScanAppsVersion(rows Rows) ([]*account.ProtectedApp, int64, error) {
	var apps []*account.ProtectedApp
	var version int64
	for rows.Next() {
		var d appDest
		if err := rows.Scan(append([]any{&version}, d.targets()...)...); err != nil {
			return nil, 0, err
		}
		if a := d.app(); a != nil {
			apps = append(apps, a)
		}
	}
	return apps, version, rows.Err()
}
