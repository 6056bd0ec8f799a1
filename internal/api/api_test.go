package api

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/requestid"
)

// signedUp returns a client signed in as a new user, with a mobile number
// when phone is not "".
func signedUp(t *testing.T, env *accounttest.Env, srv *httptest.Server, email, phone string) *apiClient {
	t.Helper()
	c := newClient(t, srv)
	body := map[string]string{"email": email, "password": anaPassword, "name": "Test User"}
	if phone != "" {
		body["mobile_phone"] = phone
	}
	wantJSON(t, "confirm sign-up "+email, c.signUp(env, body), 201, nil)
	return c
}

// An unknown email and a wrong password are indistinguishable.
func TestSignInUnknownEmailAndWrongPasswordLookAlike(t *testing.T) {
	env, srv := newServer(t)
	signedUp(t, env, srv, anaEmail, "")
	c := newClient(t, srv)

	unknown := c.send("POST", "/api/v1/session", jsonBody(t, map[string]string{"email": "nobody@example.com", "password": anaPassword}))
	wrong := c.send("POST", "/api/v1/session", jsonBody(t, map[string]string{"email": anaEmail, "password": "not the password"}))
	wantProblem(t, "unknown email", unknown, 401, "invalid_credentials")
	wantProblem(t, "wrong password", wrong, 401, "invalid_credentials")
	if unknown.status != wrong.status {
		t.Errorf("status: unknown email %d; wrong password %d", unknown.status, wrong.status)
	}
	if !bytes.Equal(unknown.body, wrong.body) {
		t.Errorf("body: unknown email %q; wrong password %q", unknown.body, wrong.body)
	}
	for _, h := range []string{"Content-Type", "Set-Cookie", "Retry-After"} {
		if u, w := unknown.header.Get(h), wrong.header.Get(h); u != w {
			t.Errorf("%s: unknown email %q; wrong password %q", h, u, w)
		}
	}

	var st statusResponse
	wantJSON(t, "right password", c.send("POST", "/api/v1/session", jsonBody(t, map[string]string{"email": anaEmail, "password": anaPassword})), 200, &st)
	if st.Status != "authenticated" {
		t.Errorf("status %q; want %q", st.Status, "authenticated")
	}
}

