package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
)

// AuthzOutcome is what a forward-auth check decides for one request.
type AuthzOutcome int

// The outcomes, from the proxy's point of view.
const (
	// AuthzAllow: let the request through, with who it is.
	AuthzAllow AuthzOutcome = iota
	// AuthzSignIn: no usable session; sign in first.
	AuthzSignIn
	// AuthzSecondFactor: the password was right, the code step is pending.
	AuthzSecondFactor
	// AuthzEnroll: signed in, but 2FA must be enabled first (required for
	// every account and overdue, or required by this app).
	AuthzEnroll
	// AuthzForbidden: signed in, and not allowed in.
	AuthzForbidden
)

// AuthzDecision is the answer to a forward-auth check.
type AuthzDecision struct {
	Outcome AuthzOutcome
	User    *User         // set unless Outcome is AuthzSignIn
	App     *ProtectedApp // the app that decided; nil: the default rule (or not reached)
}

// Authorize decides whether the session of token may open host and urlPath
// (lower-case host without port; the path decoded and cleaned, see
// CleanPath), in one read: the session, its account, the settings, the
// default rule and the version of the apps come together
// (Store.SessionForApp). The apps themselves are matched in memory, from
// this instance's copy of the list while it is of the version just read
// (another read when it is not, once per change): so a sign-out,
// deactivation, 2FA reset or rule change committed on any instance decides
// every request read after it, at once. With Policy.AuthzCache a check may
// use an earlier check's read of the same session instead, at most that
// old (authz_cache.go): a change on another instance then decides every
// check within Policy.AuthzCache; one on this instance still at once.
//
// Only a fully signed-in session passes. Then the rule: deny, or
// administrators only, refuses others (AuthzForbidden); an account that
// must enable 2FA, for every account (overdue) or for this app, is sent to
// enroll.
func (s *Service) Authorize(ctx context.Context, token, host, urlPath string) (AuthzDecision, error) {
	if token == "" {
		return AuthzDecision{Outcome: AuthzSignIn}, nil
	}
	hash := hashToken(token)
	sess, state, err := s.authz.read(ctx, s.store, hash)
	if errors.Is(err, ErrNotFound) {
		return AuthzDecision{Outcome: AuthzSignIn}, nil
	}
	if err != nil {
		return AuthzDecision{}, fmt.Errorf("account: authorize: %w", err)
	}
	// The session first: a signed-out, expired or half-signed-in session
	// needs no apps (and so never reloads them).
	seen := sess.LastSeenAt
	sess, err = s.liveSession(ctx, hash, sess)
	if err == nil && !sess.LastSeenAt.Equal(seen) {
		s.authz.forget(hash) // touched: the next check reads it again
	}
	switch {
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrPendingExpired):
		return AuthzDecision{Outcome: AuthzSignIn}, nil
	case err != nil:
		return AuthzDecision{}, err
	}
	u := sess.Profile.User
	d := AuthzDecision{User: u}
	if sess.Stage != StageComplete {
		d.Outcome = AuthzSecondFactor
		return d, nil
	}
	apps, err := s.apps.at(ctx, s.store, state.Version)
	if err != nil {
		return AuthzDecision{}, fmt.Errorf("account: authorize: %w", err)
	}
	rule := AppRule{App: MatchApp(apps, host, urlPath), Default: state.Default}
	d.App = rule.App
	switch rule.Access() {
	case AccessSignedIn:
	case AccessAdmins:
		if !u.IsAdmin() {
			d.Outcome = AuthzForbidden
			return d, nil
		}
	default: // deny, or a rule this version does not know
		d.Outcome = AuthzForbidden
		return d, nil
	}
	if s.EnrollmentDue(sess) || (rule.App != nil && rule.App.RequireTwoFactor && !u.TwoFactorEnabled()) {
		d.Outcome = AuthzEnroll
		return d, nil
	}
	d.Outcome = AuthzAllow
	return d, nil
}

// CleanPath is the path a rule is matched against: decoded (so %61dmin is
// admin, as the app will read it) and cleaned (no "..", no "//"), always
// starting with "/".
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return path.Clean(p)
}

// OriginalRequest is where a proxied request was going, as a check reads it.
type OriginalRequest struct {
	Host string // lower-case, without port
	Path string // decoded and cleaned
}

// ParseOriginalURL reads the original URL a proxy reports (absolute,
// http or https) into what Authorize matches.
func ParseOriginalURL(raw string) (OriginalRequest, *url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return OriginalRequest{}, nil, errors.New("not an absolute http(s) URL")
	}
	host, err := NormalizeRequestHost(u.Host)
	if err != nil {
		return OriginalRequest{}, nil, err
	}
	return OriginalRequest{Host: host, Path: CleanPath(u.Path)}, u, nil
}

// ErrForwardedHost: X-Forwarded-Host is not one host name (with or
// without a port).
var ErrForwardedHost = errors.New("account: the forwarded host is not one host name")

