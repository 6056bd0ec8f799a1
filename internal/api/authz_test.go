package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/httpauth"
)

// authzEnv is a service with an administrator and a member, an API that
// trusts 10.0.0.0/8 as its proxies, and the two tokens.
type authzEnv struct {
	env           *accounttest.Env
	h             http.Handler
	admin, member string
	adminSess     *account.Session
}

const baseURL = "https://auth.example.com"

func newAuthzEnv(t *testing.T) *authzEnv {
	t.Helper()
	ctx := context.Background()
	env := accounttest.New(t)
	c := account.Client{IP: "192.0.2.9"}
	link, err := env.Service.CreateSetupLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	_, admin, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: u.Query().Get("token"), Email: "ada@example.com", Name: "Ada Admin", Password: "correct horse battery"}, c)
	if err != nil {
		t.Fatal(err)
	}
	_, member := env.SignUp(t, account.SignUpInput{Email: "bo@example.com", Password: "correct horse battery", Name: "Bo Member", MobilePhone: "+61412345678"}, c)
	adminSess, err := env.Service.Authenticate(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	h := New(env.Service, Options{Logger: slog.New(slog.DiscardHandler), BaseURL: baseURL,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	return &authzEnv{env: env, h: h, admin: admin, member: member, adminSess: adminSess}
}

// check sends a forward-auth request from peer with the headers and the
// session token.
func (e *authzEnv) check(method, path, peer, token string, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = peer + ":40000"
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: httpauth.CookieName, Value: token})
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

func problemCode(rec *httptest.ResponseRecorder) string {
	var p struct{ Code string }
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	return p.Code
}

func TestAuthzEndpoints(t *testing.T) {
	e := newAuthzEnv(t)
	ctx := context.Background()
	if _, err := e.env.Service.CreateProtectedApp(ctx, e.adminSess, account.AppInput{Host: "admin.example.com", Access: account.AccessAdmins}, account.Client{}); err != nil {
		t.Fatal(err)
	}
	const ar, fa = "/api/v1/authz/auth-request", "/api/v1/authz/forward-auth"
	orig := map[string]string{"X-Original-URL": "https://app.example.com/a/b?c=d&e=f", "X-Original-Method": "GET"}
	fwd := func(host string, more ...string) map[string]string {
		m := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": host, "X-Forwarded-Uri": "/a/b?c=d&e=f", "X-Forwarded-Method": "GET"}
		for i := 0; i+1 < len(more); i += 2 {
			m[more[i]] = more[i+1]
		}
		return m
	}
	signIn := baseURL + "/signin?rd=" + url.QueryEscape("https://app.example.com/a/b?c=d&e=f")
	tests := []struct {
		name, method, path, peer, token string
		headers                         map[string]string
		status                          int
		code, location, user            string
	}{
		{"untrusted peer", "GET", ar, "192.0.2.1", e.member, orig, 403, "untrusted_proxy", "", ""},
		{"untrusted peer, forward-auth", "GET", fa, "203.0.113.5", e.member, fwd("app.example.com"), 403, "untrusted_proxy", "", ""},
		{"no original URL", "GET", ar, "10.1.2.3", e.member, nil, 400, "invalid_request", "", ""},
		{"not a URL", "GET", ar, "10.1.2.3", e.member, map[string]string{"X-Original-URL": "javascript:alert(1)"}, 400, "invalid_request", "", ""},
		{"relative URL", "GET", ar, "10.1.2.3", e.member, map[string]string{"X-Original-URL": "/a"}, 400, "invalid_request", "", ""},
		{"no session", "GET", ar, "10.1.2.3", "", orig, 401, "sign_in_required", signIn, ""},
		{"unknown session", "GET", ar, "10.1.2.3", "nope", orig, 401, "sign_in_required", signIn, ""},
		{"member", "GET", ar, "10.1.2.3", e.member, orig, 200, "", "", "bo@example.com"},
		{"member, HEAD", "HEAD", ar, "10.1.2.3", e.member, orig, 200, "", "", "bo@example.com"},
		{"member, admins-only app", "GET", ar, "10.1.2.3", e.member, map[string]string{"X-Original-URL": "https://admin.example.com/"}, 403, "app_forbidden", "", ""},
		{"admin, admins-only app", "GET", ar, "10.1.2.3", e.admin, map[string]string{"X-Original-URL": "https://admin.example.com/"}, 200, "", "", "ada@example.com"},
		{"forward-auth browser without session", "GET", fa, "10.1.2.3", "", fwd("app.example.com", "Accept", "text/html,application/xhtml+xml"), 302, "", signIn, ""},
		{"forward-auth API client without session", "GET", fa, "10.1.2.3", "", fwd("app.example.com", "Accept", "application/json"), 401, "sign_in_required", signIn, ""},
		{"forward-auth member", "GET", fa, "10.1.2.3", e.member, fwd("app.example.com:443"), 200, "", "", "bo@example.com"},
		{"forward-auth member, admins-only", "GET", fa, "10.1.2.3", e.member, fwd("Admin.Example.com"), 403, "app_forbidden", "", ""},
		{"forward-auth no proto", "GET", fa, "10.1.2.3", e.member, map[string]string{"X-Forwarded-Host": "app.example.com"}, 400, "invalid_request", "", ""},
		{"forward-auth two hosts", "GET", fa, "10.1.2.3", e.member, fwd("app.example.com, evil.example"), 400, "invalid_request", "", ""},
		{"forward-auth host with path", "GET", fa, "10.1.2.3", e.member, fwd("app.example.com/x"), 400, "invalid_request", "", ""},
		{"forward-auth absolute URI", "GET", fa, "10.1.2.3", e.member, fwd("app.example.com", "X-Forwarded-Uri", "http://evil.example/"), 400, "invalid_request", "", ""},
		{"POST is not a check", "POST", ar, "10.1.2.3", e.member, orig, 405, "method_not_allowed", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.check(tt.method, tt.path, tt.peer, tt.token, tt.headers)
			if rec.Code != tt.status {
				t.Fatalf("%s %s = %d %s; want %d", tt.method, tt.path, rec.Code, rec.Body, tt.status)
			}
			if tt.code != "" && problemCode(rec) != tt.code {
				t.Errorf("code = %q; want %q", problemCode(rec), tt.code)
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("Location = %q; want %q", got, tt.location)
			}
			if got := rec.Header().Get("Remote-User"); got != tt.user {
				t.Errorf("Remote-User = %q; want %q", got, tt.user)
			}
			if tt.status == 200 {
				want := map[string]string{"Remote-Email": tt.user, "Remote-Groups": "member", "Remote-Name": "Bo Member"}
				if tt.user == "ada@example.com" {
					want["Remote-Groups"], want["Remote-Name"] = "admin", "Ada Admin"
				}
				for k, v := range want {
					if got := rec.Header().Get(k); got != v {
						t.Errorf("%s = %q; want %q", k, got, v)
					}
				}
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q; want no-store", rec.Header().Get("Cache-Control"))
			}
		})
	}
}

