package main_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/store/postgres/pgtest"
	"github.com/twofold/twofold/internal/totp"
)

// twilioStandIn is a local Twilio Messages resource that accepts only the
// request Twilio documents (POST /2010-04-01/Accounts/{SID}/Messages.json,
// form-encoded To, From and Body, HTTP Basic auth with the SID and the
// token) and hands each accepted form to the test.
func twilioStandIn(t *testing.T, sid, token string) (*httptest.Server, chan url.Values) {
	t.Helper()
	got := make(chan url.Values, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		raw, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(raw))
		if err != nil || r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Messages.json" ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || user != sid || pass != token || len(form) != 3 {
			t.Errorf("Twilio got %s %s (%s) as %q with %v; want the documented request", r.Method, r.URL, r.Header.Get("Content-Type"), user, form)
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`)
			return
		}
		got <- form
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid": "SM00112233445566778899aabbccddeeff", "status": "queued"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

var twilioCode = regexp.MustCompile(`verification code: (\d{6})\.`)

// A member with 2FA who lost their phone, through the real binary's API
// on each store: they ask for help at the code step; the administrator
// sees the request, texts a code (the outbox worker sends it to Twilio,
// the exact documented request), checks the code read back, and resets
// with {}; the member's sessions are gone, the audit log names the
// administrator and "phone verified by text message", no help request is
// left, and the password alone signs the member in.
func TestLostPhoneThroughTheRealBinary(t *testing.T) {
	t.Parallel()
	const (
		sid   = "AC00112233445566778899aabbccddeeff"
		token = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
		from  = "+15005550006"
		phone = "+61412345678"
	)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			twilio, texts := twilioStandIn(t, sid, token)
			env := []string{"TWOFOLD_SIGNUP=invite", "TWOFOLD_TWILIO_ACCOUNT_SID=" + sid, "TWOFOLD_TWILIO_AUTH_TOKEN=" + token,
				"TWOFOLD_TWILIO_FROM=" + from, "TWOFOLD_TWILIO_API_URL=" + twilio.URL}
			if backend == "postgres" {
				env = append(env, "TWOFOLD_DATABASE="+pgtest.Database(t))
			}
			p := start(t, t.TempDir(), env...)
			defer p.stop(t)
			c := clientFrom("127.0.0.1")
			must := func(what string, status int, body map[string]any, err error, want int) {
				t.Helper()
				if err != nil || status != want {
					t.Fatalf("%s = %d %v %v; want %d", what, status, body, err, want)
				}
			}
			setup, _ := url.Parse(p.setupURL)
			status, body, admin, err := send(c, p.base, "POST", "/invitations/accept", "", map[string]string{
				"token": setup.Query().Get("token"), "email": "ada@example.com", "name": "Ada", "password": crashPassword})
			must("accept the setup link", status, body, err, 201)
			status, body, _, err = send(c, p.base, "POST", "/admin/invitations", admin, map[string]string{"email": "bo@example.com"})
			must("invite bo", status, body, err, 201)
			link, _ := url.Parse(body["url"].(string))
			status, body, bo, err := send(c, p.base, "POST", "/invitations/accept", "", map[string]string{"token": link.Query().Get("token"), "name": "Bo", "password": crashPassword})
			must("accept bo's invitation", status, body, err, 201)
			status, body, _, err = send(c, p.base, "PATCH", "/me", bo, map[string]string{"mobile_phone": phone})
			must("bo adds a number", status, body, err, 200)
			status, body, _, err = send(c, p.base, "POST", "/me/two-factor/setup", bo, nil)
			must("setup", status, body, err, 200)
			secret, err := totp.DecodeSecret(body["secret"].(string))
			if err != nil {
				t.Fatal(err)
			}
			status, body, _, err = send(c, p.base, "POST", "/me/two-factor/enable", bo, map[string]string{"code": totp.Code(secret, time.Now())})
			must("enable", status, body, err, 200)

			// Another browser: the password, then no phone.
			status, body, pending, err := sendPatiently(c, p.base, "POST", "/session", "", map[string]string{"email": "bo@example.com", "password": crashPassword})
			if err != nil || status != 200 || body["status"] != "two_factor_required" {
				t.Fatalf("bo signs in = %d %v %v; want the code step", status, body, err)
			}
			status, body, _, err = send(c, p.base, "POST", "/session/help-request", pending, map[string]string{"message": "Phone fell in the harbour"})
			if err != nil || status != 202 || body["status"] != "help_requested" {
				t.Fatalf("help request = %d %v %v; want 202 help_requested", status, body, err)
			}

			status, body, _, err = send(c, p.base, "GET", "/admin/help-requests", admin, nil)
			must("help requests", status, body, err, 200)
			reqs, _ := body["help_requests"].([]any)
			if len(reqs) != 1 {
				t.Fatalf("help requests = %v; want bo's one", body)
			}
			req := reqs[0].(map[string]any)
			if req["email"] != "bo@example.com" || req["message"] != "Phone fell in the harbour" {
				t.Errorf("help request = %v; want bo's, with the message", req)
			}
			users := fmt.Sprintf("/admin/users/%d", int64(req["user_id"].(float64)))

			status, body, _, err = send(c, p.base, "POST", users+"/phone-verification", admin, nil)
			if err != nil || status != 202 || body["sent_to"] != phone {
				t.Fatalf("send a code = %d %v %v; want 202 to %s", status, body, err, phone)
			}
			var code string
			select {
			case form := <-texts:
				m := twilioCode.FindStringSubmatch(form.Get("Body"))
				if form.Get("To") != phone || form.Get("From") != from || m == nil {
					t.Fatalf("Twilio got %v; want To %s, From %s and a body with the code", form, phone, from)
				}
				code = m[1]
			case <-time.After(45 * time.Second): // the outbox worker's round: 15 s and up to 7.5 s more
				t.Fatalf("no text reached Twilio within 45s\n%s", p.logs)
			}
			status, body, _, err = send(c, p.base, "POST", users+"/phone-verification/check", admin, map[string]string{"code": code})
			if err != nil || status != 200 || body["verified"] != true {
				t.Fatalf("check the code = %d %v %v; want 200 verified", status, body, err)
			}
			status, body, _, err = send(c, p.base, "POST", users+"/reset-two-factor", admin, map[string]string{})
			if err != nil || status != 200 || body["two_factor_enabled"] != false {
				t.Fatalf("reset = %d %v %v; want 200, 2FA off", status, body, err)
			}

			for what, tok := range map[string]string{"the half-signed-in session": pending, "the enrolled session": bo} {
				status, body, _, err := send(c, p.base, "GET", "/me", tok, nil)
				if err != nil || status != 401 {
					t.Errorf("bo's %s after the reset: GET /me = %d %v %v; want 401", what, status, body, err)
				}
			}
			status, body, _, err = send(c, p.base, "GET", "/admin/audit", admin, nil)
			must("audit", status, body, err, 200)
			entries, _ := body["entries"].([]any)
			var found bool
			for _, e := range entries {
				e := e.(map[string]any)
				if e["action"] == "reset_two_factor" && e["target"] == "bo@example.com" && e["actor"] == "ada@example.com" &&
					strings.Contains(e["detail"].(string), "phone verified by text message") {
					found = true
				}
			}
			if !found {
				t.Errorf("audit = %v; want bo's reset by ada@example.com, phone verified by text message", entries)
			}
			status, body, _, err = send(c, p.base, "GET", "/admin/help-requests", admin, nil)
			if reqs, _ := body["help_requests"].([]any); err != nil || status != 200 || reqs == nil || len(reqs) != 0 {
				t.Errorf("help requests after the reset = %d %v %v; want an empty list", status, body, err)
			}
			status, body, _, err = sendPatiently(c, p.base, "POST", "/session", "", map[string]string{"email": "bo@example.com", "password": crashPassword})
			if err != nil || status != 200 || body["status"] != "authenticated" {
				t.Errorf("bo signs in after the reset = %d %v %v; want authenticated with the password alone", status, body, err)
			}
			if len(texts) != 0 {
				t.Errorf("Twilio got %d more texts; want the one", len(texts))
			}
		})
	}
}