// Every kind of bad input is a 4xx problem with a code, never a 500.
func TestBadInput(t *testing.T) {
	env, srv := newServer(t)
	signedIn := signedUp(t, env, srv, "bob@example.com", "")
	anon := newClient(t, srv)

	const validSignUp = `{"email":"new@example.com","password":"long enough pw","name":"New"}`
	huge := `{"name":"` + strings.Repeat("a", 1<<20+1) + `"}`
	tests := []struct {
		name        string
		client      *apiClient
		method      string
		path        string
		contentType string
		body        string
		status      int
		code        string
		field       string // expected key in errors, if any
	}{
		{"email is a number", anon, "POST", "/api/v1/signup", "application/json", `{"email":1,"password":"long enough pw","name":"N"}`, 400, "invalid_request", "email"},
		{"password is an array", anon, "POST", "/api/v1/session", "application/json", `{"email":"a@example.com","password":["x"]}`, 400, "invalid_request", "password"},
		{"code is a number", anon, "POST", "/api/v1/session/two-factor", "application/json", `{"code":123456}`, 400, "invalid_request", "code"},
		{"name is an object", signedIn, "PATCH", "/api/v1/me", "application/json", `{"name":{"first":"Bob"}}`, 400, "invalid_request", "name"},
		{"unknown field", anon, "POST", "/api/v1/signup", "application/json", `{"email":"new@example.com","password":"long enough pw","name":"N","admin":true}`, 400, "invalid_request", "admin"},
		{"unknown field in PATCH", signedIn, "PATCH", "/api/v1/me", "application/json", `{"email":"x@example.com"}`, 400, "invalid_request", "email"},
		{"trailing garbage", anon, "POST", "/api/v1/session", "application/json", `{"email":"a@example.com","password":"long enough pw"} x`, 400, "invalid_request", ""},
		{"two objects", anon, "POST", "/api/v1/session", "application/json", `{"email":"a@example.com","password":"long enough pw"}{}`, 400, "invalid_request", ""},
		{"truncated JSON", anon, "POST", "/api/v1/session", "application/json", `{"email":"a@example.com",`, 400, "invalid_request", ""},
		{"not JSON", anon, "POST", "/api/v1/session", "application/json", `email=a@example.com`, 400, "invalid_request", ""},
		{"array body", anon, "POST", "/api/v1/session", "application/json", `[{"email":"a@example.com"}]`, 400, "invalid_request", ""},
		{"null body", anon, "POST", "/api/v1/session", "application/json", `null`, 400, "invalid_request", ""},
		{"string body", anon, "POST", "/api/v1/session", "application/json", `"hello"`, 400, "invalid_request", ""},
		{"empty body", anon, "POST", "/api/v1/session", "application/json", ``, 400, "invalid_request", ""},
		{"whitespace body", anon, "POST", "/api/v1/session/two-factor", "application/json", " \n ", 400, "invalid_request", ""},
		{"1 MiB body", anon, "POST", "/api/v1/signup", "application/json", huge, 413, "request_too_large", ""},
		{"1 MiB body on a no-input endpoint", signedIn, "POST", "/api/v1/me/backup-codes", "application/json", huge, 413, "request_too_large", ""},
		{"text/plain", anon, "POST", "/api/v1/signup", "text/plain", validSignUp, 415, "unsupported_media_type", ""},
		{"form content type", anon, "POST", "/api/v1/session", "application/x-www-form-urlencoded", `email=a%40example.com&password=x`, 415, "unsupported_media_type", ""},
		{"no content type", anon, "POST", "/api/v1/signup", "", validSignUp, 415, "unsupported_media_type", ""},
		{"latin-1 charset", anon, "POST", "/api/v1/signup", "application/json; charset=iso-8859-1", validSignUp, 415, "unsupported_media_type", ""},
		{"content type on PATCH", signedIn, "PATCH", "/api/v1/me", "text/plain", `{"name":"Bob"}`, 415, "unsupported_media_type", ""},
		{"invalid UTF-8", anon, "POST", "/api/v1/signup", "application/json", "{\"email\":\"new@example.com\",\"password\":\"long enough pw\",\"name\":\"\xff\xfe\"}", 400, "invalid_request", ""},
		{"NUL in name", anon, "POST", "/api/v1/signup", "application/json", `{"email":"new@example.com","password":"long enough pw","name":"Bo\u0000b"}`, 400, "invalid_request", "name"},
		{"NUL in password", anon, "POST", "/api/v1/session", "application/json", `{"email":"bob@example.com","password":"long enough pw\u0000"}`, 400, "invalid_request", "password"},
		{"NUL in PATCH phone", signedIn, "PATCH", "/api/v1/me", "application/json", `{"mobile_phone":"+61412345678\u0000"}`, 400, "invalid_request", "mobile_phone"},
		{"token is a number", anon, "POST", "/api/v1/signup/confirm", "application/json", `{"token":123,"password":"long enough pw"}`, 400, "invalid_request", "token"},
		{"unknown field at confirm", anon, "POST", "/api/v1/signup/confirm", "application/json", `{"token":"x","password":"long enough pw","email":"new@example.com"}`, 400, "invalid_request", "email"},
		{"empty confirm body", anon, "POST", "/api/v1/signup/confirm", "application/json", ``, 400, "invalid_request", ""},
		{"confirm as a form", anon, "POST", "/api/v1/signup/confirm", "application/x-www-form-urlencoded", `token=x&password=y`, 415, "unsupported_media_type", ""},
		{"unknown sign-up link", anon, "POST", "/api/v1/signup/confirm", "application/json", `{"token":"no-such-token","password":"long enough pw"}`, 410, "signup_link_invalid", ""},
		// The link is checked first: without a good one, a missing password is beside the point.
		{"unknown link without a password", anon, "POST", "/api/v1/signup/confirm", "application/json", `{"token":"no-such-token"}`, 410, "signup_link_invalid", ""},
		{"unknown link, empty password", anon, "POST", "/api/v1/signup/confirm", "application/json", `{"token":"no-such-token","password":""}`, 410, "signup_link_invalid", ""},
		{"bad phone at sign-up", anon, "POST", "/api/v1/signup", "application/json", `{"email":"new@example.com","password":"long enough pw","name":"N","mobile_phone":"12"}`, 422, "validation_failed", "mobile_phone"},
		{"landline", signedIn, "PATCH", "/api/v1/me", "application/json", `{"mobile_phone":"+61 2 9374 4000"}`, 422, "validation_failed", "mobile_phone"},
		{"phone without country code", signedIn, "PATCH", "/api/v1/me", "application/json", `{"mobile_phone":"0412 345 678"}`, 422, "validation_failed", "mobile_phone"},
		{"short password", anon, "POST", "/api/v1/signup", "application/json", `{"email":"new@example.com","password":"short","name":"N"}`, 422, "validation_failed", "password"},
		{"bad email", anon, "POST", "/api/v1/signup", "application/json", `{"email":"not-an-email","password":"long enough pw","name":"N"}`, 422, "validation_failed", "email"},
		{"missing name", anon, "POST", "/api/v1/signup", "application/json", `{"email":"new@example.com","password":"long enough pw"}`, 422, "validation_failed", "name"},
		{"empty name in PATCH", signedIn, "PATCH", "/api/v1/me", "application/json", `{"name":"  "}`, 422, "validation_failed", "name"},
		{"control character in name", signedIn, "PATCH", "/api/v1/me", "application/json", `{"name":"Bob\u0007"}`, 422, "validation_failed", "name"},
		{"empty confirm-password", signedIn, "POST", "/api/v1/session/confirm-password", "application/json", `{"password":""}`, 422, "validation_failed", "password"},
		{"new password is a number", signedIn, "POST", "/api/v1/me/password", "application/json", `{"current_password":"long enough pw","new_password":12345678}`, 400, "invalid_request", "new_password"},
		{"unknown field in password change", signedIn, "POST", "/api/v1/me/password", "application/json", `{"current_password":"long enough pw","new_password":"another long pw","password":"x"}`, 400, "invalid_request", "password"},
		{"NUL in new password", signedIn, "POST", "/api/v1/me/password", "application/json", `{"current_password":"long enough pw","new_password":"another\u0000long pw"}`, 400, "invalid_request", "new_password"},
		{"empty password change body", signedIn, "POST", "/api/v1/me/password", "application/json", ``, 400, "invalid_request", ""},
		{"password change as a form", signedIn, "POST", "/api/v1/me/password", "application/x-www-form-urlencoded", `current_password=x&new_password=y`, 415, "unsupported_media_type", ""},
		{"empty new password", signedIn, "POST", "/api/v1/me/password", "application/json", `{"current_password":"long enough pw","new_password":""}`, 422, "validation_failed", "new_password"},
		{"no session for a password change", anon, "POST", "/api/v1/me/password", "application/json", `{"current_password":"long enough pw","new_password":"another long pw"}`, 401, "unauthenticated", ""},
		{"input to a no-input endpoint", signedIn, "POST", "/api/v1/me/two-factor/setup", "application/json", `{"force":true}`, 400, "invalid_request", "force"},
		{"no-input endpoint, wrong type", signedIn, "POST", "/api/v1/me/backup-codes", "text/plain", `hello`, 415, "unsupported_media_type", ""},
		{"unknown path", anon, "GET", "/api/v1/nope", "", "", 404, "not_found", ""},
		{"unknown version", anon, "POST", "/api/v2/session", "application/json", `{}`, 404, "not_found", ""},
		{"trailing slash", signedIn, "GET", "/api/v1/me/", "", "", 404, "not_found", ""},
		{"wrong method", anon, "GET", "/api/v1/session", "", "", 405, "method_not_allowed", ""},
		{"PUT on me", signedIn, "PUT", "/api/v1/me", "application/json", `{}`, 405, "method_not_allowed", ""},
		{"no session", anon, "GET", "/api/v1/me", "", "", 401, "unauthenticated", ""},
		{"no session for the code step", anon, "POST", "/api/v1/session/two-factor", "application/json", `{"code":"123456"}`, 401, "unauthenticated", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			res := tc.client.sendRaw(tc.method, tc.path, tc.contentType, body)
			p := wantProblem(t, tc.name, res, tc.status, tc.code)
			if tc.field != "" && p.Errors[tc.field] == "" {
				t.Errorf("errors = %v; want a message for %q", p.Errors, tc.field)
			}
			if tc.status == 405 && res.header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}

	// None of it signed anybody up or broke the signed-in session.
	wantJSON(t, "GET /me after bad input", signedIn.send("GET", "/api/v1/me", ""), 200, nil)
	wantProblem(t, "sign in as never-created user", anon.send("POST", "/api/v1/session", `{"email":"new@example.com","password":"long enough pw"}`), 401, "invalid_credentials")
}

func TestAllowHeader(t *testing.T) {
	_, srv := newServer(t)
	c := newClient(t, srv)
	tests := []struct{ method, path, allow string }{
		{"PUT", "/api/v1/me", "GET, HEAD, PATCH"},
		{"GET", "/api/v1/session", "DELETE, POST"},
		{"DELETE", "/api/v1/signup", "POST"},
		{"GET", "/api/v1/signup/confirm", "POST"},
		{"GET", "/api/v1/me/password", "POST"},
	}
	for _, tc := range tests {
		res := c.send(tc.method, tc.path, "")
		wantProblem(t, tc.method+" "+tc.path, res, 405, "method_not_allowed")
		if got := res.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q; want %q", tc.method, tc.path, got, tc.allow)
		}
	}
}

