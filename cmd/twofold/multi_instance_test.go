package main_test

// Two real server processes on one database: every security rule must hold
// across instances (issue: scale out). Run on a shared SQLite file always and
// on PostgreSQL when TWOFOLD_TEST_POSTGRES_DSN is set.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/store/postgres/pgtest"
	"github.com/twofold/twofold/internal/totp"
)

// apiClient bounds every request, so a server that stops answering fails
// the test instead of hanging the package.
var apiClient = &http.Client{Timeout: 60 * time.Second}

// call sends one API request carrying token as the session cookie and
// returns the status, the decoded body and the new session token, if any.
func call(t *testing.T, base, method, path, token string, body any) (int, map[string]any, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+"/api/v1"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: "twofold_session", Value: token})
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	next := token
	for _, c := range resp.Cookies() {
		if c.Name == "twofold_session" {
			next = c.Value
		}
	}
	return resp.StatusCode, m, next
}

type cluster struct {
	a, b string // base URLs of the two instances
}

func (c cluster) pick(i int) string {
	if i%2 == 0 {
		return c.a
	}
	return c.b
}

func startCluster(t *testing.T, backend string) cluster {
	t.Helper()
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	env := []string{"TWOFOLD_SECRET_KEY=" + key}
	dataA, dataB := t.TempDir(), t.TempDir()
	switch backend {
	case "sqlite":
		db := filepath.Join(t.TempDir(), "shared.db")
		env = append(env, "TWOFOLD_DATABASE="+db)
	case "postgres":
		env = append(env, "TWOFOLD_DATABASE="+pgtest.Database(t))
	}
	a := start(t, dataA, env...)
	b := start(t, dataB, env...)
	t.Cleanup(func() { a.stop(t); b.stop(t) })
	return cluster{a: a.base, b: b.base}
}

const clusterPassword = "correct horse battery"

// enroll signs up email on instance A with 2FA on and returns the secret,
// the time step of the code that enabled it and the session token.
func enroll(t *testing.T, c cluster, email string) ([]byte, int64, string) {
	t.Helper()
	token := mustSignUp(t, apiClient, c.a, map[string]string{"email": email, "password": clusterPassword, "name": "N", "mobile_phone": "+61412345678"})
	status, setup, _ := call(t, c.a, "POST", "/me/two-factor/setup", token, nil)
	if status != 200 {
		t.Fatalf("setup = %d %v", status, setup)
	}
	secret, err := totp.DecodeSecret(setup["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if status, body, _ := call(t, c.a, "POST", "/me/two-factor/enable", token, map[string]string{"code": totp.Code(secret, now)}); status != 200 {
		t.Fatalf("enable = %d %v", status, body)
	}
	return secret, totp.Step(now), token
}

// pendingOn does the password step on base and returns the pending token.
func pendingOn(t *testing.T, base, email string) string {
	t.Helper()
	status, body, token := call(t, base, "POST", "/session", "", map[string]string{"email": email, "password": clusterPassword})
	if status != 200 || body["status"] != "two_factor_required" {
		t.Fatalf("password step on %s = %d %v", base, status, body)
	}
	return token
}

// race sends the same code from n pending sign-ins, alternating instances,
// all at once, and returns how many were accepted. The code is asked for
// once every sign-in is pending, just before they are sent.
func race(t *testing.T, c cluster, email string, code func() string, n int) int {
	t.Helper()
	pending := make([]string, n)
	for i := range pending {
		pending[i] = pendingOn(t, c.pick(i+1), email) // made on one instance, used on the other
	}
	sent := code()
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	start := make(chan struct{})
	for i, token := range pending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body, _ := call(t, c.pick(i), "POST", "/session/two-factor", token, map[string]string{"code": sent})
			switch status {
			case 200:
				mu.Lock()
				accepted++
				mu.Unlock()
			case 401, 429:
			default:
				t.Errorf("code step = %d %v; want 200, 401 or 429", status, body)
			}
		}()
	}
	close(start)
	wg.Wait()
	return accepted
}

