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

// enroll signs up email on instance A with 2FA on and returns the secret
// and the session token.
func enroll(t *testing.T, c cluster, email string) ([]byte, string) {
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
	if status, body, _ := call(t, c.a, "POST", "/me/two-factor/enable", token, map[string]string{"code": totp.Code(secret, time.Now())}); status != 200 {
		t.Fatalf("enable = %d %v", status, body)
	}
	return secret, token
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
// all at once, and returns how many were accepted.
func race(t *testing.T, c cluster, email, code string, n int) int {
	t.Helper()
	pending := make([]string, n)
	for i := range pending {
		pending[i] = pendingOn(t, c.pick(i+1), email) // made on one instance, used on the other
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	start := make(chan struct{})
	for i, token := range pending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body, _ := call(t, c.pick(i), "POST", "/session/two-factor", token, map[string]string{"code": code})
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

func waitForNextStep() {
	time.Sleep(time.Until(time.Unix((totp.Step(time.Now())+1)*30, 0)) + 50*time.Millisecond)
}

func TestTwoInstancesOneDatabase(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, backend)

			// Enroll on A; B sees it at once: the password step on B asks for a code.
			totpSecret, _ := enroll(t, c, "totp@example.com")
			_, backupToken := enroll(t, c, "backup@example.com")
			throttleSecret, _ := enroll(t, c, "throttle@example.com")

			// One backup code sent from 50 pending sign-ins across both: accepted once.
			status, body, _ := call(t, c.a, "POST", "/me/backup-codes", backupToken, nil)
			if status != 201 {
				t.Fatalf("backup codes = %d %v", status, body)
			}
			code := body["codes"].([]any)[0].(string)
			if n := race(t, c, "backup@example.com", code, 50); n != 1 {
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
			if status, _, _ := call(t, c.a, "POST", "/session/two-factor", p, map[string]string{"code": totp.Code(throttleSecret, time.Now())}); status != 429 {
				t.Errorf("right code after 5 failures on A and 5 on B = %d; want 429", status)
			}

			// One TOTP code sent from 50 pending sign-ins across both: accepted once.
			waitForNextStep()
			if n := race(t, c, "totp@example.com", totp.Code(totpSecret, time.Now()), 50); n != 1 {
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
