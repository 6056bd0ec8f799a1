package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// refusal is an answer of the forward-auth endpoints other than 200: the
// proxy passes it on (a 401 or 302 becomes the sign-in page, a 403 stays).
type refusal struct {
	status   int
	code     string
	detail   string
	location string // sign-in URL, for the proxy to redirect to
}

func (e *refusal) Error() string { return "api: forward-auth: " + e.code }

var errUntrustedProxy = &refusal{status: http.StatusForbidden, code: "untrusted_proxy",
	detail: "This endpoint answers only the reverse proxies listed in --trusted-proxies (TWOFOLD_TRUSTED_PROXIES): add the proxy's address there."}

// authRequest is nginx's auth_request: the original URL in X-Original-URL
// (method in X-Original-Method, not part of any rule). nginx passes only
// 2xx, 401 and 403 on, so every "sign in first" is a 401 whose Location is
// the sign-in page, for the config to redirect to (auth_request_set and
// error_page 401, docs/proxies/nginx.md).
func (h *handler) authRequest(w http.ResponseWriter, r *http.Request) error {
	if err := h.fromTrustedProxy(r); err != nil {
		return err
	}
	raw := r.Header.Get("X-Original-URL")
	if raw == "" {
		return &requestError{detail: "X-Original-URL is missing: set it to the original request's URL (proxy_set_header X-Original-URL $scheme://$http_host$request_uri)."}
	}
	orig, u, err := account.ParseOriginalURL(raw)
	if err != nil {
		return badOriginalURL(err)
	}
	return h.decide(w, r, orig, u, false)
}

// forwardAuth is Traefik's forwardAuth and Caddy's forward_auth: the
// original request in X-Forwarded-Proto, -Host and -Uri. A browser
// (Accept: text/html) that must sign in is redirected to the sign-in page
// itself; other clients get 401.
func (h *handler) forwardAuth(w http.ResponseWriter, r *http.Request) error {
	if err := h.fromTrustedProxy(r); err != nil {
		return err
	}
	proto, host, uri := r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Uri")
	switch {
	case proto != "http" && proto != "https":
		return &requestError{detail: "X-Forwarded-Proto must be http or https, as the proxy received the request."}
	case uri == "":
		uri = "/"
	case !strings.HasPrefix(uri, "/"):
		return &requestError{detail: "X-Forwarded-Uri must be the original request's path and query, starting with /."}
	}
	orig, u, err := account.ParseForwarded(proto, host, uri)
	switch {
	case errors.Is(err, account.ErrForwardedHost):
		return &requestError{detail: "X-Forwarded-Host must be the one host the original request asked for."}
	case err != nil:
		return badOriginalURL(err)
	}
	return h.decide(w, r, orig, u, wantsHTML(r))
}

func badOriginalURL(err error) error {
	return &requestError{detail: "The original URL the proxy sent is not an absolute http(s) URL with a host name: " + err.Error() + "."}
}

// fromTrustedProxy refuses a peer that is not a trusted proxy: anyone else
// could name any URL and read the answer, or pose as the proxy.
func (h *handler) fromTrustedProxy(r *http.Request) error {
	peer := httpauth.Peer(r)
	for _, p := range h.trusted {
		if peer.IsValid() && p.Contains(peer) {
			return nil
		}
	}
	if ok, unlogged := h.untrusted.allow(time.Now()); ok {
		h.log.WarnContext(r.Context(), "forward-auth request refused: its peer is not a trusted proxy; add the reverse proxy's address to --trusted-proxies (TWOFOLD_TRUSTED_PROXIES)",
			"peer", peer.String(), "path", r.URL.Path, "refused_unlogged", unlogged)
	}
	return errUntrustedProxy
}

// floodLimit lets a warning that every refused request would repeat be
// logged at most once per interval: the first at once, then one line per
// interval that counts the refusals not logged since the last line
// (refused_unlogged), so a flood is neither silent nor a flood in the log.
type floodLimit struct {
	every time.Duration
	mu    sync.Mutex
	next  time.Time
	count int64 // refusals since the last line
}

func (f *floodLimit) allow(now time.Time) (ok bool, unlogged int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Before(f.next) {
		f.count++
		return false, 0
	}
	unlogged, f.count, f.next = f.count, 0, now.Add(f.every)
	return true, unlogged
}

func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// decide answers for the original request orig (at URL u): 200 with who
// it is, or why not.
func (h *handler) decide(w http.ResponseWriter, r *http.Request, orig account.OriginalRequest, u *url.URL, redirectBrowser bool) error {
	d, err := h.svc.Authorize(r.Context(), httpauth.Token(r), orig.Host, orig.Path)
	if err != nil {
		return err
	}
	switch d.Outcome {
	case account.AuthzAllow:
		hdr := w.Header()
		group := "member"
		if d.User.IsAdmin() {
			group = "admin"
		}
		hdr.Set("Remote-User", d.User.Email)
		hdr.Set("Remote-Email", d.User.Email)
		hdr.Set("Remote-Name", d.User.Name)
		hdr.Set("Remote-Groups", group)
		w.WriteHeader(http.StatusOK)
		return nil
	case account.AuthzForbidden:
		return &refusal{status: http.StatusForbidden, code: "app_forbidden", detail: "Signed in, but this account may not open this app: ask an administrator."}
	}
	loc := h.signInURL + "?rd=" + url.QueryEscape(u.String())
	if redirectBrowser {
		http.Redirect(w, r, loc, http.StatusFound)
		return nil
	}
	ref := &refusal{status: http.StatusUnauthorized, code: "sign_in_required", detail: "Sign in at " + h.signInURL + " first.", location: loc}
	switch d.Outcome {
	case account.AuthzSecondFactor:
		ref.code, ref.detail = "two_factor_required", "Finish signing in: the code step is pending."
	case account.AuthzEnroll:
		ref.code, ref.detail = "two_factor_enrollment_required", "Enable 2 factor authentication first: this account or this app requires it."
	}
	return ref
}

// refusalProblem is problemFor's answer for a refusal.
func refusalProblem(err error) (*problem, bool) {
	var ref *refusal
	if !errors.As(err, &ref) {
		return nil, false
	}
	p := newProblem(ref.status, ref.code, ref.detail)
	p.location = ref.location
	return p, true
}