func TestConflicts(t *testing.T) {
	env, srv := newServer(t)
	noPhone := signedUp(t, env, srv, "nophone@example.com", "")
	withPhone := signedUp(t, env, srv, "phone@example.com", "+447911123456")

	p := wantProblem(t, "setup without a phone", noPhone.send("POST", "/api/v1/me/two-factor/setup", ""), 409, "phone_required")
	if !strings.Contains(p.Detail, "mobile") {
		t.Errorf("setup without a phone: detail %q; want it to mention the mobile phone number", p.Detail)
	}
	wantProblem(t, "backup codes while 2FA is off", withPhone.send("POST", "/api/v1/me/backup-codes", ""), 409, "two_factor_not_enabled")
	wantProblem(t, "enable without setup", withPhone.send("POST", "/api/v1/me/two-factor/enable", `{"code":"123456"}`), 409, "no_pending_setup")
	wantProblem(t, "disable while off", withPhone.send("POST", "/api/v1/me/two-factor/disable", `{"password":"`+anaPassword+`","code":"123456"}`), 409, "two_factor_not_enabled")

	var setup setupResponse
	wantJSON(t, "setup", withPhone.send("POST", "/api/v1/me/two-factor/setup", ""), 200, &setup)
	wantProblem(t, "malformed enable code", withPhone.send("POST", "/api/v1/me/two-factor/enable", `{"code":"12ab"}`), 422, "validation_failed")
	wantJSON(t, "enable", withPhone.send("POST", "/api/v1/me/two-factor/enable", jsonBody(t, map[string]string{"code": env.Code(t, setup.Secret)})), 200, nil)
	wantProblem(t, "setup while on", withPhone.send("POST", "/api/v1/me/two-factor/setup", ""), 409, "two_factor_already_enabled")
	p = wantProblem(t, "remove the phone while on", withPhone.send("PATCH", "/api/v1/me", `{"mobile_phone":""}`), 422, "validation_failed")
	if p.Errors["mobile_phone"] == "" {
		t.Errorf("errors = %v; want a message for mobile_phone", p.Errors)
	}
}

