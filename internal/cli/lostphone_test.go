package cli

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/store/postgres"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
)

// accounttest's server key (0x42 × 32), so that the CLI and the test's
// service are one server.
var lostPhoneKey = strings.Repeat("42", 32)

var cliTextedCode = regexp.MustCompile(`verification code: (\d{6})\.`)

// cliRun is one run of the command line against database.
type cliRun struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, env map[string]string, stdin io.Reader, args ...string) cliRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), args, func(k string) string { return env[k] }, stdin, &stdout, &stderr)
	return cliRun{code, stdout.String(), stderr.String()}
}

// waitForText polls the outbox, as the SMS sender would, for a
// verification text to phone newer than after, and returns its code.
func waitForText(t *testing.T, st accounttest.Store, phone string, after int64) (string, int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		msgs, err := st.Notifications(context.Background(), 100)
		if err != nil {
			t.Error(err)
			return "", 0
		}
		for _, m := range msgs {
			if m.Channel == account.ChannelSMS && m.Recipient == phone && m.ID > after {
				if c := cliTextedCode.FindStringSubmatch(m.Body); c != nil {
					return c[1], m.ID
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("no verification text to %s in the outbox", phone)
	return "", 0
}

// `user verify-phone EMAIL` texts a code (to the outbox, where the sender
// picks it up), prompts for the code read back line by line (letters and a
// wrong code are said, the right one verifies); `user reset-2fa EMAIL`
// refuses without a verification or --reason, works once on a
// verification and with a reason, and each is audited as the operator's.
func TestVerifyPhoneAndResetTwoFactor(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) (env *accounttest.Env, database string)
	}{
		{"sqlite", func(t *testing.T) (*accounttest.Env, string) {
			env := accounttest.New(t)
			return env, env.DBPath
		}},
		{"postgres", func(t *testing.T) (*accounttest.Env, string) {
			dsn := pgtest.Database(t)
			st, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return accounttest.NewOnStore(t, st), dsn
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, database := tt.open(t)
			ctx := t.Context()
			const email, phone, pw = "ana@example.com", "+61412345678", "correct horse battery"
			c := account.Client{IP: "192.0.2.1"}
			enroll := func() {
				t.Helper()
				token, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: email, Password: pw}, c)
				if err != nil {
					t.Fatal(err)
				}
				sess, err := env.Service.Authenticate(ctx, token)
				if err != nil {
					t.Fatal(err)
				}
				setup, err := env.Service.BeginTOTPSetup(ctx, sess)
				if err != nil {
					t.Fatal(err)
				}
				if err := env.Service.EnableTOTP(ctx, sess, env.Code(t, setup.Secret), c); err != nil {
					t.Fatal(err)
				}
			}
			env.SignUp(t, account.SignUpInput{Name: "Ana", Email: email, Password: pw, MobilePhone: phone}, c)
			enroll()
			twoFA := func() bool {
				t.Helper()
				u, err := env.Store.UserByEmail(ctx, email)
				if err != nil {
					t.Fatal(err)
				}
				return u.TwoFactorEnabled()
			}
			texts := map[string]string{
				"TWOFOLD_SECRET_KEY":         lostPhoneKey,
				"TWOFOLD_TWILIO_ACCOUNT_SID": "AC" + strings.Repeat("0", 32),
				"TWOFOLD_TWILIO_AUTH_TOKEN":  "token",
				"TWOFOLD_TWILIO_FROM":        "+15005550006",
			}
			noTexts := map[string]string{"TWOFOLD_SECRET_KEY": lostPhoneKey}

			// Neither a verification nor a reason.
			r := runCLI(t, texts, strings.NewReader(""), "user", "reset-2fa", email, "--database", database)
			if r.code == 0 || !strings.Contains(r.stderr, "twofold user verify-phone "+email) || !twoFA() {
				t.Fatalf("reset-2fa without a verification = exit %d, stderr %q, 2FA on %v; want refused, pointing at verify-phone", r.code, r.stderr, twoFA())
			}
			// Without texts, verify-phone says what to do instead.
			r = runCLI(t, noTexts, strings.NewReader("123456\n"), "user", "verify-phone", email, "--database", database)
			if r.code == 0 || !strings.Contains(r.stderr, "text messages are not set up") || !strings.Contains(r.stderr, "--reason") {
				t.Errorf("verify-phone without Twilio = exit %d, stderr %q; want refused, pointing at --reason", r.code, r.stderr)
			}
			r = runCLI(t, texts, strings.NewReader(""), "user", "verify-phone", "nobody@example.com", "--database", database)
			if r.code == 0 || !strings.Contains(r.stderr, "no account with email nobody@example.com") {
				t.Errorf("verify-phone of an unknown email = exit %d, stderr %q", r.code, r.stderr)
			}

			// The operator types what the person reads: letters, a wrong code, the right one.
			in, typed := io.Pipe()
			done := make(chan cliRun)
			go func() { done <- runCLI(t, texts, in, "user", "verify-phone", email, "--database", database) }()
			code, id := waitForText(t, env.Store, phone, 0)
			wrong := "111111"
			if code == wrong {
				wrong = "222222"
			}
			go func() {
				io.WriteString(typed, "12ab56\n"+wrong+"\n"+code[:3]+" "+code[3:]+"\n")
				typed.Close()
			}()
			r = <-done
			in.Close() // a command that stopped early unblocks the typing
			if r.code != 0 {
				t.Fatalf("verify-phone = exit %d, stderr %q, stdout %q; want 0", r.code, r.stderr, r.stdout)
			}
			for _, want := range []string{"Texted a 6-digit code to +61 412 345 678", "Enter the 6 digits",
				"That is not the code that was texted", "Verified: they hold the phone. Run `twofold user reset-2fa " + email + "`"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("verify-phone stdout = %q; want %q in it", r.stdout, want)
				}
			}
			if n := strings.Count(r.stdout, "Code they read back: "); n != 3 {
				t.Errorf("verify-phone prompted %d times; want 3 (one per line typed)", n)
			}

			r = runCLI(t, texts, strings.NewReader(""), "user", "reset-2fa", email, "--database", database)
			if r.code != 0 || !strings.Contains(r.stdout, "2 factor authentication is now off for "+email) || twoFA() {
				t.Fatalf("reset-2fa after the verification = exit %d, stdout %q, stderr %q, 2FA on %v; want it off", r.code, r.stdout, r.stderr, twoFA())
			}
			r = runCLI(t, texts, strings.NewReader(""), "user", "reset-2fa", email, "--database", database)
			if r.code == 0 || !strings.Contains(r.stderr, "already off") {
				t.Errorf("reset-2fa of 2FA that is off = exit %d, stderr %q", r.code, r.stderr)
			}

			// Enrolled again: the verification was used; input that ends is no code.
			enroll()
			r = runCLI(t, texts, strings.NewReader(""), "user", "reset-2fa", email, "--database", database)
			if r.code == 0 || !twoFA() {
				t.Errorf("a second reset-2fa on one verification = exit %d, 2FA on %v; want refused", r.code, twoFA())
			}
			r = runCLI(t, texts, strings.NewReader(wrong+"\n"), "user", "verify-phone", email, "--database", database)
			if r.code == 0 || !strings.Contains(r.stderr, "no code entered") {
				t.Errorf("verify-phone with input that ends = exit %d, stderr %q; want no code entered", r.code, r.stderr)
			}
			if _, next := waitForText(t, env.Store, phone, id); next == 0 {
				t.Error("the second verify-phone texted nothing")
			}
			r = runCLI(t, texts, strings.NewReader(""), "user", "reset-2fa", email, "--reason", "ok", "--database", database)
			if r.code == 0 || !strings.Contains(r.stderr, "3 to 500 characters") || !twoFA() {
				t.Errorf("reset-2fa --reason ok = exit %d, stderr %q; want the reason's length asked for", r.code, r.stderr)
			}
			r = runCLI(t, noTexts, strings.NewReader(""), "user", "reset-2fa", email, "--reason", "Saw her in person with her badge", "--database", database)
			if r.code != 0 || twoFA() {
				t.Fatalf("reset-2fa --reason = exit %d, stderr %q, 2FA on %v; want it off", r.code, r.stderr, twoFA())
			}

			entries, err := env.Store.AuditLog(ctx, 20)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				if e.Action == account.AuditResetTwoFA {
					got = append(got, e.Actor+": "+e.Detail)
				}
			}
			want := []string{"operator (CLI): without phone verification: Saw her in person with her badge", "operator (CLI): phone verified by text message"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("audited resets, newest first = %q; want %q", got, want)
			}
		})
	}
}