// A half-signed-in session is sent to sign in (the sign-in page sends it
// on to the code step), never let through.
func TestAuthzHalfSignedIn(t *testing.T) {
	e := newAuthzEnv(t)
	s := e.env.SessionsInEveryState(t, "correct horse battery", account.Client{IP: "192.0.2.3"})
	rec := e.check("GET", "/api/v1/authz/auth-request", "10.0.0.1", s.Pending, map[string]string{"X-Original-URL": "https://app.example.com/"})
	if rec.Code != 401 || problemCode(rec) != "two_factor_required" || rec.Header().Get("Remote-User") != "" {
		t.Errorf("half-signed-in = %d %s; want 401 two_factor_required", rec.Code, rec.Body)
	}
}

// The protected apps through the API: create, list, change, remove, the
// default; every bad input a problem with a code.
func TestAdminAppsAPI(t *testing.T) {
	e := newAuthzEnv(t)
	send := func(method, path, token, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.AddCookie(&http.Cookie{Name: httpauth.CookieName, Value: token})
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec
	}
	rec := send("POST", "/api/v1/admin/apps", e.admin, `{"host":"App.Example.com","path_prefix":"/admin","access":"admins","require_two_factor":true}`)
	var a appJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &a); rec.Code != 201 || err != nil || a.Host != "app.example.com" || a.PathPrefix != "/admin/" || !a.RequireTwoFactor {
		t.Fatalf("POST /admin/apps = %d %s", rec.Code, rec.Body)
	}
	id := "/api/v1/admin/apps/" + strings.TrimPrefix(rec.Header().Get("Location"), "/api/v1/admin/apps/")
	problems := []struct {
		method, path, token, body string
		status                    int
		code, field               string
	}{
		{"POST", "/api/v1/admin/apps", e.admin, `{"host":"app.example.com","path_prefix":"/admin/","access":"everyone"}`, 409, "app_exists", ""},
		{"POST", "/api/v1/admin/apps", e.admin, `{"host":"https://x","access":"everyone"}`, 422, "validation_failed", "host"},
		{"POST", "/api/v1/admin/apps", e.admin, `{"host":"x.example.com","access":"sometimes"}`, 422, "validation_failed", "access"},
		{"POST", "/api/v1/admin/apps", e.admin, `{"host":"x.example.com","path_prefix":"nope","access":"everyone"}`, 422, "validation_failed", "path_prefix"},
		{"POST", "/api/v1/admin/apps", e.admin, `{"host":"x.example.com","access":"everyone","color":"red"}`, 400, "invalid_request", "color"},
		{"POST", "/api/v1/admin/apps", e.admin, `{"host":7}`, 400, "invalid_request", "host"},
		{"POST", "/api/v1/admin/apps", e.member, `{"host":"x.example.com","access":"everyone"}`, 403, "forbidden", ""},
		{"PATCH", "/api/v1/admin/apps/9999", e.admin, `{"access":"everyone"}`, 404, "not_found", ""},
		{"PATCH", "/api/v1/admin/apps/abc", e.admin, `{"access":"everyone"}`, 404, "not_found", ""},
		{"DELETE", "/api/v1/admin/apps/9999", e.admin, ``, 404, "not_found", ""},
		{"PATCH", "/api/v1/admin/apps/default", e.admin, `{"access":"admins"}`, 422, "validation_failed", "access"},
		{"GET", "/api/v1/admin/apps", "", ``, 401, "unauthenticated", ""},
	}
	for _, p := range problems {
		rec := send(p.method, p.path, p.token, p.body)
		var pr problem
		_ = json.Unmarshal(rec.Body.Bytes(), &pr)
		if rec.Code != p.status || pr.Code != p.code || (p.field != "" && pr.Errors[p.field] == "") {
			t.Errorf("%s %s %s = %d %s; want %d %s (field %q)", p.method, p.path, p.body, rec.Code, rec.Body, p.status, p.code, p.field)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: Content-Type %q", p.method, p.path, ct)
		}
	}
	if rec := send("PATCH", id, e.admin, `{"access":"everyone"}`); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"access":"everyone"`) || !strings.Contains(rec.Body.String(), `"path_prefix":"/admin/"`) {
		t.Errorf("PATCH %s = %d %s; want access changed, the rest kept", id, rec.Code, rec.Body)
	}
	if rec := send("PATCH", "/api/v1/admin/apps/default", e.admin, `{"access":"deny"}`); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"default_access":"deny"`) {
		t.Errorf("PATCH default = %d %s", rec.Code, rec.Body)
	}
	if rec := send("DELETE", id, e.admin, ``); rec.Code != 204 {
		t.Errorf("DELETE %s = %d %s; want 204", id, rec.Code, rec.Body)
	}
	if rec := send("GET", "/api/v1/admin/apps", e.admin, ``); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"apps":[]`) {
		t.Errorf("GET /admin/apps = %d %s; want no apps", rec.Code, rec.Body)
	}
}