// freshCode returns the code of the earliest time step after used (the
// step of the last code the server accepted for secret) that the server
// accepts now, and that step. Each step's code is accepted once, and steps
// at or before the last one used never again; the server also accepts one
// step either side of its clock (--totp-skew 1, the default), so instead of
// sleeping for the next 30-second step, a test that has just used the
// current step's code sends the next one's: a code for step s is accepted
// while the clock is in s-1, s or s+1. Only if used is itself ahead of the
// clock (the code just used was a next step's) does freshCode wait, until
// the step before its answer begins. The answer stays good for at least
// 30 s, near a step boundary too.
func freshCode(secret []byte, used int64) (string, int64) {
	step := max(used+1, totp.Step(time.Now()))
	if begins := time.Unix((step-1)*int64(totp.Period/time.Second), 0); time.Now().Before(begins) {
		time.Sleep(time.Until(begins) + 10*time.Millisecond)
	}
	return totp.HOTP(secret, step, totp.Digits), step
}

func TestTwoInstancesOneDatabase(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, backend)

			// Enroll on A; B sees it at once: the password step on B asks for a code.
			totpSecret, totpUsed, _ := enroll(t, c, "totp@example.com")
			_, _, backupToken := enroll(t, c, "backup@example.com")
			throttleSecret, throttleUsed, _ := enroll(t, c, "throttle@example.com")

			// One backup code sent from 50 pending sign-ins across both: accepted once.
			status, body, _ := call(t, c.a, "POST", "/me/backup-codes", backupToken, nil)
			if status != 201 {
				t.Fatalf("backup codes = %d %v", status, body)
			}
			code := body["codes"].([]any)[0].(string)
			if n := race(t, c, "backup@example.com", func() string { return code }, 50); n != 1 {
				t.Errorf("one backup code raced across two instances: accepted %d times; want 1", n)
			}

			// Failed codes on A and B add up in one throttle: 5 + 5, then 429.
			for i := range 10 {
				p := pendingOn(t, c.pick(i), "throttle@example.com")
				if status, body, _ := call(t, c.pick(i), "POST", "/session/two-factor", p, map[string]string{"code": "000000"}); status != 401 {
					t.Fatalf("wrong code #%d on instance %d = %d %v; want 401", i+1, i%2, status, body)
				}
			}
			p := pendingOn(t, c.a, "throttle@example.com")
			right, _ := freshCode(throttleSecret, throttleUsed)
			if status, _, _ := call(t, c.a, "POST", "/session/two-factor", p, map[string]string{"code": right}); status != 429 {
				t.Errorf("right code after 5 failures on A and 5 on B = %d; want 429", status)
			}

			// One TOTP code (the first one enable did not use) sent from 50
			// pending sign-ins across both: accepted once.
			fresh := func() string { code, _ := freshCode(totpSecret, totpUsed); return code }
			if n := race(t, c, "totp@example.com", fresh, 50); n != 1 {
				t.Errorf("one TOTP code raced across two instances: accepted %d times; want 1", n)
			}

			// Signing out on A ends the session on B.
			token := mustSignUp(t, apiClient, c.a, map[string]string{"email": "plain@example.com", "password": clusterPassword, "name": "P"})
			if status, _, _ := call(t, c.b, "GET", "/me", token, nil); status != 200 {
				t.Errorf("GET /me on B with A's session = %d; want 200", status)
			}
			if status, _, _ := call(t, c.a, "DELETE", "/session", token, nil); status != 204 {
				t.Errorf("sign out on A = %d; want 204", status)
			}
			if status, _, _ := call(t, c.b, "GET", "/me", token, nil); status != 401 {
				t.Errorf("GET /me on B after signing out on A = %d; want 401", status)
			}
		})
	}
}