// Sensitive changes need a password from the last 10 minutes.
func TestReauthentication(t *testing.T) {
	env, srv := newServer(t)
	c := signedUp(t, env, srv, anaEmail, "+61412345678")

	env.Clock.Advance(11 * time.Minute)
	wantProblem(t, "setup 11 minutes after sign-in", c.send("POST", "/api/v1/me/two-factor/setup", ""), 403, "reauthentication_required")
	wantProblem(t, "confirm with a wrong password", c.send("POST", "/api/v1/session/confirm-password", `{"password":"not the password"}`), 401, "invalid_credentials")
	wantJSON(t, "GET /me after a wrong confirmation", c.send("GET", "/api/v1/me", ""), 200, nil)

	var ok recentAuthResponse
	wantJSON(t, "confirm-password", c.send("POST", "/api/v1/session/confirm-password", jsonBody(t, map[string]string{"password": anaPassword})), 200, &ok)
	if !ok.RecentlyAuthenticated {
		t.Error("recently_authenticated = false; want true")
	}
	var setup setupResponse
	wantJSON(t, "setup after confirming", c.send("POST", "/api/v1/me/two-factor/setup", ""), 200, &setup)
	wantJSON(t, "enable", c.send("POST", "/api/v1/me/two-factor/enable", jsonBody(t, map[string]string{"code": env.Code(t, setup.Secret)})), 200, nil)

	env.Clock.Advance(11 * time.Minute)
	wantProblem(t, "backup codes 11 minutes later", c.send("POST", "/api/v1/me/backup-codes", ""), 403, "reauthentication_required")
	wantJSON(t, "confirm-password again", c.send("POST", "/api/v1/session/confirm-password", jsonBody(t, map[string]string{"password": anaPassword})), 200, nil)
	wantJSON(t, "backup codes after confirming", c.send("POST", "/api/v1/me/backup-codes", ""), 201, nil)
}

