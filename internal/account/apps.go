package account

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// AppAccess says who may enter a protected app.
type AppAccess string

// The access rules. An app is open to everyone signed in or to
// administrators; the default rule, for a host no app lists, is everyone
// signed in or deny.
const (
	AccessSignedIn AppAccess = "everyone"
	AccessAdmins   AppAccess = "admins"
	AccessDeny     AppAccess = "deny"
)

// Describe is the rule in words, for the pages and the audit log.
func (a AppAccess) Describe() string {
	switch a {
	case AccessSignedIn:
		return "everyone signed in"
	case AccessAdmins:
		return "administrators"
	case AccessDeny:
		return "nobody (deny)"
	}
	return string(a)
}

// ProtectedApp is an app behind a reverse proxy that asks twofold who may
// enter (forward-auth). Host is lower-case: "app.example.com", or
// "*.example.com" for every subdomain (one label or more) but not
// example.com itself. PathPrefix is "" for every path, else a path that
// starts and ends with "/": "/admin/" covers /admin and everything below.
type ProtectedApp struct {
	ID               int64
	Host             string
	PathPrefix       string
	Access           AppAccess
	RequireTwoFactor bool
	CreatedAt        time.Time
}

// Wildcard reports whether the app's host pattern is "*.domain".
func (a *ProtectedApp) Wildcard() bool { return strings.HasPrefix(a.Host, "*.") }

// Matches reports whether the app covers host (lower-case, no port) and
// urlPath (decoded and cleaned). The stores match the same way in SQL;
// the conformance suite checks that they agree with this.
func (a *ProtectedApp) Matches(host, urlPath string) bool {
	if !HostMatches(a.Host, host) {
		return false
	}
	return a.PathPrefix == "" || pathUnder(urlPath, a.PathPrefix)
}

// pathUnder reports whether urlPath+"/" starts with prefix (which ends
// with "/"), without building that string: /admin and /admin/x are under
// /admin/, /administrator is not.
func pathUnder(urlPath, prefix string) bool {
	if strings.HasPrefix(urlPath, prefix) {
		return true
	}
	return len(urlPath) == len(prefix)-1 && strings.HasPrefix(prefix, urlPath) && prefix[len(prefix)-1] == '/'
}

// HostMatches reports whether host matches pattern: equal, or pattern is
// "*.domain" and host ends with ".domain".
func HostMatches(pattern, host string) bool {
	if pattern == host {
		return true
	}
	return strings.HasPrefix(pattern, "*.") && len(host) > len(pattern)-1 && strings.HasSuffix(host, pattern[1:])
}

// MoreSpecific orders apps that match one request: an exact host before a
// wildcard, a longer host before a shorter one, then the longer path
// prefix. The most specific decides.
func MoreSpecific(a, b *ProtectedApp) bool {
	if a.Wildcard() != b.Wildcard() {
		return !a.Wildcard()
	}
	if len(a.Host) != len(b.Host) {
		return len(a.Host) > len(b.Host)
	}
	return len(a.PathPrefix) > len(b.PathPrefix)
}

// AppRule is what decides a request for an app besides the session: the
// protected app that covers it (nil when none does) and the default rule.
type AppRule struct {
	App     *ProtectedApp
	Default AppAccess
}

// AppsState is what a decision reads about the apps with the session: the
// default rule and the version of the list of apps (every change to an
// app bumps it, in its transaction).
type AppsState struct {
	Default AppAccess
	Version int64
}

// MatchApp is the most specific app of apps that covers host and urlPath
// (Matches, MoreSpecific), or nil.
func MatchApp(apps []*ProtectedApp, host, urlPath string) *ProtectedApp {
	var best *ProtectedApp
	for _, a := range apps {
		if a.Matches(host, urlPath) && (best == nil || MoreSpecific(a, best)) {
			best = a
		}
	}
	return best
}

// Access is the rule in force: the app's, else the default.
func (r AppRule) Access() AppAccess {
	if r.App != nil {
		return r.App.Access
	}
	if r.Default == "" {
		return AccessSignedIn
	}
	return r.Default
}

// appStore is the part of Store about protected apps.
type appStore interface {
	// ProtectedApps lists every protected app, by host and path prefix.
	ProtectedApps(ctx context.Context) ([]*ProtectedApp, error)
	// DefaultAppAccess reads the rule for hosts no app lists.
	DefaultAppAccess(ctx context.Context) (AppAccess, error)
	// SessionForApp is the one read behind a forward-auth decision: the
	// session with its account and the settings (like SessionByTokenHash;
	// the backup codes are not counted), the default rule and the version
	// of the apps. ErrNotFound without such a session.
	SessionForApp(ctx context.Context, tokenHash string) (*Session, AppsState, error)
	// ProtectedAppsVersion lists every protected app with the version of
	// the list, read together.
	ProtectedAppsVersion(ctx context.Context) ([]*ProtectedApp, int64, error)
}

