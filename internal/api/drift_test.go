package api

import (
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/totp"
)

// A code from a phone whose clock is 3 minutes behind: 401 invalid_code,
// as any wrong code, with clock_offset_seconds -180 and the advice; a code
// of no nearby step has no clock_offset_seconds.
func TestClockOffsetSeconds(t *testing.T) {
	env, srv := newServer(t)
	owner := signedUp(t, env, srv, anaEmail, "+61412345678")
	var setup setupResponse
	wantJSON(t, "setup", owner.send("POST", "/api/v1/me/two-factor/setup", ""), 200, &setup)
	secret, err := totp.DecodeSecret(setup.Secret)
	if err != nil {
		t.Fatal(err)
	}
	behind := totp.Code(secret, env.Clock.Now().Add(-3*time.Minute))
	p := wantProblem(t, "enable with a code 3 minutes behind", owner.send("POST", "/api/v1/me/two-factor/enable", jsonBody(t, map[string]string{"code": behind})), 401, "invalid_code")
	if p.ClockOffsetSeconds == nil || *p.ClockOffsetSeconds != -180 {
		t.Errorf("enable: clock_offset_seconds = %v; want -180", p.ClockOffsetSeconds)
	}
	wantJSON(t, "enable", owner.send("POST", "/api/v1/me/two-factor/enable", jsonBody(t, map[string]string{"code": env.Code(t, setup.Secret)})), 200, nil)
	env.Clock.Advance(30 * time.Second)

	c := newClient(t, srv)
	signIn(t, c, anaEmail, anaPassword, account.StageSecondFactor)
	behind = totp.Code(secret, env.Clock.Now().Add(-3*time.Minute))
	p = wantProblem(t, "a code 3 minutes behind", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": behind})), 401, "invalid_code")
	if p.ClockOffsetSeconds == nil || *p.ClockOffsetSeconds != -180 {
		t.Errorf("sign-in: clock_offset_seconds = %v; want -180", p.ClockOffsetSeconds)
	}
	if want := "This code was right about 3 minutes ago: your phone's clock is behind. Set it to automatic date and time, then type the next code."; p.Detail != want {
		t.Errorf("detail = %q; want %q", p.Detail, want)
	}
	ahead := totp.Code(secret, env.Clock.Now().Add(2*time.Minute))
	p = wantProblem(t, "a code 2 minutes ahead", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": ahead})), 401, "invalid_code")
	if p.ClockOffsetSeconds != nil {
		t.Errorf("a code of a future step: clock_offset_seconds = %d; want none (it would tell when a guess becomes right)", *p.ClockOffsetSeconds)
	}
	p = wantProblem(t, "a wrong code", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]string{"code": env.WrongCode(t, setup.Secret)})), 401, "invalid_code")
	if p.ClockOffsetSeconds != nil {
		t.Errorf("a code of no nearby step: clock_offset_seconds = %d; want none", *p.ClockOffsetSeconds)
	}
}