func TestSignOutWithoutSession(t *testing.T) {
	_, srv := newServer(t)
	res := newClient(t, srv).send("DELETE", "/api/v1/session", "")
	if res.status != 204 {
		t.Errorf("status %d; want 204", res.status)
	}
	if len(res.body) != 0 {
		t.Errorf("body %q; want none", res.body)
	}
}

// Signing in while holding a session ends the old one (no fixation).
func TestSignInReplacesPreviousSession(t *testing.T) {
	env, srv := newServer(t)
	c := signedUp(t, env, srv, anaEmail, "")
	before := c.token()
	wantJSON(t, "sign in", c.send("POST", "/api/v1/session", jsonBody(t, map[string]string{"email": anaEmail, "password": anaPassword})), 200, nil)
	if after := c.token(); after == "" || after == before {
		t.Errorf("token after sign in = %q; want a new one (was %q)", after, before)
	}
	stale := newClient(t, srv)
	stale.http.Jar.SetCookies(mustURL(t, srv.URL), []*http.Cookie{{Name: "twofold_session", Value: before, Path: "/"}})
	wantProblem(t, "old session after sign in", stale.send("GET", "/api/v1/me", ""), 401, "unauthenticated")
}

// The one error mapping: statuses, codes and headers for service errors,
// and nothing of an internal error's text reaches the client.
func TestProblemFor(t *testing.T) {
	tests := []struct {
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{account.ErrInvalidCredentials, 401, "invalid_credentials", ""},
		{account.ErrWrongPassword, 401, "invalid_credentials", ""},
		{account.ErrInvalidCode, 401, "invalid_code", ""},
		{account.ErrUnauthenticated, 401, "unauthenticated", ""},
		{account.ErrSecondFactorRequired, 401, "two_factor_required", ""},
		{account.ErrPendingExpired, 401, "sign_in_expired", ""},
		{account.ErrReauthRequired, 403, "reauthentication_required", ""},
		{account.ErrPhoneRequired, 409, "phone_required", ""},
		{account.ErrTwoFactorEnabled, 409, "two_factor_already_enabled", ""},
		{account.ErrTwoFactorNotEnabled, 409, "two_factor_not_enabled", ""},
		{account.ErrNoPendingSetup, 409, "no_pending_setup", ""},
		{account.ErrSignUpLinkInvalid, 410, "signup_link_invalid", ""},
		// Retired: an answer saying an email has an account would tell
		// anyone which emails do (SECURITY.md promise 3).
		{account.ErrEmailTaken, 500, "internal_error", ""},
		{account.ErrSessionAlreadyAdvanced, 409, "already_authenticated", ""},
		{account.ErrConflict, 409, "conflict", ""},
		{fmt.Errorf("account: profile: %w", account.ErrNotFound), 404, "not_found", ""},
		{account.ErrBusy, 503, "busy", "2"},
		{&account.ThrottledError{RetryAfter: 1500 * time.Millisecond}, 429, "throttled", "2"},
		{&account.ThrottledError{RetryAfter: 14*time.Minute + 59*time.Second}, 429, "throttled", "899"},
		{&account.ThrottledError{RetryAfter: time.Millisecond}, 429, "throttled", "1"},
		{fmt.Errorf("wrapped: %w", &account.ValidationError{Fields: map[string]string{"name": "Enter your name."}}), 422, "validation_failed", ""},
		{&http.MaxBytesError{Limit: maxBodyBytes}, 413, "request_too_large", ""},
		{&mediaTypeError{contentType: "text/plain"}, 415, "unsupported_media_type", ""},
		{&requestError{detail: "bad"}, 400, "invalid_request", ""},
		{errRouteNotFound, 404, "not_found", ""},
		{&methodNotAllowedError{allow: "GET"}, 405, "method_not_allowed", ""},
		{errors.New("sqlite: database is locked at /var/lib/twofold/db"), 500, "internal_error", ""},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			h := &handler{log: slog.New(slog.DiscardHandler)}
			w := httptest.NewRecorder()
			h.fail(w, httptest.NewRequest("GET", "/api/v1/me", nil), tc.err)
			res := &result{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
			wantProblem(t, tc.err.Error(), res, tc.status, tc.code)
			if got := res.header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q; want %q", got, tc.retryAfter)
			}
			if tc.status == 500 && bytes.Contains(res.body, []byte("sqlite")) {
				t.Errorf("500 body leaks the error: %s", res.body)
			}
		})
	}
}

