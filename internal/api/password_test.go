package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

const newPassword = "a brand new passphrase"

// signIn signs c in with a password and checks the stage it reaches.
func signIn(t *testing.T, c *apiClient, email, password string, stage account.Stage) {
	t.Helper()
	var st statusResponse
	wantJSON(t, "sign in as "+email, c.send("POST", "/api/v1/session", jsonBody(t, map[string]string{"email": email, "password": password})), 200, &st)
	if st.Status != stage {
		t.Fatalf("sign in as %s: status %q; want %q", email, st.Status, stage)
	}
}

// halfSignedIn returns a client that passed the password step of an account
// with 2FA on but not the code step.
func halfSignedIn(t *testing.T, env *accounttest.Env, srv *httptest.Server, email string) *apiClient {
	t.Helper()
	owner := signedUp(t, env, srv, email, "+61412345678")
	var setup setupResponse
	wantJSON(t, "setup", owner.send("POST", "/api/v1/me/two-factor/setup", ""), 200, &setup)
	wantJSON(t, "enable", owner.send("POST", "/api/v1/me/two-factor/enable", jsonBody(t, map[string]string{"code": env.Code(t, setup.Secret)})), 200, nil)
	c := newClient(t, srv)
	signIn(t, c, email, anaPassword, account.StageSecondFactor)
	return c
}

func changeBody(t *testing.T, current, next string) string {
	return jsonBody(t, map[string]string{"current_password": current, "new_password": next})
}

// POST /me/password: refused without a full session, a right current
// password and an acceptable new one, and nothing changes then; on success
// 204, the new password is the one that signs in, every other session of
// the account ends, this one stays, and the change is in the activity and
// the mail.
func TestChangePassword(t *testing.T) {
	env, srv := newServer(t)
	c := signedUp(t, env, srv, anaEmail, "+61412345678")
	other := newClient(t, srv) // the same account, in another browser
	signIn(t, other, anaEmail, anaPassword, account.StageComplete)
	pending := halfSignedIn(t, env, srv, "bob@example.com")
	anon := newClient(t, srv)

	tests := []struct {
		name   string
		client *apiClient
		body   string
		status int
		code   string
		fields []string // expected keys in errors
	}{
		{"no session", anon, changeBody(t, anaPassword, newPassword), 401, "unauthenticated", nil},
		{"half-signed-in session", pending, changeBody(t, anaPassword, newPassword), 401, "two_factor_required", nil},
		{"empty current password", c, changeBody(t, "", newPassword), 422, "validation_failed", []string{"current_password"}},
		{"current password left out", c, `{"new_password":"` + newPassword + `"}`, 422, "validation_failed", []string{"current_password"}},
		{"new password too short", c, changeBody(t, anaPassword, "short"), 422, "validation_failed", []string{"new_password"}},
		{"new password too long", c, changeBody(t, anaPassword, strings.Repeat("x", 129)), 422, "validation_failed", []string{"new_password"}},
		{"new password left out", c, `{"current_password":"` + anaPassword + `"}`, 422, "validation_failed", []string{"new_password"}},
		{"new password the same", c, changeBody(t, anaPassword, anaPassword), 422, "validation_failed", []string{"new_password"}},
		{"both empty", c, changeBody(t, "", ""), 422, "validation_failed", []string{"current_password", "new_password"}},
		{"wrong current password", c, changeBody(t, "not the password", newPassword), 401, "invalid_credentials", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, tc.name, tc.client.send("POST", "/api/v1/me/password", tc.body), tc.status, tc.code)
			for _, f := range tc.fields {
				if p.Errors[f] == "" {
					t.Errorf("errors = %v; want a message for %q", p.Errors, f)
				}
			}
			if len(p.Errors) != len(tc.fields) {
				t.Errorf("errors = %v; want messages for %v only", p.Errors, tc.fields)
			}
		})
	}
	// None of that changed anything.
	wantJSON(t, "the other session after refused changes", other.send("GET", "/api/v1/me", ""), 200, nil)
	signIn(t, newClient(t, srv), anaEmail, anaPassword, account.StageComplete)

	// Past the recent-password window, so that the change is what renews it.
	env.Clock.Advance(11 * time.Minute)
	wantJSON(t, "the other session just before the change", other.send("GET", "/api/v1/me", ""), 200, nil)
	before := c.token()
	res := c.send("POST", "/api/v1/me/password", changeBody(t, anaPassword, newPassword))
	if res.status != http.StatusNoContent {
		t.Fatalf("change password: status %d; want 204 (body %s)", res.status, res.body)
	}
	if len(res.body) != 0 {
		t.Errorf("change password: body %q; want none", res.body)
	}
	if got := c.token(); got != before {
		t.Errorf("session cookie after the change = %q; want it unchanged (%q)", got, before)
	}

	wantJSON(t, "GET /me in the session that changed it", c.send("GET", "/api/v1/me", ""), 200, nil)
	wantJSON(t, "setup right after the change (recent password)", c.send("POST", "/api/v1/me/two-factor/setup", ""), 200, nil)
	wantProblem(t, "GET /me in the other session", other.send("GET", "/api/v1/me", ""), 401, "unauthenticated")
	wantProblem(t, "sign in with the old password", newClient(t, srv).send("POST", "/api/v1/session", jsonBody(t, map[string]string{"email": anaEmail, "password": anaPassword})), 401, "invalid_credentials")
	signIn(t, newClient(t, srv), anaEmail, newPassword, account.StageComplete)

	var events eventsResponse
	wantJSON(t, "events", c.send("GET", "/api/v1/me/events", ""), 200, &events)
	found := false
	for _, e := range events.Events {
		if e.Kind == account.EventPasswordChanged {
			found = true
			if e.Description == "" {
				t.Errorf("%s event without a description", e.Kind)
			}
		}
	}
	if !found {
		t.Errorf("events = %+v; want a %s", events.Events, account.EventPasswordChanged)
	}
	msgs, err := env.Store.Notifications(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	mailed := 0
	for _, n := range msgs {
		if n.Kind == account.EventPasswordChanged && n.Recipient == anaEmail {
			mailed++
		}
	}
	if mailed != 1 {
		t.Errorf("%d %s messages to %s; want 1", mailed, account.EventPasswordChanged, anaEmail)
	}
}

// Wrong current passwords count against the account like wrong passwords
// at sign-in: past the limit even the right one is refused with 429.
func TestChangePasswordThrottled(t *testing.T) {
	env, srv := newServer(t)
	c := signedUp(t, env, srv, anaEmail, "")
	limit := account.DefaultPolicy().PasswordAttempts
	for i := range limit {
		wantProblem(t, "wrong current password", c.send("POST", "/api/v1/me/password", changeBody(t, "not the password", newPassword)), 401, "invalid_credentials")
		if t.Failed() {
			t.Fatalf("after %d wrong passwords", i+1)
		}
	}
	res := c.send("POST", "/api/v1/me/password", changeBody(t, anaPassword, newPassword))
	wantProblem(t, "right current password past the limit", res, 429, "throttled")
	if res.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	wantJSON(t, "GET /me while throttled", c.send("GET", "/api/v1/me", ""), 200, nil)
}