// ParseForwarded reads the original request as Caddy and Traefik report
// it (X-Forwarded-Proto, -Host and -Uri; uri starts with "/") into what
// Authorize matches, like ParseOriginalURL of the URL the three make, with
// the host validated and normalized once. The URL's authority must be
// exactly hostport, so nothing in the header can change the URL built
// from it.
func ParseForwarded(proto, hostport, uri string) (OriginalRequest, *url.URL, error) {
	host, err := NormalizeRequestHost(hostport)
	if err != nil {
		return OriginalRequest{}, nil, ErrForwardedHost
	}
	u, err := url.Parse(proto + "://" + hostport + uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host != hostport || u.User != nil {
		return OriginalRequest{}, nil, errors.New("not an absolute http(s) URL")
	}
	return OriginalRequest{Host: host, Path: CleanPath(u.Path)}, u, nil
}

// NormalizeRequestHost turns a Host header (with or without a port) into
// the lower-case name rules match: a DNS name or an IP address literal.
func NormalizeRequestHost(hostport string) (string, error) {
	h := strings.ToLower(hostport)
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", errors.New("unreadable host")
		}
		if _, err := netip.ParseAddr(h[1:end]); err != nil {
			return "", errors.New("unreadable host")
		}
		if rest := h[end+1:]; rest != "" {
			if n, err := strconv.ParseUint(strings.TrimPrefix(rest, ":"), 10, 16); !strings.HasPrefix(rest, ":") || err != nil || n == 0 {
				return "", errors.New("unreadable port")
			}
		}
		return h[:end+1], nil
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if n, err := strconv.ParseUint(h[i+1:], 10, 16); err != nil || n == 0 {
			return "", errors.New("unreadable port")
		}
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	if !ValidHostname(h) {
		return "", errors.New("unreadable host")
	}
	return h, nil
}

// SafeRedirect returns rd when twofold may send a browser there after
// signing in or out: an absolute http(s) URL without user info, control
// characters, spaces or backslashes, whose host is twofold's own, one of
// Policy.RedirectHosts, or covered by a protected app. Anything else
// (another site, a scheme-relative or javascript: URL, an encoded or
// userinfo trick) is refused and logged; the caller goes to My info.
func (s *Service) SafeRedirect(ctx context.Context, rd string) (string, bool) {
	if rd == "" {
		return "", false
	}
	host, ok := redirectHost(rd)
	if ok {
		ok = s.redirectHostAllowed(ctx, host)
	}
	if !ok {
		s.log.WarnContext(ctx, "refused a redirect target that is not an allowed host (protected apps, --allowed-redirect-hosts)", "rd", truncate(rd, 200))
		return "", false
	}
	return rd, true
}

// redirectHost returns the host of rd if rd has the shape of a safe
// absolute URL; the host is then checked against the allow-list.
func redirectHost(rd string) (string, bool) {
	if len(rd) > 4096 {
		return "", false
	}
	for i := 0; i < len(rd); i++ {
		if c := rd[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return "", false
		}
	}
	// The scheme is spelled exactly, followed by "//" and the authority:
	// browsers forgive "https:/x" and "https:\\x", url.Parse does not.
	lower := strings.ToLower(rd)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return "", false
	}
	u, err := url.Parse(rd)
	if err != nil || u.User != nil || u.Opaque != "" || u.Host == "" {
		return "", false
	}
	// No percent-encoding in the authority: "%2f", "%40" and the like mean
	// different things to different parsers.
	if strings.Contains(u.Host, "%") {
		return "", false
	}
	host, err := NormalizeRequestHost(u.Host)
	if err != nil || strings.HasPrefix(host, "[") {
		return "", false
	}
	return host, true
}

func (s *Service) redirectHostAllowed(ctx context.Context, host string) bool {
	for _, pattern := range s.policy.RedirectHosts {
		if HostMatches(pattern, host) {
			return true
		}
	}
	apps, err := s.store.ProtectedApps(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "protected apps for a redirect check", "err", err)
		return false
	}
	for _, a := range apps {
		if HostMatches(a.Host, host) {
			return true
		}
	}
	return false
}

// appsCache is an instance's copy of the protected apps, with the version
// it was read at. It is used only for a decision that read the same
// version with its session, so it is never behind the database: a change
// bumps the version in its transaction, and the first decision that reads
// the new version reloads the list.
type appsCache struct {
	mu      sync.RWMutex
	loaded  bool
	version int64
	apps    []*ProtectedApp
	// load is held while the list is read from the store, so that the
	// checks that all see a new version at once read it once between
	// them, not once each.
	load sync.Mutex
}

// at returns the apps of version (or of a later one, if the list changed
// again meanwhile).
func (c *appsCache) at(ctx context.Context, st Store, version int64) ([]*ProtectedApp, error) {
	if apps, ok := c.get(version); ok {
		return apps, nil
	}
	c.load.Lock()
	defer c.load.Unlock()
	// Another check may have read it while this one waited.
	if apps, ok := c.get(version); ok {
		return apps, nil
	}
	apps, v, err := st.ProtectedAppsVersion(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	// Equal, not later: a database restored from a backup goes back.
	if !c.loaded || v != c.version {
		c.loaded, c.version, c.apps = true, v, apps
	}
	c.mu.Unlock()
	return apps, nil
}

func (c *appsCache) get(version int64) ([]*ProtectedApp, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.loaded && c.version == version {
		return c.apps, true
	}
	return nil, false
}