func TestInternalErrorShowsRequestIDAndLogsDetail(t *testing.T) {
	var logs bytes.Buffer
	h := &handler{log: slog.New(slog.NewTextHandler(&logs, nil))}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r = r.WithContext(requestid.With(r.Context(), "req-42"))
	h.fail(w, r, errors.New("store: disk full"))
	res := &result{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
	p := wantProblem(t, "internal error", res, 500, "internal_error")
	if !strings.Contains(p.Detail, "req-42") {
		t.Errorf("detail %q; want it to quote the request id %q", p.Detail, "req-42")
	}
	if strings.Contains(p.Detail, "disk") {
		t.Errorf("detail %q leaks the error", p.Detail)
	}
	if !strings.Contains(logs.String(), "store: disk full") || !strings.Contains(logs.String(), "req-42") {
		t.Errorf("log %q; want the error and the request id", logs.String())
	}
}

// A panic in a handler is a problem+json 500, not a dropped connection.
func TestPanicIsProblem(t *testing.T) {
	h := &handler{log: slog.New(slog.DiscardHandler), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /api/v1/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	h.routed = h.mux
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/boom", nil))
	res := &result{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
	wantProblem(t, "panic", res, 500, "internal_error")
}

func TestIsJSON(t *testing.T) {
	tests := []struct {
		contentType string
		want        bool
	}{
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON; charset=UTF-8", true},
		{"application/json; charset=latin1", false},
		{"application/json; boundary=x", false},
		{"application/jsonx", false},
		{"text/json", false},
		{"application/problem+json", false},
		{"", false},
		{";;", false},
	}
	for _, tc := range tests {
		if got := isJSON(tc.contentType); got != tc.want {
			t.Errorf("isJSON(%q) = %v; want %v", tc.contentType, got, tc.want)
		}
	}
}

// Every response, success or problem, is marked no-store.
func TestNoStore(t *testing.T) {
	env, srv := newServer(t)
	c := signedUp(t, env, srv, anaEmail, "")
	for _, path := range []string{"/api/v1/me", "/api/v1/me/events", "/api/v1/nope"} {
		if got := c.send("GET", path, "").header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control %q; want %q", path, got, "no-store")
		}
	}
}
