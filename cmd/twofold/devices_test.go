package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/totp"
)

// deviceSignIn does the password step of email with pw from a browser
// holding the remembered-device token device, and returns the answer and
// the device token the browser holds afterwards ("" once it was cleared).
func deviceSignIn(c *http.Client, base, email, pw, device string) (status int, stage, session, nextDevice string, err error) {
	b, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	req, err := http.NewRequest("POST", base+"/api/v1/session", bytes.NewReader(b))
	if err != nil {
		return 0, "", "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if device != "" {
		req.AddCookie(&http.Cookie{Name: "twofold_device", Value: device})
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", "", "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", "", "", err
	}
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	stage, _ = body["status"].(string)
	nextDevice = device
	for _, ck := range resp.Cookies() {
		switch ck.Name {
		case "twofold_session":
			session = ck.Value
		case "twofold_device":
			nextDevice = ck.Value
			if ck.MaxAge < 0 {
				nextDevice = ""
			}
		}
	}
	return resp.StatusCode, stage, session, nextDevice, nil
}

// rememberDevice signs m in with its next code, ticking "remember this
// device", and returns the device token.
func rememberDevice(c *http.Client, base string, m *member) (string, error) {
	pending, err := passwordStep(c, base, m.email)
	if err != nil {
		return "", err
	}
	// The enabling code used this step; the next one is accepted already.
	code := totp.Code(m.secret, time.Now().Add(totp.Period))
	b, _ := json.Marshal(map[string]any{"code": code, "remember_device": true})
	req, err := http.NewRequest("POST", base+"/api/v1/session/two-factor", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: "twofold_session", Value: pending})
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == "twofold_device" && ck.Value != "" {
			return ck.Value, nil
		}
	}
	return "", fmt.Errorf("code step with remember_device = %d and no twofold_device cookie", resp.StatusCode)
}

// A remembered device's token skips the code step once: password steps
// racing with one token, through the real binary, complete at most one
// sign-in without a code; the others are asked for it.
func TestRaceRememberedDeviceToken(t *testing.T) {
	t.Parallel()
	const racers = 8
	eachStore(t, 3, func(t *testing.T, p *process, c *http.Client, email string) {
		m, err := enrollMember(c, p.base, email, false)
		if err != nil {
			t.Fatal(err)
		}
		device, err := rememberDevice(c, p.base, m)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		complete := 0
		fns := make([]func(), racers)
		for i := range fns {
			fns[i] = func() {
				status, stage, _, _, err := deviceSignIn(c, p.base, email, racePassword, device)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("sign-in %d: %v", i, err)
				case status == 200 && stage == string(account.StageComplete):
					complete++
				case status != 200 && status != 503:
					t.Errorf("sign-in %d = %d %s; want 200 (or 503 busy)", i, status, stage)
				}
			}
		}
		atOnce(fns...)
		if complete > 1 {
			t.Errorf("%d of %d sign-ins racing with one device token skipped the code; want at most 1", complete, racers)
		}
		t.Logf("%d of %d racing sign-ins skipped the code", complete, racers)
	})
}

// Changing the password forgets every remembered device. A browser with
// the password and the device cookie signs in again and again, keeping
// each new token (one sign-in at a time: two at once with one token would
// forget the device themselves), while the owner changes the password:
// once the change has answered, none of its sessions reaches /me, and no
// device token it ever held skips the code with the new password.
func TestRacePasswordChangeVsRememberedDevice(t *testing.T) {
	t.Parallel()
	const attackers = 1
	eachStore(t, 3, func(t *testing.T, p *process, c *http.Client, email string) {
		m, err := enrollMember(c, p.base, email, false)
		if err != nil {
			t.Fatal(err)
		}
		device, err := rememberDevice(c, p.base, m)
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu       sync.Mutex
			current  = device
			held     = map[string]bool{device: true}
			sessions []string
			wg       sync.WaitGroup
		)
		stop := make(chan struct{})
		for range attackers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					use := current
					mu.Unlock()
					status, stage, session, next, err := deviceSignIn(c, p.base, email, racePassword, use)
					if err != nil {
						t.Errorf("attacker sign-in: %v", err)
						return
					}
					mu.Lock()
					if next != "" && next != use {
						current, held[next] = next, true
					}
					if status == 200 && stage == string(account.StageComplete) {
						sessions = append(sessions, session)
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(hashTime(t, c, p.base, m.token))
		status, body, err := changePassword(c, p.base, m.token)
		close(stop)
		wg.Wait()
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("password change = %d %v %v; want 204", status, body, err)
		}
		for i, s := range sessions {
			if got, _, _ := call(t, p.base, "GET", "/me", s, nil); got != http.StatusUnauthorized {
				t.Errorf("after the password change, session %d opened on the device: GET /me = %d; want 401", i, got)
			}
		}
		// The newest token first: an older one coming back would forget
		// the device by itself, as a copy.
		tokens := []string{current}
		for token := range held {
			if token != current {
				tokens = append(tokens, token)
			}
		}
		for _, token := range tokens {
			status, stage, _, _, err := deviceSignIn(c, p.base, email, raceNewPassword, token)
			if err != nil || status != 200 || stage != string(account.StageSecondFactor) {
				t.Errorf("after the password change, the new password with a device token held = %d %s %v; want 200 %s", status, stage, err, account.StageSecondFactor)
			}
		}
		t.Logf("%d device sign-ins skipped the code before the change; %d tokens held", len(sessions), len(held))
	})
}
