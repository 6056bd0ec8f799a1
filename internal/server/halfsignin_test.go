package server_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/api"
	"github.com/twofold/twofold/internal/server"
	"github.com/twofold/twofold/internal/web"
)

// routePatterns reads every pattern registered in a routes.go file, so a
// route added later is checked without anyone remembering to list it here.
// Patterns must be plain string literals, so that this reading stays simple.
func routePatterns(t *testing.T, file string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Errorf("%s: a route pattern that is not a string literal; this test cannot check it", fset.Position(call.Pos()))
			return true
		}
		p, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Errorf("%s: route pattern %s: %v", fset.Position(lit.Pos()), lit.Value, err)
			return true
		}
		patterns = append(patterns, p)
		return true
	})
	if len(patterns) < 5 {
		t.Fatalf("found only %d routes in %s", len(patterns), file)
	}
	return patterns
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// requestFor turns a pattern into a concrete request: "GET /static/" →
// GET /static/x, "/" (any method) → GET /anything.
func requestFor(pattern string) (method, path string) {
	method, path = "GET", pattern
	if m, p, ok := strings.Cut(pattern, " "); ok {
		method, path = m, p
	}
	path = strings.ReplaceAll(path, "{$}", "")
	path = wildcard.ReplaceAllString(path, "x")
	if strings.HasSuffix(path, "/") && path != "/" {
		path += "x"
	}
	if path == "/" && !strings.Contains(pattern, " ") {
		path = "/no-such-page"
	}
	return method, path
}

// Routes a visitor may use without any session, and the only ones a
// half-signed-in session may use for what it is.
var (
	publicRoutes = map[string]bool{
		"GET /{$}": true, "GET /signup": true, "POST /signup": true, "GET /signin": true, "POST /signin": true,
		"GET /static/": true, "/": true,
		"GET /signup/confirm": true, "POST /signup/confirm": true,
		"POST /api/v1/signup": true, "POST /api/v1/signup/confirm": true, "POST /api/v1/session": true,
		"POST /api/v1/invitations/accept": true, "GET /invite": true, "POST /invite": true,
		// A recovery's cancel link works without a session.
		"POST /api/v1/recovery/cancel": true, "GET /recovery/cancel": true, "POST /recovery/cancel": true,
		"GET /this-wasnt-me": true, "POST /this-wasnt-me": true, "POST /api/v1/this-wasnt-me": true,
		// An app's OpenID sign-in request: it leads to the sign-in pages
		// (a half-signed-in session to the code step) and hands a code to
		// the app only for a complete one (internal/web's oidc tests).
		"GET /oidc/continue": true,
	}
	pendingRoutes = map[string]bool{
		"GET /signin/two-factor": true, "POST /signin/two-factor": true, "POST /signout": true, "GET /signout": true,
		"GET /signin/lost-phone": true, "POST /signin/lost-phone": true,
		"POST /api/v1/session/two-factor": true, "DELETE /api/v1/session": true,
		"POST /api/v1/session/help-request": true,
		"POST /api/v1/session/recovery/sms": true, "POST /api/v1/session/recovery": true,
		"GET /signin/recovery": true, "POST /signin/recovery/sms": true, "POST /signin/recovery": true,
	}
)

// forwardedHeaders are what a reverse proxy tells the forward-auth
// endpoints about the original request; other routes ignore them.
var forwardedHeaders = map[string]string{
	"X-Original-URL": "https://app.example.com/", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com", "X-Forwarded-Uri": "/",
}

