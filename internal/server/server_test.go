package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/api"
	"github.com/twofold/twofold/internal/server"
	"github.com/twofold/twofold/internal/web"
)

func newHandler(t *testing.T, secure bool) (http.Handler, *bytes.Buffer) {
	t.Helper()
	env := accounttest.New(t)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	pages, err := web.New(env.Service, web.Options{Secure: secure, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return server.Handler(server.Options{
		Web: pages, API: api.New(env.Service, api.Options{Secure: secure, Logger: log}),
		Secure: secure, Logger: log,
	}), logs
}

// Every state-changing page and API route refuses a cross-site request.
func TestCrossOriginRequestsAreRefused(t *testing.T) {
	h, _ := newHandler(t, false)
	// Every route of the pages and the API that is not GET (read from the
	// routes.go files, so a new one is covered without listing it here).
	type route struct{ method, path string }
	var routes []route
	for _, file := range []string{"../web/routes.go", "../api/routes.go"} {
		for _, pattern := range routePatterns(t, file) {
			method, path := requestFor(pattern)
			if !strings.Contains(pattern, " ") || method == "GET" {
				continue
			}
			routes = append(routes, route{method, path})
		}
	}
	if len(routes) < 19 {
		t.Fatalf("found %d state-changing routes; want at least the 19 that exist", len(routes))
	}
	for _, rt := range routes {
		for _, hdr := range []struct{ name, value string }{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
			req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(`{}`))
			req.Header.Set(hdr.name, hdr.value)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Errorf("%s %s with %s: %s = %d; want 403", rt.method, rt.path, hdr.name, hdr.value, rec.Code)
			}
			if strings.HasPrefix(rt.path, "/api/") && !strings.Contains(rec.Body.String(), `"code":"cross_origin_request"`) {
				t.Errorf("%s %s cross-origin body = %s; want problem+json with a code", rt.method, rt.path, rec.Body)
			}
		}
	}
	// The same request from the same origin gets through to the handler.
	req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"email":"a@example.com","password":"x"}`))
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code == http.StatusForbidden {
		t.Errorf("same-origin POST = 403; want it to reach the API")
	}
}

func TestSecurityHeaders(t *testing.T) {
	for _, secure := range []bool{false, true} {
		h, _ := newHandler(t, secure)
		for _, path := range []string{"/signin", "/api/v1/me", "/healthz"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			hdr := rec.Header()
			csp := hdr.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("GET %s CSP = %q", path, csp)
			}
			for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
				if got := hdr.Get(name); got != want {
					t.Errorf("GET %s %s = %q; want %q", path, name, got, want)
				}
			}
			if hsts := hdr.Get("Strict-Transport-Security"); (hsts != "") != secure {
				t.Errorf("GET %s (secure=%v) HSTS = %q", path, secure, hsts)
			}
			if hdr.Get("X-Request-Id") == "" {
				t.Errorf("GET %s has no X-Request-Id", path)
			}
		}
	}
}

func TestBodyLimit(t *testing.T) {
	h, _ := newHandler(t, false)
	big := bytes.Repeat([]byte("a"), server.MaxBodyBytes+1)
	for _, path := range []string{"/api/v1/session", "/signin"} {
		req := httptest.NewRequest("POST", path, bytes.NewReader(big))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with %d bytes = %d; want 413", path, len(big), rec.Code)
		}
	}
}

func TestPanicsBecomeAnApologyNotAStackTrace(t *testing.T) {
	logs := &bytes.Buffer{}
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret detail") })
	h := server.Handler(server.Options{Web: boom, API: boom, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	for _, path := range []string{"/", "/api/v1/me"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body, _ := io.ReadAll(rec.Body)
		id := rec.Header().Get("X-Request-Id")
		if rec.Code != 500 || strings.Contains(string(body), "secret detail") || strings.Contains(string(body), "goroutine") || !strings.Contains(string(body), id) {
			t.Errorf("GET %s panic = %d %q; want 500 with the request id and no detail", path, rec.Code, body)
		}
	}
	if !strings.Contains(logs.String(), "secret detail") {
		t.Error("the panic was not logged")
	}
}

func TestHealthz(t *testing.T) {
	h, _ := newHandler(t, false)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "ok" {
		t.Errorf("GET /healthz = %d %q; want 200 ok", rec.Code, rec.Body)
	}
}

// Behind a trusted load balancer, the activity log, the mail and so the
// per-IP throttles see the client's address, not the balancer's.
func TestTrustedProxyClientAddressReachesTheService(t *testing.T) {
	env := accounttest.New(t)
	log := slog.New(slog.DiscardHandler)
	pages, err := web.New(env.Service, web.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h := server.Handler(server.Options{Web: pages, API: api.New(env.Service, api.Options{Logger: log}), Logger: log,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	post := func(path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "198.51.100.23")
		req.RemoteAddr = "10.1.2.3:5555"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := post("/api/v1/signup", `{"email":"ana@example.com","password":"correct horse battery","name":"Ana"}`); rec.Code != http.StatusAccepted {
		t.Fatalf("signup = %d %s", rec.Code, rec.Body)
	}
	ctx := context.Background()
	msgs, err := env.Store.Notifications(ctx, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("outbox = %v, %v; want the sign-up link", msgs, err)
	}
	if body := msgs[0].Body; !strings.Contains(body, "198.51.100.23") || strings.Contains(body, "10.1.2.3") {
		t.Errorf("sign-up mail %q; want the forwarded client 198.51.100.23, not the balancer", body)
	}
	token := env.SignUpLink(t, "ana@example.com")
	if rec := post("/api/v1/signup/confirm", `{"token":"`+token+`","password":"correct horse battery"}`); rec.Code != http.StatusCreated {
		t.Fatalf("signup/confirm = %d %s", rec.Code, rec.Body)
	}
	events, err := env.Service.Events(ctx, 1)
	if err != nil || len(events) == 0 {
		t.Fatalf("Events = %v, %v", events, err)
	}
	if events[0].IP != "198.51.100.23" {
		t.Errorf("recorded IP = %q; want the forwarded client 198.51.100.23", events[0].IP)
	}
}

// A forward-auth check that lets the request through is logged at debug
// level only (the proxy logs the request it protects); one that refuses
// is logged at info, as every other request is.
func TestAccessLogOfForwardAuthChecks(t *testing.T) {
	for _, tt := range []struct {
		status int
		level  slog.Level
		logged bool
	}{
		{200, slog.LevelInfo, false},
		{200, slog.LevelDebug, true},
		{401, slog.LevelInfo, true},
		{403, slog.LevelInfo, true},
		{302, slog.LevelInfo, true},
	} {
		logs := &bytes.Buffer{}
		log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: tt.level}))
		answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) })
		h := server.Handler(server.Options{Web: answer, API: answer, Logger: log})
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/authz/forward-auth", nil))
		if got := strings.Contains(logs.String(), "msg=request"); got != tt.logged {
			t.Errorf("a %d check at log level %v: logged %v; want %v (%q)", tt.status, tt.level, got, tt.logged, logs)
		}
	}
	// Other 200s are logged at info as before.
	logs := &bytes.Buffer{}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := server.Handler(server.Options{Web: ok, API: ok, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/me", nil))
	if !strings.Contains(logs.String(), "msg=request") {
		t.Errorf("GET /api/v1/me was not logged: %q", logs)
	}
}

// A forward-auth check's 2xx, which only the proxy reads, goes without
// the security headers; every other answer of a check (which Traefik and
// Caddy hand to the browser) has them.
func TestSecurityHeadersOfForwardAuthChecks(t *testing.T) {
	for _, status := range []int{200, 204, 302, 401, 403, 500} {
		answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
		h := server.Handler(server.Options{Web: answer, API: answer, Secure: true, Logger: slog.New(slog.DiscardHandler)})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/authz/auth-request", nil))
		hdr := rec.Header()
		has := hdr.Get("Content-Security-Policy") != "" && hdr.Get("X-Frame-Options") == "DENY" && hdr.Get("Strict-Transport-Security") != ""
		if want := status < 200 || status > 299; has != want {
			t.Errorf("a check answering %d: security headers %v; want %v (%v)", status, has, want, hdr)
		}
		if hdr.Get("Cache-Control") != "no-store" || hdr.Get("X-Request-Id") == "" {
			t.Errorf("a check answering %d: Cache-Control %q, X-Request-Id %q; want no-store and an id", status, hdr.Get("Cache-Control"), hdr.Get("X-Request-Id"))
		}
	}
}
