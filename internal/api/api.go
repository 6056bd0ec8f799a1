// Package api is the JSON API under /api/v1: the same account service and
// the same session cookie as the web pages, with JSON bodies in and out and
// every error written as application/problem+json (RFC 9457) carrying a
// stable machine-readable code. It owns request decoding, the one mapping
// from errors to HTTP status, and the wire shapes documented in docs/api.md;
// every security rule stays in package account.
package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
	"github.com/twofold/twofold/internal/route"
)

// Options configure the API handler.
type Options struct {
	// Secure sets the Secure flag of the session cookie (the base URL is https).
	Secure bool
	// Logger receives internal errors with their detail; nil means slog.Default().
	Logger *slog.Logger
	// CookieDomain, when set, sends the session cookie for that domain and
	// its subdomains (--cookie-domain).
	CookieDomain string
	// TrustedProxies are the only peers whose X-Forwarded-* and
	// X-Original-* headers the forward-auth endpoints believe.
	TrustedProxies []netip.Prefix
	// BaseURL is where browsers reach twofold: the sign-in page the
	// forward-auth endpoints send them to.
	BaseURL string
}

// handler serves every /api/ path. Its methods are the endpoints.
type handler struct {
	svc     *account.Service
	secure  bool
	cookies httpauth.Cookies
	log     *slog.Logger
	// trusted and signInURL serve the forward-auth endpoints (authz.go).
	trusted   []netip.Prefix
	signInURL string
	untrusted *floodLimit // the untrusted-proxy warning, at most once per second
	mux       *http.ServeMux
	routed    http.Handler // mux and a catch-all, recording the matched route for metrics
}

// New returns the handler the server mounts for paths under /api/.
func New(svc *account.Service, opts Options) http.Handler {
	h := &handler{svc: svc, secure: opts.Secure, log: opts.Logger, trusted: opts.TrustedProxies,
		cookies: httpauth.Cookies{Secure: opts.Secure, Domain: opts.CookieDomain}, signInURL: strings.TrimRight(opts.BaseURL, "/") + "/signin",
		untrusted: &floodLimit{every: time.Second}}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.mux = h.routes()
	// The mux that serves is the same routes with a catch-all, so that a
	// request is matched once (not once to ask whether anything matches,
	// then again to serve it); what the catch-all gets, the mux without
	// it explains (unrouted: 404, or 405 with Allow).
	serving := h.routes()
	serving.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.fail(w, r, h.unrouted(r)) }))
	h.routed = route.Recorded(serving)
	return h
}

// ServeHTTP adds what every API response shares (no caching, problem+json
// for unknown paths and methods, no stack trace on a panic) around the mux.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every response is personal (profile, secrets, codes) or about a session.
	w.Header().Set("Cache-Control", "no-store")
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			h.fail(w, r, fmt.Errorf("api: panic: %v\n%s", rec, debug.Stack()))
		}
	}()
	h.routed.ServeHTTP(w, r)
}

// unrouted asks the mux why nothing matched: a path that exists for other
// methods gets 405 with the Allow header the mux computed, anything else 404.
func (h *handler) unrouted(r *http.Request) error {
	fallback, _ := h.mux.Handler(r)
	probe := &statusProbe{header: http.Header{}}
	fallback.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		return &methodNotAllowedError{allow: probe.header.Get("Allow")}
	}
	return errRouteNotFound
}

// statusProbe is a ResponseWriter that keeps the header and status and
// drops the body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}
func (p *statusProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}

// public is an endpoint that needs no session (or handles it itself).
func (h *handler) public(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// authed is an endpoint for a fully signed-in session. A half-signed-in
// session (password done, code pending) gets account.ErrSecondFactorRequired.
func (h *handler) authed(fn func(http.ResponseWriter, *http.Request, *account.Session) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := h.svc.Authenticate(r.Context(), httpauth.Token(r))
		if err == nil {
			if deadline := h.svc.TwoFactorDeadline(sess); !deadline.IsZero() {
				w.Header().Set("Twofold-Two-Factor-Deadline", deadline.UTC().Format(time.RFC3339))
			}
			if h.svc.EnrollmentDue(sess) && !enrollmentRoutes[r.Pattern] {
				err = account.ErrEnrollmentRequired
			} else {
				err = fn(w, r, sess)
			}
		}
		if err != nil {
			h.fail(w, r, err)
		}
	})
}

// enrollmentRoutes are what an account that must enable 2FA (required,
// grace period over) may use; every other signed-in endpoint answers 403
// two_factor_enrollment_required. Signing out is public.
var enrollmentRoutes = map[string]bool{
	"GET /api/v1/me": true, "PATCH /api/v1/me": true, "GET /api/v1/me/events": true,
	"POST /api/v1/me/two-factor/setup": true, "POST /api/v1/me/two-factor/enable": true,
	"POST /api/v1/me/backup-codes": true, "POST /api/v1/session/confirm-password": true,
}

// writeJSON renders v into a buffer first, so an encoding failure is still a
// clean 500 rather than half a body.
func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // never served as HTML (nosniff); keeps URIs readable
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("api: encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
	return nil
}
