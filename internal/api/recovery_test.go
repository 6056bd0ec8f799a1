package api

import (
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

// newServerWith is newServer with the service's policy changed by opts.
func newServerWith(t *testing.T, opts ...func(*account.Policy)) (*accounttest.Env, *httptest.Server) {
	t.Helper()
	env := accounttest.NewFromEnv(t, opts...)
	srv := httptest.NewServer(New(env.Service, Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}))
	t.Cleanup(srv.Close)
	return env, srv
}

var (
	recoveryCode = regexp.MustCompile(`recovery code: (\d{6})\.`)
	cancelToken  = regexp.MustCompile(regexp.QuoteMeta(accounttest.CancelBase) + `\?token=(\S+)`)
)

// outboxMatch is the first submatch of re in the newest outbox message
// that has one.
func outboxMatch(t *testing.T, env *accounttest.Env, re *regexp.Regexp) string {
	t.Helper()
	messages, err := env.Store.Notifications(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range messages {
		if s := re.FindStringSubmatch(m.Body); s != nil {
			return s[1]
		}
	}
	t.Fatalf("no outbox message matches %v", re)
	return ""
}

// The whole self-recovery through the API, on a fake clock: 409
// recovery_disabled until an administrator sets a delay; then the texted
// code starts it (202 recovery_pending with effective_at), the password
// alone still asks for the code until the delay has passed, and then
// answers authenticated with recovered: true and 2FA off. A second run is
// cancelled by a sign-in with a code, a third by the emailed link.
func TestSelfRecovery(t *testing.T) {
	env, srv := newServerWith(t, func(p *account.Policy) { p.TextMessages = true; p.OpenSignUp = false })
	admin := newClient(t, srv)
	setup, err := env.Service.CreateSetupLink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(setup)
	wantJSON(t, "accept setup link", admin.send("POST", "/api/v1/invitations/accept", jsonBody(t, map[string]string{
		"token": u.Query().Get("token"), "email": "ada@example.com", "name": "Ada", "password": anaPassword,
	})), 201, nil)

	// Ana, invited, with a number and 2FA.
	res := admin.send("POST", "/api/v1/admin/invitations", jsonBody(t, map[string]string{"email": anaEmail, "role": "member"}))
	if res.status != 201 {
		t.Fatalf("invite = %d %s", res.status, res.body)
	}
	inviteToken := outboxMatch(t, env, regexp.MustCompile(regexp.QuoteMeta(accounttest.InviteBase)+`\?token=(\S+)`))
	ana := newClient(t, srv)
	wantJSON(t, "accept invitation", ana.send("POST", "/api/v1/invitations/accept", jsonBody(t, map[string]string{
		"token": inviteToken, "name": "Ana", "password": anaPassword,
	})), 201, nil)
	wantJSON(t, "add phone", ana.send("PATCH", "/api/v1/me", `{"mobile_phone":"+61412345678"}`), 200, nil)
	var ts setupResponse
	wantJSON(t, "setup", ana.send("POST", "/api/v1/me/two-factor/setup", ""), 200, &ts)
	wantJSON(t, "enable", ana.send("POST", "/api/v1/me/two-factor/enable", jsonBody(t, map[string]string{"code": env.Code(t, ts.Secret)})), 200, nil)

	lost := newClient(t, srv)
	signIn(t, lost, anaEmail, anaPassword, account.StageSecondFactor)
	wantProblem(t, "recovery while off", lost.send("POST", "/api/v1/session/recovery/sms", ""), 409, "recovery_disabled")
	var st settingsJSON
	wantJSON(t, "set the delay", admin.send("PATCH", "/api/v1/admin/settings", `{"recovery_delay_hours":72}`), 200, &st)
	if st.RecoveryDelayHours != 72 {
		t.Fatalf("settings = %+v; want recovery_delay_hours 72", st)
	}
	wantProblem(t, "a delay out of range", admin.send("PATCH", "/api/v1/admin/settings", `{"recovery_delay_hours":721}`), 422, "validation_failed")

	start := func(c *apiClient) recoveryResponse {
		t.Helper()
		wantJSON(t, "text the recovery code", c.send("POST", "/api/v1/session/recovery/sms", ""), 202, nil)
		code := outboxMatch(t, env, recoveryCode)
		wantProblem(t, "not a code", c.send("POST", "/api/v1/session/recovery", `{"sms_code":"12"}`), 422, "validation_failed")
		var rec recoveryResponse
		wantJSON(t, "start the recovery", c.send("POST", "/api/v1/session/recovery", jsonBody(t, map[string]string{"sms_code": code})), 202, &rec)
		if rec.Status != "recovery_pending" || rec.EffectiveAt != env.Clock.Now().Add(72*time.Hour).UTC().Format(time.RFC3339) {
			t.Fatalf("start = %+v; want recovery_pending in 72 hours", rec)
		}
		return rec
	}
	start(lost)
	wantProblem(t, "a second start", lost.send("POST", "/api/v1/session/recovery/sms", ""), 409, "recovery_pending")
	wantProblem(t, "the pending session reaches nothing", lost.send("GET", "/api/v1/me", ""), 401, "two_factor_required")

	env.Clock.Advance(71 * time.Hour)
	signIn(t, newClient(t, srv), anaEmail, anaPassword, account.StageSecondFactor)
	env.Clock.Advance(time.Hour)
	later := newClient(t, srv)
	var done statusResponse
	wantJSON(t, "sign-in after the delay", later.send("POST", "/api/v1/session", jsonBody(t, map[string]string{"email": anaEmail, "password": anaPassword})), 200, &done)
	if done.Status != account.StageComplete || !done.Recovered {
		t.Fatalf("sign-in after the delay = %+v; want authenticated, recovered", done)
	}
	var me meResponse
	wantJSON(t, "GET /me after the recovery", later.send("GET", "/api/v1/me", ""), 200, &me)
	if me.TwoFactor.Enabled {
		t.Error("2FA still on after the recovery")
	}
	wantProblem(t, "no recovery left", later.send("GET", "/api/v1/me/recovery", ""), 404, "recovery_not_found")

	// Enrolled again: a recovery cancelled by a sign-in with a code.
	wantJSON(t, "setup again", later.send("POST", "/api/v1/me/two-factor/setup", ""), 200, &ts)
	wantJSON(t, "enable again", later.send("POST", "/api/v1/me/two-factor/enable", jsonBody(t, map[string]string{"code": env.Code(t, ts.Secret)})), 200, nil)
	env.Clock.Advance(time.Hour) // the texts' hourly limit
	again := newClient(t, srv)
	signIn(t, again, anaEmail, anaPassword, account.StageSecondFactor)
	start(again)
	withCode := newClient(t, srv)
	signIn(t, withCode, anaEmail, anaPassword, account.StageSecondFactor)
	env.Clock.Advance(30 * time.Second)
	wantJSON(t, "a sign-in with a code", withCode.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": env.Code(t, ts.Secret)})), 200, nil)
	wantProblem(t, "the recovery after a code", withCode.send("GET", "/api/v1/me/recovery", ""), 404, "recovery_not_found")

	// And one cancelled by the emailed link (no session needed).
	env.Clock.Advance(time.Hour)
	third := newClient(t, srv)
	signIn(t, third, anaEmail, anaPassword, account.StageSecondFactor)
	start(third)
	token := outboxMatch(t, env, cancelToken)
	wantStatus(t, "cancel by the link", newClient(t, srv).send("POST", "/api/v1/recovery/cancel", jsonBody(t, map[string]string{"token": token})), 204)
	wantProblem(t, "the link again", newClient(t, srv).send("POST", "/api/v1/recovery/cancel", jsonBody(t, map[string]string{"token": token})), 404, "recovery_not_found")
	env.Clock.Advance(73 * time.Hour)
	signIn(t, newClient(t, srv), anaEmail, anaPassword, account.StageSecondFactor)
}
