package account_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/keyring"
)

// Hot paths of the service, on a real SQLite file (accounttest): session
// lookup as every authenticated request does it, and the code step.

var benchClient = account.Client{IP: "192.0.2.9", UserAgent: "bench"}

const benchPassword = "correct horse battery staple"

// benchEnrolled returns an env with one user, 2FA on, and its secret.
func benchEnrolled(b *testing.B) (*accounttest.Env, string, string) {
	b.Helper()
	ctx := context.Background()
	env := accounttest.New(b)
	_, token := env.SignUp(b, account.SignUpInput{Email: "bench@example.com", Password: benchPassword, Name: "B", MobilePhone: "+61 412 345 678"}, benchClient)
	sess, err := env.Service.Authenticate(ctx, token)
	if err != nil {
		b.Fatal(err)
	}
	setup, err := env.Service.BeginTOTPSetup(ctx, sess)
	if err != nil {
		b.Fatal(err)
	}
	if err := env.Service.EnableTOTP(ctx, sess, env.Code(b, setup.Secret), benchClient); err != nil {
		b.Fatal(err)
	}
	return env, token, setup.Secret
}

// BenchmarkAuthenticate is the session lookup of every authenticated
// request: token hash, one indexed read, the timeout checks (the clock
// stands still, so no last-seen write).
func BenchmarkAuthenticate(b *testing.B) {
	env, token, _ := benchEnrolled(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := env.Service.Authenticate(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubmitSecondFactorTOTP is the code step: session lookup, user
// read, throttle reservation, secret decryption, TOTP validation, the
// compare-and-set of the step, session rotation and the activity record.
// The password step before each one is not timed.
func BenchmarkSubmitSecondFactorTOTP(b *testing.B) {
	env, _, secret := benchEnrolled(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		env.Clock.Advance(30 * time.Second) // a fresh step: each code is good once
		pending, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: "bench@example.com", Password: benchPassword}, benchClient)
		if err != nil {
			b.Fatal(err)
		}
		code := env.Code(b, secret)
		b.StartTimer()
		if _, err := env.Service.SubmitSecondFactor(ctx, pending, code, benchClient); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBackupCodeKeyedHash is the CPU part of checking a backup code:
// normalizing what was typed and its HMAC-SHA-256 under the server key;
// the store's conditional UPDATE is measured by the store benchmarks.
func BenchmarkBackupCodeKeyedHash(b *testing.B) {
	keys, err := keyring.New(bytes.Repeat([]byte{7}, keyring.KeySize), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		canonical, ok := account.NormalizeBackupCode("K3M9Q-X7C2P")
		if !ok {
			b.Fatal("NormalizeBackupCode refused a well-formed code")
		}
		_ = keys.MAC([]byte(canonical))
	}
}