// A session that passed the password step but not the code step reaches
// nothing but the code step and sign-out: every other route of the pages
// and the API refuses it.
func TestHalfSignedInSessionReachesNothingElse(t *testing.T) {
	env := accounttest.New(t)
	ctx := context.Background()
	c := account.Client{IP: "192.0.2.1"}
	_, token := env.SignUp(t, account.SignUpInput{Email: "ana@example.com", Password: "correct horse battery", Name: "Ana", MobilePhone: "+61412345678"}, c)
	sess, _ := env.Service.Authenticate(ctx, token)
	setup, err := env.Service.BeginTOTPSetup(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Service.EnableTOTP(ctx, sess, env.Code(t, setup.Secret), c); err != nil {
		t.Fatal(err)
	}
	pending, stage, err := env.Service.SignIn(ctx, account.SignInInput{Email: "ana@example.com", Password: "correct horse battery"}, c)
	if err != nil || stage != account.StageSecondFactor {
		t.Fatalf("SignIn = %q, %v", stage, err)
	}

	pages, err := web.New(env.Service, web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := server.Handler(server.Options{Web: pages, API: api.New(env.Service, api.Options{
		// The forward-auth endpoints answer the trusted proxy (httptest's peer) only.
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}), Logger: discardLogger()})

	var patterns []string
	patterns = append(patterns, routePatterns(t, filepath.Join("..", "web", "routes.go"))...)
	patterns = append(patterns, routePatterns(t, filepath.Join("..", "api", "routes.go"))...)
	checked := 0
	for _, pattern := range patterns {
		if publicRoutes[pattern] || pendingRoutes[pattern] {
			continue
		}
		method, path := requestFor(pattern)
		send := func(method, path string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(method, path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			req.AddCookie(&http.Cookie{Name: "twofold_session", Value: pending})
			for k, v := range forwardedHeaders {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		rec := send(method, path)
		checked++
		if strings.HasPrefix(path, "/api/") {
			if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"code":"two_factor_required"`) {
				t.Errorf("%s with a half-signed-in session = %d %s; want 401 two_factor_required", pattern, rec.Code, rec.Body)
			}
			continue
		}
		// A page answers with redirects only, ending at the code step (a
		// page may first redirect to another page, which then does).
		hops := []string{}
		for range 3 {
			loc := rec.Header().Get("Location")
			if rec.Code/100 != 3 || loc == "" {
				break
			}
			hops = append(hops, loc)
			if loc == "/signin/two-factor" {
				break
			}
			rec = send("GET", loc)
		}
		if len(hops) == 0 || hops[len(hops)-1] != "/signin/two-factor" {
			t.Errorf("%s with a half-signed-in session = %d via %v; want only redirects, ending at /signin/two-factor", pattern, rec.Code, hops)
		}
	}
	t.Logf("checked %d private routes", checked)
	// The pending session still works for what it is for.
	req := httptest.NewRequest("GET", "/signin/two-factor", nil)
	req.AddCookie(&http.Cookie{Name: "twofold_session", Value: pending})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("GET /signin/two-factor with the pending session = %d; want 200", rec.Code)
	}
}

// Session fixation: a session id planted before sign-in is not the one
// that ends up signed in, and the id changes again at the code step.
func TestSessionIDChangesAtEachStep(t *testing.T) {
	env := accounttest.New(t)
	ctx := context.Background()
	c := account.Client{IP: "192.0.2.1"}
	_, first := env.SignUp(t, account.SignUpInput{Email: "ana@example.com", Password: "correct horse battery", Name: "Ana", MobilePhone: "+61412345678"}, c)
	sess, _ := env.Service.Authenticate(ctx, first)
	setup, _ := env.Service.BeginTOTPSetup(ctx, sess)
	if err := env.Service.EnableTOTP(ctx, sess, env.Code(t, setup.Secret), c); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(30e9)
	h := api.New(env.Service, api.Options{})
	post := func(path, cookie, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "twofold_session", Value: cookie})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	planted := "attacker-chosen-session-id"
	rec := post("/api/v1/session", planted, `{"email":"ana@example.com","password":"correct horse battery"}`)
	pending := cookieValue(rec)
	if rec.Code != 200 || pending == "" || pending == planted {
		t.Fatalf("password step = %d, cookie %q; want 200 and a new server-made id", rec.Code, pending)
	}
	rec = post("/api/v1/session/two-factor", pending, `{"code":"`+env.Code(t, setup.Secret)+`"}`)
	full := cookieValue(rec)
	if rec.Code != 200 || full == "" || full == pending {
		t.Fatalf("code step = %d, cookie %q; want 200 and an id different from the pending one", rec.Code, full)
	}
	for _, old := range []string{planted, pending} {
		if _, err := env.Service.Session(ctx, old); err == nil {
			t.Errorf("session %q still valid after the sign-in", old)
		}
	}
}

func cookieValue(rec *httptest.ResponseRecorder) string {
	for _, c := range rec.Result().Cookies() {
		if c.Name == "twofold_session" {
			return c.Value
		}
	}
	return ""
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