// appTx is the part of Tx about protected apps.
type appTx interface {
	// Each write below also bumps the version of the apps (AppsState).

	// CreateProtectedApp stores a and sets a.ID; ErrAppExists if an app
	// with the same host and path prefix exists.
	CreateProtectedApp(ctx context.Context, a *ProtectedApp) error
	// UpdateProtectedApp writes a over the app a.ID; ErrNotFound if there
	// is none, ErrAppExists if another has the same host and path prefix.
	UpdateProtectedApp(ctx context.Context, a *ProtectedApp) error
	// RequireProtectedApp fails with ErrStale unless the app was.ID still
	// has was's host, path prefix, access and 2FA rule, and holds it
	// until commit (a change merged over what was read writes over
	// nothing else).
	RequireProtectedApp(ctx context.Context, was *ProtectedApp) error
	// DeleteProtectedApp deletes the app and returns what it was;
	// ErrNotFound if there is none.
	DeleteProtectedApp(ctx context.Context, id int64) (*ProtectedApp, error)
	// SetDefaultAppAccess sets the rule for hosts no app lists.
	SetDefaultAppAccess(ctx context.Context, access AppAccess) error
}

// Errors of protected apps.
var (
	ErrAppExists   = errors.New("account: a protected app with this host and path prefix already exists")
	ErrAppNotFound = errors.New("account: no protected app with this id")
)

// AppInput is an administrator's description of a protected app.
type AppInput struct {
	Host             string
	PathPrefix       string
	Access           AppAccess
	RequireTwoFactor bool
}

// The audit actions of protected apps.
const (
	AuditAppCreate     AuditAction = "app_create"
	AuditAppUpdate     AuditAction = "app_update"
	AuditAppDelete     AuditAction = "app_delete"
	AuditDefaultAccess AuditAction = "app_default_access"
)

// NormalizeHostPattern checks a host pattern and returns it lower-case,
// or a message for the person who typed it,
// without a trailing dot: a DNS name (letters, digits, hyphens, at most
// 253 characters) or "*." followed by one with at least two labels (no
// "*.com"). Ports and IP addresses are not patterns: the proxy's Host is
// matched without its port.
func NormalizeHostPattern(s string) (pattern, problem string) {
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	name := h
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		name = rest
		if !strings.Contains(name, ".") {
			return "", "A wildcard needs a domain with at least two labels, like *.example.com."
		}
	}
	if !ValidHostname(name) {
		return "", "Enter a host name like app.example.com or *.example.com (letters, digits, hyphens and dots; no scheme, port or path)."
	}
	return h, ""
}

// ValidHostname reports whether h is a lower-case DNS name: labels of 1 to
// 63 letters, digits and hyphens (not at either end), at most 253
// characters in all.
func ValidHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// NormalizePathPrefix checks a path prefix and returns it as stored: ""
// for every path ("" or "/"), else cleaned, starting and ending with "/";
// or a message for the person who typed it.
func NormalizePathPrefix(s string) (prefix, problem string) {
	p := strings.TrimSpace(s)
	if p == "" || p == "/" {
		return "", ""
	}
	if !strings.HasPrefix(p, "/") || len(p) > 200 {
		return "", "Enter a path that starts with /, like /admin, at most 200 characters; or leave it empty for every path."
	}
	for _, c := range p {
		if c <= ' ' || c == 0x7f || c == '?' || c == '#' || c == '\\' || c == '%' {
			return "", "A path prefix has no spaces, ?, #, % or \\: enter it as the path appears, like /admin."
		}
	}
	p = path.Clean(p)
	if p == "/" {
		return "", ""
	}
	return p + "/", ""
}

func (in AppInput) normalize(now time.Time) (*ProtectedApp, error) {
	v := &ValidationError{}
	host, problem := NormalizeHostPattern(in.Host)
	if problem != "" {
		v.add("host", problem)
	}
	prefix, problem := NormalizePathPrefix(in.PathPrefix)
	if problem != "" {
		v.add("path_prefix", problem)
	}
	if in.Access != AccessSignedIn && in.Access != AccessAdmins {
		v.add("access", "Choose everyone (everyone signed in) or admins (administrators).")
	}
	if err := v.orNil(); err != nil {
		return nil, err
	}
	return &ProtectedApp{Host: host, PathPrefix: prefix, Access: in.Access, RequireTwoFactor: in.RequireTwoFactor, CreatedAt: now}, nil
}

func (a *ProtectedApp) describe() string {
	s := fmt.Sprintf("%s%s: %s", a.Host, a.PathPrefix, a.Access.Describe())
	if a.RequireTwoFactor {
		s += ", 2FA required"
	}
	return s
}

// Apps are the protected apps and the default rule, as administrators see them.
type Apps struct {
	Apps    []*ProtectedApp
	Default AppAccess
}

