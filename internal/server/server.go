// Package server assembles the HTTP service: the root mux (pages at /, the
// JSON API at /api/, /healthz) and the middleware every request passes
// through: request id, access log, panic recovery, security headers,
// cross-origin (CSRF) protection and a request body limit.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/twofold/twofold/internal/api"
	"github.com/twofold/twofold/internal/requestid"
	"github.com/twofold/twofold/internal/route"
)

// MaxBodyBytes caps every request body; the API applies a lower cap of its own.
const MaxBodyBytes = 1 << 20

// RequestDeadline bounds the work done for one request, below the HTTP
// server's 30-second WriteTimeout, so that under overload a request is
// answered 503 (busy) rather than cut off without an answer.
const RequestDeadline = 20 * time.Second

// ContentSecurityPolicy allows only the service's own scripts, styles and
// images (plus data: images for the QR code) and forbids framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Options configure Handler.
type Options struct {
	Web http.Handler // mounted at /
	API http.Handler // mounted at /api/
	// OIDC, when set, is the OpenID provider, mounted at /oauth2/ and
	// /.well-known/openid-configuration.
	OIDC   http.Handler
	Secure bool // served over https: HSTS
	Logger *slog.Logger
	// Ready reports whether the service can serve (database reachable).
	Ready func(*http.Request) error
	// TrustedProxies may set the client address with X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// Instrument, when set, wraps every request outermost (metrics).
	Instrument func(http.Handler) http.Handler
}

// Handler returns the root handler with all middleware applied.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", o.Web)
	mux.Handle("/api/", o.API)
	if o.OIDC != nil {
		mux.Handle("/oauth2/", o.OIDC)
		mux.Handle("GET /.well-known/openid-configuration", o.OIDC)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if o.Ready != nil {
			if err := o.Ready(r); err != nil {
				o.Logger.ErrorContext(r.Context(), "health check failed", "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, "unavailable")
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.Logger.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		if strings.HasPrefix(r.URL.Path, "/api/") {
			api.WriteProblem(w, r, http.StatusForbidden, "cross_origin_request", "Cross-origin requests that change state are refused.")
			return
		}
		http.Error(w, "This form was sent from another site, so it was refused. Go back to twofold and try again.", http.StatusForbidden)
	}))

	// An app's server calls these with its credentials or a bearer
	// token, never with the browser's cookie, and an app in a browser
	// (a public client) calls them from its own origin.
	for _, p := range []string{"POST /oauth2/token", "POST /oauth2/revoke", "POST /oauth2/introspect", "POST /oauth2/userinfo"} {
		cop.AddInsecureBypassPattern(p)
	}

	var h http.Handler = route.Recorded(mux)
	h = withDeadline(h, RequestDeadline)
	h = limitBody(h)
	h = cop.Handler(h)
	h = securityHeaders(h, o.Secure)
	h = recoverPanics(h, o.Logger)
	h = accessLog(h, o.Logger)
	h = realIP(h, o.TrustedProxies)
	h = withRequestID(h)
	if o.Instrument != nil {
		h = o.Instrument(h)
	}
	return h
}

func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(requestid.With(r.Context(), id)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// accessLog logs one line per request: never bodies, cookies or query
// strings, which is where codes and passwords could travel. A forward-auth
// check that lets a request through (a 2xx of /api/v1/authz/) is logged
// at debug level only: a reverse proxy asks before every request of every
// protected app and logs that request itself, and at info level these
// lines were the largest cost of a check after its one read. Every check
// that refuses or redirects is logged as before.
func accessLog(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		if rec.status >= 200 && rec.status < 300 && strings.HasPrefix(r.URL.Path, authzPrefix) {
			level = slog.LevelDebug
		}
		if !log.Enabled(r.Context(), level) {
			return
		}
		log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"bytes", rec.bytes, "duration_ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr,
			"request_id", requestid.From(r.Context()))
	})
}

// authzPrefix is where the forward-auth checks are (internal/api/authz.go).
const authzPrefix = "/api/v1/authz/"

func recoverPanics(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil || v == http.ErrAbortHandler {
				if v != nil {
					panic(v)
				}
				return
			}
			id := requestid.From(r.Context())
			log.ErrorContext(r.Context(), "panic serving request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()), "request_id", id)
			if strings.HasPrefix(r.URL.Path, "/api/") {
				api.WriteProblem(w, r, http.StatusInternalServerError, "internal_error", "Something went wrong on our side. Quote request id "+id+" if you report it.")
				return
			}
			http.Error(w, "Something went wrong on our side. Quote request id "+id+" if you report it.", http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}

// The security headers, each value a one-element slice shared by every
// response: assigned to the header map directly, they cost neither the
// key's canonicalization nor an allocation per request (http.Header.Set
// does both). Nothing appends to a shared slice in place: an append to a
// full slice copies it.
var (
	securityHeaderValues = [][2]string{
		{"Content-Security-Policy", ContentSecurityPolicy},
		{"X-Content-Type-Options", "nosniff"},
		{"X-Frame-Options", "DENY"},
		{"Referrer-Policy", "no-referrer"},
		{"Cross-Origin-Opener-Policy", "same-origin"},
		{"Permissions-Policy", "camera=(), microphone=(), geolocation=()"},
	}
	noStore = []string{"no-store"}
	hsts    = []string{"max-age=63072000; includeSubDomains"}
)

func securityHeaders(next http.Handler, secure bool) http.Handler {
	values := make([][]string, len(securityHeaderValues))
	for i, kv := range securityHeaderValues {
		values[i] = []string{kv[1]}
	}
	set := func(h http.Header) {
		for i, kv := range securityHeaderValues {
			h[kv[0]] = values[i]
		}
		if secure {
			h["Strict-Transport-Security"] = hsts
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			// Pages and API answers carry personal data and one-time codes.
			h["Cache-Control"] = noStore
		}
		if strings.HasPrefix(r.URL.Path, authzPrefix) {
			// A forward-auth check's 2xx goes to the proxy alone (nginx's
			// auth_request reads its status; Traefik and Caddy copy the
			// Remote-* headers into the upstream request): no browser
			// renders it, so these headers would only cost both ends on
			// every check. Every other answer of a check (the sign-in
			// redirect, 401, 403), which Traefik and Caddy hand to the
			// browser, has them.
			w = &headersUnlessAllowed{ResponseWriter: w, set: set}
		} else {
			set(h)
		}
		next.ServeHTTP(w, r)
	})
}

// headersUnlessAllowed adds the security headers when the status written
// is not 2xx.
type headersUnlessAllowed struct {
	http.ResponseWriter
	set   func(http.Header)
	wrote bool
}

func (w *headersUnlessAllowed) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if code < 200 || code > 299 {
			w.set(w.Header())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *headersUnlessAllowed) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *headersUnlessAllowed) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func withDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				api.WriteProblem(w, r, http.StatusRequestEntityTooLarge, "request_too_large", "The request body is larger than 1 MiB.")
				return
			}
			http.Error(w, "The request is too large.", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}
