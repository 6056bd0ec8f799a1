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

// SessionForAppColumns is SessionProfileColumns, the default rule (of the
// settings row st) and the matched app (alias a, all NULL when none), in
// ScanSessionForApp's order.
var SessionForAppColumns = SessionProfileColumns + ", COALESCE(st.default_app_access, 'everyone'), " + Qualified("a", AppColumns)

// ScanSessionForApp reads a row of SessionForAppColumns.
func ScanSessionForApp(row Scanner) (*account.Session, account.AppRule, error) {
	var sd sessionDest
	var ud userDest
	var codes int
	var generated bool
	var st settingsDest
	var def string
	var ad appDest
	targets := append(append(append(sd.targets(), ud.targets()...), &codes, &generated), st.targets()...)
	targets = append(append(targets, &def), ad.targets()...)
	if err := row.Scan(targets...); err != nil {
		return nil, account.AppRule{}, err
	}
	s := sd.session()
	u := ud.user()
	s.Profile = &account.Profile{User: u, Settings: st.settings()}
	if u.TwoFactorEnabled() {
		s.Profile.BackupCodesRemaining = codes
		s.Profile.BackupCodesGenerated = generated
	}
	return s, account.AppRule{App: ad.app(), Default: account.AppAccess(def)}, nil
}