// ProtectedApps lists the protected apps and the default rule, for
// administrators.
func (s *Service) ProtectedApps(ctx context.Context, by *Session) (Apps, error) {
	if _, err := s.requireAdmin(ctx, by); err != nil {
		return Apps{}, err
	}
	apps, err := s.store.ProtectedApps(ctx)
	if err != nil {
		return Apps{}, fmt.Errorf("account: protected apps: %w", err)
	}
	def, err := s.store.DefaultAppAccess(ctx)
	if err != nil {
		return Apps{}, fmt.Errorf("account: default app access: %w", err)
	}
	return Apps{Apps: apps, Default: def}, nil
}

// CreateProtectedApp adds a protected app, for administrators, with an
// entry in the audit log. It takes effect on every instance with the
// commit: each decision reads the apps afresh.
func (s *Service) CreateProtectedApp(ctx context.Context, by *Session, in AppInput, c Client) (*ProtectedApp, error) {
	admin, err := s.requireAdmin(ctx, by)
	if err != nil {
		return nil, err
	}
	app, err := in.normalize(s.now())
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillAdmin(ctx, tx, admin, by); err != nil {
			return err
		}
		if err := tx.CreateProtectedApp(ctx, app); err != nil {
			return err
		}
		return s.audit(ctx, tx, admin, AuditAppCreate, app.Host+app.PathPrefix, app.describe(), c)
	})
	if err != nil {
		return nil, s.appFault(ctx, "create protected app", err)
	}
	return app, nil
}

// UpdateProtectedApp changes a protected app, for administrators. A
// request decided after the commit follows the new rule, on every
// instance.
//
// With was set, the change is made only while the app is still as was
// says (ErrConflict otherwise): a change merged over values read (the
// API's PATCH) never undoes another administrator's change made between.
func (s *Service) UpdateProtectedApp(ctx context.Context, by *Session, id int64, in AppInput, was *AppInput, c Client) (*ProtectedApp, error) {
	admin, err := s.requireAdmin(ctx, by)
	if err != nil {
		return nil, err
	}
	app, err := in.normalize(s.now())
	if err != nil {
		return nil, err
	}
	app.ID = id
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillAdmin(ctx, tx, admin, by); err != nil {
			return err
		}
		if was != nil {
			if err := tx.RequireProtectedApp(ctx, &ProtectedApp{ID: id, Host: was.Host, PathPrefix: was.PathPrefix,
				Access: was.Access, RequireTwoFactor: was.RequireTwoFactor}); err != nil {
				return err
			}
		}
		if err := tx.UpdateProtectedApp(ctx, app); err != nil {
			return appNotFound(err)
		}
		return s.audit(ctx, tx, admin, AuditAppUpdate, app.Host+app.PathPrefix, app.describe(), c)
	})
	if err != nil {
		return nil, s.appFault(ctx, "update protected app", err)
	}
	for _, a := range s.appsOrNil(ctx) {
		if a.ID == id {
			return a, nil
		}
	}
	return app, nil
}

// DeleteProtectedApp removes a protected app, for administrators: its
// host then follows the default rule (or a wider app that covers it).
func (s *Service) DeleteProtectedApp(ctx context.Context, by *Session, id int64, c Client) error {
	admin, err := s.requireAdmin(ctx, by)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillAdmin(ctx, tx, admin, by); err != nil {
			return err
		}
		app, err := tx.DeleteProtectedApp(ctx, id)
		if err != nil {
			return appNotFound(err)
		}
		return s.audit(ctx, tx, admin, AuditAppDelete, app.Host+app.PathPrefix, "was "+app.describe(), c)
	})
	if err != nil {
		return s.appFault(ctx, "delete protected app", err)
	}
	return nil
}

// SetDefaultAppAccess sets the rule for hosts no protected app lists
// (everyone signed in, or deny), for administrators.
func (s *Service) SetDefaultAppAccess(ctx context.Context, by *Session, access AppAccess, c Client) error {
	admin, err := s.requireAdmin(ctx, by)
	if err != nil {
		return err
	}
	if access != AccessSignedIn && access != AccessDeny {
		return &ValidationError{Fields: map[string]string{"access": "Choose everyone (everyone signed in) or deny."}}
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillAdmin(ctx, tx, admin, by); err != nil {
			return err
		}
		if err := tx.SetDefaultAppAccess(ctx, access); err != nil {
			return err
		}
		return s.audit(ctx, tx, admin, AuditDefaultAccess, "", "hosts no app lists: "+access.Describe(), c)
	})
	if err != nil {
		return s.appFault(ctx, "default app access", err)
	}
	return nil
}

// appNotFound names a missing app ErrAppNotFound: ErrNotFound would say
// the account is gone.
func appNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return ErrAppNotFound
	}
	return err
}

// appFault is fault for the protected apps' use cases.
func (s *Service) appFault(ctx context.Context, what string, err error) error {
	switch {
	case errors.Is(err, ErrAppExists):
		return ErrAppExists
	case errors.Is(err, ErrAppNotFound):
		return ErrAppNotFound
	}
	return s.fault(ctx, what, err, nil)
}

func (s *Service) appsOrNil(ctx context.Context) []*ProtectedApp {
	apps, err := s.store.ProtectedApps(ctx)
	if err != nil {
		return nil
	}
	return apps
}
