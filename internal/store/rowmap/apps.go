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
// forward-auth decision: the session (alias s), its user (alias u), no
// backup-code counts (a decision needs none), the settings (alias st), the
// default rule and the version of the apps, in ScanSessionForApp's order.
var SessionForAppColumns = Qualified("s", SessionColumns) + ", " + Qualified("u", UserColumns) +
	", 0, false, " + SettingsColumns("st") + ", COALESCE(st.default_app_access, 'everyone'), COALESCE(st.apps_version, 0)"

// ScanSessionForApp reads a row of SessionForAppColumns.
func ScanSessionForApp(row Scanner) (*account.Session, account.AppsState, error) {
	var sd sessionDest
	var ud userDest
	var codes int
	var generated bool
	var st settingsDest
	var def string
	var version int64
	targets := append(append(append(sd.targets(), ud.targets()...), &codes, &generated), st.targets()...)
	if err := row.Scan(append(targets, &def, &version)...); err != nil {
		return nil, account.AppsState{}, err
	}
	s := sd.session()
	s.Profile = &account.Profile{User: ud.user(), Settings: st.settings()}
	return s, account.AppsState{Default: account.AppAccess(def), Version: version}, nil
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
