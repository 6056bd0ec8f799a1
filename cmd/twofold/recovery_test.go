package main_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/store/postgres/pgtest"
	"github.com/twofold/twofold/internal/totp"
)

var recoveryCode = regexp.MustCompile(`recovery code: (\d{6})\.`)

// A self-recovery whose time has come, raced by the owner's sign-in with
// a code, through the real binary on each store: password sign-ins (which
// complete it) and a code step (which cancels it) at the same moment.
// Either the recovery completed, once, and the code step failed (2FA is
// off), or the code step signed in, which cancels the recovery, and
// nothing was reset (2FA on, no recovery left): never both, never twice.
func TestRaceRecoveryVsCodeSignIn(t *testing.T) {
	t.Parallel()
	const sid, token, phone = "AC00112233445566778899aabbccddeeff", "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+61412345678"
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			twilio, texts := twilioStandIn(t, sid, token)
			env := []string{"TWOFOLD_SIGNUP=invite", "TWOFOLD_TWILIO_ACCOUNT_SID=" + sid, "TWOFOLD_TWILIO_AUTH_TOKEN=" + token,
				"TWOFOLD_TWILIO_FROM=+15005550006", "TWOFOLD_TWILIO_API_URL=" + twilio.URL}
			dir := t.TempDir()
			driver, dsn := "sqlite", filepath.Join(dir, "twofold.db")
			if backend == "postgres" {
				driver, dsn = "pgx", pgtest.Database(t)
				env = append(env, "TWOFOLD_DATABASE="+dsn)
			}
			p := start(t, dir, env...)
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
			status, body, _, err = send(c, p.base, "PATCH", "/admin/settings", admin, map[string]any{"recovery_delay_hours": 72})
			must("set the recovery delay", status, body, err, 200)

			for round := range 3 {
				email := fmt.Sprintf("bo%d@example.com", round)
				status, body, _, err = send(c, p.base, "POST", "/admin/invitations", admin, map[string]string{"email": email})
				must("invite", status, body, err, 201)
				link, _ := url.Parse(body["url"].(string))
				status, body, bo, err := send(c, p.base, "POST", "/invitations/accept", "", map[string]string{"token": link.Query().Get("token"), "name": "Bo", "password": crashPassword})
				must("accept", status, body, err, 201)
				status, body, _, err = send(c, p.base, "PATCH", "/me", bo, map[string]string{"mobile_phone": phone})
				must("add a number", status, body, err, 200)
				status, body, _, err = send(c, p.base, "POST", "/me/two-factor/setup", bo, nil)
				must("setup", status, body, err, 200)
				secret, err := totp.DecodeSecret(body["secret"].(string))
				if err != nil {
					t.Fatal(err)
				}
				status, body, _, err = send(c, p.base, "POST", "/me/two-factor/enable", bo, map[string]string{"code": totp.Code(secret, time.Now())})
				must("enable", status, body, err, 200)

				// Someone with the password and the number starts a recovery.
				lost, err := passwordStep(c, p.base, email)
				if err != nil {
					t.Fatal(err)
				}
				status, body, _, err = send(c, p.base, "POST", "/session/recovery/sms", lost, nil)
				must("text the recovery code", status, body, err, 202)
				var code string
				select {
				case form := <-texts:
					m := recoveryCode.FindStringSubmatch(form.Get("Body"))
					if m == nil {
						t.Fatalf("Twilio got %v; want a recovery code", form)
					}
					code = m[1]
				case <-time.After(30 * time.Second):
					t.Fatal("no text reached Twilio within 30 s")
				}
				status, body, _, err = send(c, p.base, "POST", "/session/recovery", lost, map[string]string{"sms_code": code})
				must("start the recovery", status, body, err, 202)

				// The owner's browser has done the password step; then the
				// recovery's 72 hours pass (moved back in the database).
				owner, err := passwordStep(c, p.base, email)
				if err != nil {
					t.Fatal(err)
				}
				makeRecoveriesDue(t, driver, dsn)

				// The code step needs no password hash: it waits about as
				// long as one takes (a little more each round), so that it
				// lands while the password sign-ins are deciding.
				wait := hashTime(t, c, p.base, admin) * time.Duration(8+2*round) / 10
				var mu sync.Mutex
				recovered, codeSession := 0, ""
				fns := []func(){func() {
					time.Sleep(wait)
					// The enabling code's step is used: the next one.
					status, body, next, err := send(c, p.base, "POST", "/session/two-factor", owner, map[string]string{"code": totp.Code(secret, time.Now().Add(totp.Period))})
					if err == nil && status == 200 {
						mu.Lock()
						codeSession = next
						mu.Unlock()
					} else if err != nil || (status != 401 && status != 409) {
						t.Errorf("round %d: the code step = %d %v %v; want 200, or 401/409 once the recovery won", round, status, body, err)
					}
				}}
				for range 4 {
					fns = append(fns, func() {
						status, body, _, err := send(c, p.base, "POST", "/session", "", map[string]string{"email": email, "password": crashPassword})
						if err != nil || (status != 200 && status != 401 && status != 503) {
							t.Errorf("round %d: a password sign-in = %d %v %v", round, status, body, err)
							return
						}
						if r, _ := body["recovered"].(bool); r {
							mu.Lock()
							recovered++
							mu.Unlock()
						}
					})
				}
				atOnce(fns...)

				// What a password sign-in says now: 2FA on asks for the code.
				status, body, _, err = sendPatiently(c, p.base, "POST", "/session", "", map[string]string{"email": email, "password": crashPassword})
				must("sign in after the race", status, body, err, 200)
				enabled := body["status"] == "two_factor_required"
				switch {
				case recovered > 1:
					t.Errorf("round %d: %d sign-ins completed the recovery; want at most 1", round, recovered)
				case recovered == 1:
					if enabled {
						t.Errorf("round %d: the recovery completed, but 2FA is on", round)
					}
					// A code step that signed in did so before the completion
					// (after it, 2FA is off and its pending session gone), so
					// it had to cancel the recovery.
					if codeSession != "" {
						t.Errorf("round %d: the code step signed in, and the recovery still completed after it", round)
					}
				default:
					if !enabled {
						t.Errorf("round %d: no sign-in completed the recovery, but 2FA is off", round)
					}
					if codeSession != "" {
						if got, _, _ := call(t, p.base, "GET", "/me/recovery", codeSession, nil); got != http.StatusNotFound {
							t.Errorf("round %d: a code sign-in won, and GET /me/recovery = %d; want 404 (cancelled)", round, got)
						}
					}
				}
				t.Logf("round %d: recovered %d, code step signed in %v", round, recovered, codeSession != "")
			}
		})
	}
}

// makeRecoveriesDue moves every pending recovery's start and effective
// time 73 hours back, which is what waiting out a 72-hour delay does.
func makeRecoveriesDue(t *testing.T, driver, dsn string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	back := (73 * time.Hour).Milliseconds()
	q := `UPDATE recoveries SET created_at = created_at - $1, effective_at = effective_at - $1 WHERE cancelled_at IS NULL AND completed_at IS NULL`
	res, err := db.ExecContext(context.Background(), q, back)
	if err != nil {
		t.Fatalf("make recoveries due: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("make recoveries due: %d changed; want 1", n)
	}
}
