package main_test

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/totp"
)

// The brief's journey against the real binary through the JSON API: enroll,
// sign in with a code, then with a backup code; neither works twice.
func TestJourneyAgainstRealProcess(t *testing.T) {
	data := t.TempDir()
	p := start(t, data)
	defer p.stop(t)
	c := newClient(t)
	api := p.base + "/api/v1"
	const pw = "correct horse battery"

	if resp, body := postJSON(t, c, api+"/signup", map[string]string{"email": "ana@example.com", "password": pw, "name": "Ana", "mobile_phone": "+61412345678"}); resp.StatusCode != 202 || body["status"] != "confirmation_sent" {
		t.Fatalf("signup = %d %v; want 202 confirmation_sent", resp.StatusCode, body)
	}
	// No SMTP server: the operator reads the link with the CLI and passes it on.
	list, err := exec.Command(binary, "outbox", "list", "--data-dir", data).CombinedOutput()
	m := regexp.MustCompile(`(?m)^(\d+)\s.*ana@example\.com\s+Finish signing up\s+queued$`).FindSubmatch(list)
	if err != nil || m == nil {
		t.Fatalf("outbox list = %s, %v; want the queued sign-up link to ana@example.com", list, err)
	}
	shown, err := exec.Command(binary, "outbox", "show", string(m[1]), "--data-dir", data).CombinedOutput()
	link, found := accounttest.LinkToken(string(shown))
	if err != nil || !found {
		t.Fatalf("outbox show %s = %s, %v; want the message with its link", m[1], shown, err)
	}
	if out, err := exec.Command(binary, "outbox", "show", "999999", "--data-dir", data).CombinedOutput(); err == nil || !strings.Contains(string(out), "no message 999999") {
		t.Errorf("outbox show of a missing ID = %s, %v; want an error naming it", out, err)
	}
	if resp, body := postJSON(t, c, api+"/signup/confirm", map[string]string{"token": link, "password": pw}); resp.StatusCode != 201 {
		t.Fatalf("signup confirm = %d %v; want 201", resp.StatusCode, body)
	}
	resp, setup := postJSON(t, c, api+"/me/two-factor/setup", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("setup = %d %v", resp.StatusCode, setup)
	}
	secret, err := totp.DecodeSecret(setup["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	// Codes are single-use per 30-second step: wait for a fresh step between uses.
	waitNextStep := func() { time.Sleep(time.Until(time.Unix((totp.Step(time.Now())+1)*30, 0)) + 50*time.Millisecond) }
	if resp, body := postJSON(t, c, api+"/me/two-factor/enable", map[string]string{"code": totp.Code(secret, time.Now())}); resp.StatusCode != 200 {
		t.Fatalf("enable = %d %v", resp.StatusCode, body)
	}
	resp, backup := postJSON(t, c, api+"/me/backup-codes", nil)
	if resp.StatusCode != 201 {
		t.Fatalf("backup codes = %d %v", resp.StatusCode, backup)
	}
	codes := backup["codes"].([]any)

	signIn := func() *http.Client {
		t.Helper()
		c := newClient(t)
		resp, body := postJSON(t, c, api+"/session", map[string]string{"email": "ana@example.com", "password": pw})
		if resp.StatusCode != 200 || body["status"] != "two_factor_required" {
			t.Fatalf("password step = %d %v; want two_factor_required", resp.StatusCode, body)
		}
		return c
	}
	waitNextStep()
	code := totp.Code(secret, time.Now())
	if resp, body := postJSON(t, signIn(), api+"/session/two-factor", map[string]string{"code": code}); resp.StatusCode != 200 {
		t.Fatalf("code step = %d %v", resp.StatusCode, body)
	}
	if resp, _ := postJSON(t, signIn(), api+"/session/two-factor", map[string]string{"code": code}); resp.StatusCode != 401 {
		t.Errorf("same TOTP code again = %d; want 401", resp.StatusCode)
	}
	if resp, body := postJSON(t, signIn(), api+"/session/two-factor", map[string]string{"code": codes[0].(string)}); resp.StatusCode != 200 {
		t.Errorf("backup code = %d %v; want 200", resp.StatusCode, body)
	}
	if resp, _ := postJSON(t, signIn(), api+"/session/two-factor", map[string]string{"code": codes[0].(string)}); resp.StatusCode != 401 {
		t.Errorf("same backup code again = %d; want 401", resp.StatusCode)
	}
	// Without SMTP, the notifications wait in the outbox, where the operator sees them.
	out, err := exec.Command(binary, "outbox", "list", "--data-dir", data).CombinedOutput()
	for _, want := range []string{"2 factor authentication is on", "New backup codes were generated", "A backup code was used to sign in", "queued"} {
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("outbox list = %s, %v; want a line with %q", out, err, want)
		}
	}
}

// Reading the outbox needs no server key, and does not create one in a
// data dir that has none (a mistyped --data-dir).
func TestOutboxCommandsCreateNoKey(t *testing.T) {
	data := t.TempDir()
	if out, err := exec.Command(binary, "outbox", "list", "--data-dir", data).CombinedOutput(); err != nil {
		t.Fatalf("outbox list = %s, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(data, "secret.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("outbox list left a key file in the data dir (stat: %v)", err)
	}
}
