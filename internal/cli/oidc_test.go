package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// The OpenID commands: add prints client_id and client_secret on their
// own lines (a public client gets no secret), list shows the apps,
// rotate-secret prints a new secret, remove removes, and bad input names
// the flag.
func TestOIDCClientCommands(t *testing.T) {
	dir := t.TempDir()
	key := strings.Repeat("ab", 32)
	getenv := func(k string) string {
		if k == "TWOFOLD_SECRET_KEY" {
			return key
		}
		return ""
	}
	run := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append(args, "--data-dir", dir)
		if code := Run(t.Context(), args, getenv, strings.NewReader(""), &stdout, &stderr); code != wantCode {
			t.Fatalf("twofold %s = exit %d; want %d\n%s%s", strings.Join(args, " "), code, wantCode, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	line := func(out, name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `: (\S+)$`).FindStringSubmatch(out)
		if m == nil {
			return ""
		}
		return m[1]
	}
	run(0, "migrate")

	out, _ := run(0, "oidc", "client", "add", "--name", "Wiki", "--redirect-uri", "https://wiki.example.com/cb",
		"--redirect-uri", "http://127.0.0.1:9/cb", "--require-two-factor", "--id-token-alg", "ES256")
	id, secret := line(out, "client_id"), line(out, "client_secret")
	if id == "" || len(secret) < 40 {
		t.Fatalf("oidc client add printed %q; want client_id: and a client_secret: of 256 bits", out)
	}
	out, _ = run(0, "oidc", "client", "add", "--name", "Command line", "--public", "--redirect-uri", "http://localhost/cb")
	if line(out, "client_id") == "" || line(out, "client_secret") != "" {
		t.Errorf("a public client's add printed %q; want a client_id and no secret", out)
	}

	out, _ = run(0, "oidc", "client", "list")
	for _, want := range []string{id, "Wiki", "confidential", "required", "ES256", "https://wiki.example.com/cb http://127.0.0.1:9/cb", "Command line", "public"} {
		if !strings.Contains(out, want) {
			t.Errorf("oidc client list does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, secret) {
		t.Error("oidc client list shows the secret")
	}

	out, _ = run(0, "oidc", "client", "rotate-secret", id)
	if next := line(out, "client_secret"); next == "" || next == secret {
		t.Errorf("rotate-secret printed %q; want a new client_secret", out)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "Bad", "--redirect-uri", "http://app.example.com/cb"}, "--redirect-uri: "},
		{[]string{"--redirect-uri", "https://app.example.com/cb"}, "--name: "},
		{[]string{"--name", "Bad", "--redirect-uri", "https://app.example.com/cb", "--id-token-alg", "HS256"}, "--id-token-alg: "},
	} {
		_, stderr := run(1, append([]string{"oidc", "client", "add"}, tt.args...)...)
		if !strings.Contains(stderr, tt.want) {
			t.Errorf("oidc client add %v said %q; want it to name %q", tt.args, stderr, tt.want)
		}
	}

	out, _ = run(0, "oidc", "client", "remove", id)
	if !strings.Contains(out, "removed client "+id) {
		t.Errorf("remove printed %q", out)
	}
	if _, stderr := run(1, "oidc", "client", "remove", id); !strings.Contains(stderr, "no OpenID client "+id) {
		t.Errorf("removing it again said %q; want no OpenID client", stderr)
	}
	if out, _ := run(0, "oidc", "keys", "rotate"); !strings.Contains(out, "new signing keys in use (RS256, ES256)") {
		t.Errorf("keys rotate printed %q", out)
	}
	if _, stderr := run(1, "oidc", "client"); !strings.Contains(stderr, "want a subcommand") {
		t.Errorf("oidc client alone said %q; want the subcommands", stderr)
	}
}
