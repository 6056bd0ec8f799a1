package api

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/qr/qrtest"
)

const (
	anaEmail    = "ana@example.com"
	anaPassword = "correct horse battery"
)

// TestJourney walks the whole product through the API with one cookie jar:
// sign up and confirm by the mailed link, add a phone, enroll, back up, sign out and back in with a code,
// with a backup code, replays refused, throttling, and disabling.
func TestJourney(t *testing.T) {
	env, srv := newServer(t)
	c := newClient(t, srv)

	// Sign up: 202 and a link in the mail, not yet signed in.
	res := c.send("POST", "/api/v1/signup", jsonBody(t, map[string]string{
		"email": "Ana@Example.com", "password": anaPassword, "name": " Ana Silva ",
	}))
	var started signUpResponse
	wantJSON(t, "sign up", res, 202, &started)
	if started.Status != "confirmation_sent" {
		t.Errorf("sign up status = %q; want %q", started.Status, "confirmation_sent")
	}
	if c.token() != "" {
		t.Fatal("sign up set a session cookie before the link was used")
	}

	// The link's token with the same password: 201, signed in, the /me shape.
	res = c.send("POST", "/api/v1/signup/confirm", jsonBody(t, map[string]string{
		"token": env.SignUpLink(t, anaEmail), "password": anaPassword,
	}))
	var me meResponse
	wantJSON(t, "confirm sign-up", res, 201, &me)
	want := meResponse{Email: anaEmail, Name: "Ana Silva", Role: "member"}
	if me != want {
		t.Errorf("confirm sign-up body = %+v; want %+v", me, want)
	}
	if loc := res.header.Get("Location"); loc != "/api/v1/me" {
		t.Errorf("confirm sign-up Location = %q; want %q", loc, "/api/v1/me")
	}
	if c.token() == "" {
		t.Fatal("confirm sign-up set no session cookie")
	}
	if sc := res.header.Get("Set-Cookie"); !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Errorf("Set-Cookie %q; want HttpOnly and SameSite=Lax", sc)
	}

	var signUpEvents eventsResponse
	wantJSON(t, "events after sign-up", c.send("GET", "/api/v1/me/events", ""), 200, &signUpEvents)
	if len(signUpEvents.Events) != 1 || signUpEvents.Events[0].Kind != "sign_up" {
		t.Errorf("events after sign-up = %+v; want one sign_up", signUpEvents.Events)
	}

	// Add a mobile number; it comes back in E.164.
	res = c.send("PATCH", "/api/v1/me", `{"mobile_phone":"+61 412 345 678"}`)
	wantJSON(t, "PATCH /me", res, 200, &me)
	if got, want := me.MobilePhone, "+61412345678"; got != want {
		t.Errorf("mobile_phone = %q; want %q", got, want)
	}
	if got, want := me.Name, "Ana Silva"; got != want {
		t.Errorf("name after PATCH of the phone only = %q; want %q", got, want)
	}

	// Setup: the QR image decodes, independently, to exactly the URI.
	var setup setupResponse
	res = c.send("POST", "/api/v1/me/two-factor/setup", "")
	wantJSON(t, "setup", res, 200, &setup)
	if got := decodeQR(t, setup.QRPNGBase64); got != setup.OTPAuthURI {
		t.Errorf("QR decodes to %q; want %q", got, setup.OTPAuthURI)
	}
	u, err := url.Parse(setup.OTPAuthURI)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("secret"); got != setup.Secret {
		t.Errorf("URI secret = %q; want %q", got, setup.Secret)
	}
	if got, want := u.Scheme+"://"+u.Host, "otpauth://totp"; got != want {
		t.Errorf("URI starts %q; want %q", got, want)
	}
	if !bytes.Contains(res.body, []byte("&issuer=")) {
		t.Errorf("setup body %s; want otpauth_uri with plain & (no HTML escaping)", res.body)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("setup Cache-Control = %q; want %q", cc, "no-store")
	}
	secret := setup.Secret

	// 2FA is not on until a code proves the app has the secret.
	wantJSON(t, "GET /me before enable", c.send("GET", "/api/v1/me", ""), 200, &me)
	if me.TwoFactor.Enabled {
		t.Error("two_factor.enabled = true before enable; want false")
	}
	res = c.send("POST", "/api/v1/me/two-factor/enable", jsonBody(t, map[string]string{"code": env.WrongCode(t, secret)}))
	wantProblem(t, "enable with a wrong code", res, 401, "invalid_code")
	var enabled enabledResponse
	enableCode := env.Code(t, secret)
	res = c.send("POST", "/api/v1/me/two-factor/enable", jsonBody(t, map[string]string{"code": enableCode}))
	wantJSON(t, "enable", res, 200, &enabled)
	if !enabled.Enabled {
		t.Errorf("enable body enabled = false; want true")
	}

	// Ten unique backup codes, not cacheable.
	var backup backupCodesResponse
	res = c.send("POST", "/api/v1/me/backup-codes", "")
	wantJSON(t, "backup codes", res, 201, &backup)
	if got, want := len(backup.Codes), 10; got != want {
		t.Fatalf("got %d backup codes; want %d", got, want)
	}
	seen := map[string]bool{}
	for _, code := range backup.Codes {
		if seen[code] {
			t.Errorf("backup code %q appears twice", code)
		}
		seen[code] = true
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("backup codes Cache-Control = %q; want %q", cc, "no-store")
	}
	wantJSON(t, "GET /me after enable", c.send("GET", "/api/v1/me", ""), 200, &me)
	if want := (twoFactorResponse{Enabled: true, BackupCodesRemaining: 10}); me.TwoFactor != want {
		t.Errorf("two_factor = %+v; want %+v", me.TwoFactor, want)
	}

	// Sign out: 204, cookie gone, /me refused.
	res = c.send("DELETE", "/api/v1/session", "")
	if res.status != 204 {
		t.Fatalf("sign out status %d; want 204", res.status)
	}
	if tok := c.token(); tok != "" {
		t.Errorf("cookie after sign out = %q; want none", tok)
	}
	wantProblem(t, "GET /me after sign out", c.send("GET", "/api/v1/me", ""), 401, "unauthenticated")

	// Sign in: the password alone is not enough now.
	signIn := func(what string) {
		t.Helper()
		var st statusResponse
		wantJSON(t, what, c.send("POST", "/api/v1/session", jsonBody(t, map[string]string{"email": anaEmail, "password": anaPassword})), 200, &st)
		if st.Status != "two_factor_required" {
			t.Fatalf("%s: status %q; want %q", what, st.Status, "two_factor_required")
		}
	}
	signIn("sign in with 2FA on")
	pendingToken := c.token()

	// A half-signed-in session reaches nothing but the code step.
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/api/v1/me", ""},
		{"PATCH", "/api/v1/me", `{"name":"Mallory"}`},
		{"GET", "/api/v1/me/events", ""},
		{"POST", "/api/v1/me/two-factor/setup", ""},
		{"POST", "/api/v1/me/two-factor/enable", `{"code":"123456"}`},
		{"POST", "/api/v1/me/two-factor/disable", `{"password":"x","code":"123456"}`},
		{"POST", "/api/v1/me/backup-codes", ""},
		{"POST", "/api/v1/session/confirm-password", `{"password":"` + anaPassword + `"}`},
		{"POST", "/api/v1/me/password", `{"current_password":"` + anaPassword + `","new_password":"a brand new passphrase"}`},
	} {
		wantProblem(t, "half-signed-in "+tc.method+" "+tc.path, c.send(tc.method, tc.path, tc.body), 401, "two_factor_required")
	}

	// The code that enabled 2FA is used up, even in the same 30-second step
	// (docs/api.md says to wait for the next one).
	wantProblem(t, "the enabling code again", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": enableCode})), 401, "invalid_code")

	// The code completes sign-in, under a new session id.
	env.Clock.Advance(30 * time.Second)
	code := env.Code(t, secret)
	var st statusResponse
	wantJSON(t, "two-factor", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": code})), 200, &st)
	if st.Status != "authenticated" {
		t.Errorf("two-factor status %q; want %q", st.Status, "authenticated")
	}
	if tok := c.token(); tok == "" || tok == pendingToken {
		t.Errorf("session cookie after the code step = %q; want a new one (was %q)", tok, pendingToken)
	}
	wantJSON(t, "GET /me after the code", c.send("GET", "/api/v1/me", ""), 200, &me)
	wantProblem(t, "second factor on a full session", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": code})), 409, "already_authenticated")

	// The same code on a new sign-in is refused.
	c.send("DELETE", "/api/v1/session", "")
	signIn("sign in again")
	wantProblem(t, "replayed code", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": code})), 401, "invalid_code")

	// A backup code works once, typed in any case and spacing...
	typed := strings.ToUpper(strings.ReplaceAll(backup.Codes[0], "-", " "))
	wantJSON(t, "backup code", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": typed})), 200, &st)
	wantJSON(t, "GET /me after backup code", c.send("GET", "/api/v1/me", ""), 200, &me)
	if got, want := me.TwoFactor.BackupCodesRemaining, 9; got != want {
		t.Errorf("backup_codes_remaining = %d; want %d", got, want)
	}
	// ...and not twice.
	c.send("DELETE", "/api/v1/session", "")
	signIn("sign in for the used backup code")
	wantProblem(t, "used backup code", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": backup.Codes[0]})), 401, "invalid_code")

	// Throttling: let the failures above age out, then 10 wrong codes are
	// evaluated in 15 minutes and the 11th attempt is refused unevaluated,
	// even with the right code.
	env.Clock.Advance(16 * time.Minute)
	signIn("sign in for throttling")
	bad := env.WrongCode(t, secret)
	for i := range 10 {
		wantProblem(t, "wrong code "+strconv.Itoa(i+1), c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": bad})), 401, "invalid_code")
	}
	for _, attempt := range []struct{ what, code string }{
		{"11th wrong code", bad},
		{"right code while throttled", env.Code(t, secret)},
	} {
		res := c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": attempt.code}))
		wantProblem(t, attempt.what, res, 429, "throttled")
		ra, err := strconv.Atoi(res.header.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 15*60 {
			t.Errorf("%s: Retry-After %q; want whole seconds in 1..900", attempt.what, res.header.Get("Retry-After"))
		}
	}

	// The pending sign-in has expired by the time the window has passed.
	env.Clock.Advance(15 * time.Minute)
	wantProblem(t, "expired pending sign-in", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": env.Code(t, secret)})), 401, "sign_in_expired")
	if tok := c.token(); tok != "" {
		t.Errorf("cookie after an expired sign-in = %q; want it cleared", tok)
	}
	signIn("sign in after the throttle window")
	wantJSON(t, "code after the throttle window", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": env.Code(t, secret)})), 200, &st)

	// Disable with the password and a fresh code.
	env.Clock.Advance(30 * time.Second)
	res = c.send("POST", "/api/v1/me/two-factor/disable", jsonBody(t, map[string]string{"password": "wrong password", "code": env.Code(t, secret)}))
	if p := wantProblem(t, "disable with a wrong password", res, 422, "validation_failed"); p.Errors["password"] == "" {
		t.Errorf("disable with a wrong password: errors = %v; want a message for password", p.Errors)
	}
	res = c.send("POST", "/api/v1/me/two-factor/disable", jsonBody(t, map[string]string{"password": anaPassword, "code": env.Code(t, secret)}))
	wantJSON(t, "disable", res, 200, &enabled)
	if enabled.Enabled {
		t.Error("disable body enabled = true; want false")
	}
	wantJSON(t, "GET /me after disable", c.send("GET", "/api/v1/me", ""), 200, &me)
	if want := (twoFactorResponse{}); me.TwoFactor != want {
		t.Errorf("two_factor after disable = %+v; want %+v", me.TwoFactor, want)
	}

	// Everything above is in the security activity, in RFC 3339 UTC.
	var events eventsResponse
	wantJSON(t, "events", c.send("GET", "/api/v1/me/events", ""), 200, &events)
	kinds := map[string]bool{}
	for _, e := range events.Events {
		kinds[string(e.Kind)] = true
		if e.Description == "" {
			t.Errorf("event %q has no description", e.Kind)
		}
		if _, err := time.Parse(time.RFC3339, e.CreatedAt); err != nil || !strings.HasSuffix(e.CreatedAt, "Z") {
			t.Errorf("event %q created_at = %q; want RFC 3339 UTC", e.Kind, e.CreatedAt)
		}
		if e.IP == "" {
			t.Errorf("event %q has no ip", e.Kind)
		}
	}
	for _, kind := range []string{"two_factor_disabled", "throttled", "two_factor_failed", "backup_code_used", "sign_in", "sign_out"} {
		if !kinds[kind] {
			t.Errorf("events lack %q; got %v", kind, kinds)
		}
	}
	if len(events.Events) > 0 {
		if got, want := string(events.Events[0].Kind), "two_factor_disabled"; got != want {
			t.Errorf("newest event = %q; want %q", got, want)
		}
	}
}

func decodeQR(t *testing.T, b64 string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("qr_png_base64 is not base64: %v", err)
	}
	return qrtest.Decode(t, raw)
}
