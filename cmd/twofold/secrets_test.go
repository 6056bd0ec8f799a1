package main_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/totp"
)

// After a whole journey against the real binary, no TOTP secret, backup
// code, password or session token appears in the database file, its WAL,
// the logs, or any error answer.
func TestNoSecretAtRestOrInLogs(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := start(t, data, "TWOFOLD_LOG_LEVEL=debug")
	const pw = "Correct-Horse-Battery-Staple-42"
	var answers []string // every response body that must not echo a secret
	send := func(method, path, token string, body any) (int, map[string]any, string) {
		t.Helper()
		status, m, next := call(t, p.base, method, path, token, body)
		answers = append(answers, toJSON(m))
		return status, m, next
	}
	if status, _, _ := send("POST", "/signup", "", map[string]string{"email": "ana@example.com", "password": pw, "name": "Ana", "mobile_phone": "+61412345678"}); status != 202 {
		t.Fatalf("signup = %d; want 202", status)
	}
	link, err := mailedSignUpToken(p.base, "ana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	status, _, token := send("POST", "/signup/confirm", "", map[string]string{"token": link, "password": pw})
	if status != 201 {
		t.Fatalf("signup confirm = %d; want 201", status)
	}
	tokens := []string{token}
	status, setup, _ := call(t, p.base, "POST", "/me/two-factor/setup", token, nil) // answers with the secret by design
	if status != 200 {
		t.Fatalf("setup = %d", status)
	}
	secretB32 := setup["secret"].(string)
	secret, _ := totp.DecodeSecret(secretB32)
	send("POST", "/me/two-factor/enable", token, map[string]string{"code": "000000"})
	used := []string{totp.Code(secret, time.Now())}
	if status, body, _ := send("POST", "/me/two-factor/enable", token, map[string]string{"code": used[0]}); status != 200 {
		t.Fatalf("enable = %d %v", status, body)
	}
	status, backup, _ := call(t, p.base, "POST", "/me/backup-codes", token, nil) // answers with the codes by design
	if status != 201 {
		t.Fatalf("backup codes = %d", status)
	}
	var codes []string
	for _, c := range backup["codes"].([]any) {
		codes = append(codes, c.(string))
	}
	// Sign in with a backup code, try a wrong password and a reused code.
	_, _, pending := send("POST", "/session", "", map[string]string{"email": "ana@example.com", "password": pw})
	tokens = append(tokens, pending)
	_, _, full := send("POST", "/session/two-factor", pending, map[string]string{"code": codes[0]})
	tokens = append(tokens, full)
	send("POST", "/session", "", map[string]string{"email": "ana@example.com", "password": pw + "x"})
	_, _, pending2 := send("POST", "/session", "", map[string]string{"email": "ana@example.com", "password": pw})
	tokens = append(tokens, pending2)
	send("POST", "/session/two-factor", pending2, map[string]string{"code": codes[0]})
	send("POST", "/session/two-factor", pending2, map[string]string{"code": used[0]})

	needles := map[string]string{
		"password": pw, "secret (base32)": secretB32, "secret (raw)": string(secret),
		"secret (base64)": base64.StdEncoding.EncodeToString(secret),
	}
	for i, c := range codes {
		needles["backup code "+string(rune('0'+i))] = c
		needles["backup code, compact "+string(rune('0'+i))] = strings.ReplaceAll(c, "-", "")
	}
	for i, tok := range tokens {
		needles["session token "+string(rune('0'+i))] = tok
	}
	check := func(where string, haystack []byte) {
		t.Helper()
		for name, needle := range needles {
			if needle != "" && bytes.Contains(bytes.ToLower(haystack), bytes.ToLower([]byte(needle))) {
				t.Errorf("%s found in %s", name, where)
			}
		}
	}
	// The files while the server runs (WAL not yet checkpointed) and after it stops.
	scan := func(when string) {
		files, _ := filepath.Glob(filepath.Join(data, "twofold.db*"))
		if len(files) == 0 {
			t.Fatal("no database files found")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			check(filepath.Base(f)+" "+when, b)
		}
	}
	scan("while running")
	p.stop(t)
	scan("after stopping")
	check("the logs", []byte(p.logs.String()))
	// A 6-digit code is too short to grep for in files full of numbers, but
	// no answer may echo one back.
	needles["TOTP code"] = used[0]
	for _, a := range answers {
		check("an API answer", []byte(a))
	}
	if !strings.Contains(p.logs.String(), "notification queued") {
		t.Error("the logs show no queued notification; did the journey run?")
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
