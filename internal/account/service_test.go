package account_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/password"
	"github.com/twofold/twofold/internal/totp"
)

var (
	ctx    = context.Background()
	client = account.Client{IP: "192.0.2.7", UserAgent: "test"}
)

const pw = "correct horse battery staple"

type fixture struct {
	*accounttest.Env
	t      *testing.T
	email  string
	token  string
	secret string // base32, once enrolled
}

func (f *fixture) session() *account.Session {
	f.t.Helper()
	sess, err := f.Service.Authenticate(ctx, f.token)
	if err != nil {
		f.t.Fatalf("Authenticate = %v", err)
	}
	return sess
}

// profile is what My info shows, as read with the session.
func (f *fixture) profile() (*account.Profile, error) {
	return f.session().Profile, nil
}

// signedUp returns a user who signed up with a mobile number.
func signedUp(t *testing.T, opts ...func(*account.Policy)) *fixture {
	t.Helper()
	return signedUpOn(t, accounttest.New(t, opts...))
}

// signedUpOn is signedUp on env.
func signedUpOn(t *testing.T, env *accounttest.Env) *fixture {
	t.Helper()
	f := &fixture{Env: env, t: t, email: "ana@example.com"}
	_, f.token = env.SignUp(t, account.SignUpInput{Email: "Ana@Example.com ", Password: pw, Name: "Ana", MobilePhone: "+61 412 345 678"}, client)
	return f
}

// enrolled returns a user with 2FA on, signed in, the clock at a fresh step.
func enrolled(t *testing.T, opts ...func(*account.Policy)) *fixture {
	t.Helper()
	return enrolledOn(t, accounttest.New(t, opts...))
}

// enrolledOn is enrolled on env.
func enrolledOn(t *testing.T, env *accounttest.Env) *fixture {
	t.Helper()
	f := signedUpOn(t, env)
	setup, err := f.Service.BeginTOTPSetup(ctx, f.session())
	if err != nil {
		t.Fatalf("BeginTOTPSetup = %v", err)
	}
	f.secret = setup.Secret
	if err := f.Service.EnableTOTP(ctx, f.session(), f.Code(t, f.secret), client); err != nil {
		t.Fatalf("EnableTOTP = %v", err)
	}
	f.Clock.Advance(30 * time.Second)
	return f
}

// signInPassword does the password step and returns the pending token.
func (f *fixture) signInPassword() string {
	f.t.Helper()
	token, stage, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client)
	if err != nil {
		f.t.Fatalf("SignIn = %v", err)
	}
	if stage != account.StageSecondFactor {
		f.t.Fatalf("SignIn stage = %q; want %q", stage, account.StageSecondFactor)
	}
	return token
}

func TestSignUpValidation(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	tests := []struct {
		name  string
		in    account.SignUpInput
		field string
	}{
		{"empty email", account.SignUpInput{Email: "", Password: pw, Name: "A"}, "email"},
		{"no at sign", account.SignUpInput{Email: "ana.example.com", Password: pw, Name: "A"}, "email"},
		{"display name form", account.SignUpInput{Email: "Ana <ana@example.com>", Password: pw, Name: "A"}, "email"},
		{"no dot in domain", account.SignUpInput{Email: "ana@localhost", Password: pw, Name: "A"}, "email"},
		{"short password", account.SignUpInput{Email: "a@example.com", Password: "1234567", Name: "A"}, "password"},
		{"long password", account.SignUpInput{Email: "a@example.com", Password: strings.Repeat("x", 129), Name: "A"}, "password"},
		{"empty name", account.SignUpInput{Email: "a@example.com", Password: pw, Name: "  "}, "name"},
		{"control char in name", account.SignUpInput{Email: "a@example.com", Password: pw, Name: "A\x00B"}, "name"},
		{"line separator in name", account.SignUpInput{Email: "a@example.com", Password: pw, Name: "Ana\u2028Admin"}, "name"},
		{"paragraph separator in name", account.SignUpInput{Email: "a@example.com", Password: pw, Name: "Ana\u2029Admin"}, "name"},
		{"right-to-left override in name", account.SignUpInput{Email: "a@example.com", Password: pw, Name: "Ana\u202Egpj.exe"}, "name"},
		{"bidi isolate in name", account.SignUpInput{Email: "a@example.com", Password: pw, Name: "Ana\u2066B\u2069"}, "name"},
		{"left-to-right mark in name", account.SignUpInput{Email: "a@example.com", Password: pw, Name: "Ana\u200E"}, "name"},
		{"phone without country code", account.SignUpInput{Email: "a@example.com", Password: pw, Name: "A", MobilePhone: "0412 345 678"}, "mobile_phone"},
		{"phone not a number", account.SignUpInput{Email: "a@example.com", Password: pw, Name: "A", MobilePhone: "+61 abc"}, "mobile_phone"},
		{"landline", account.SignUpInput{Email: "a@example.com", Password: pw, Name: "A", MobilePhone: "+61 2 9876 5432"}, "mobile_phone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := env.Service.StartSignUp(ctx, tt.in, client)
			var verr *account.ValidationError
			if !errors.As(err, &verr) || verr.Fields[tt.field] == "" {
				t.Errorf("StartSignUp(%+v) = %v; want a validation message for %q", tt.in, err, tt.field)
			}
		})
	}
}

func TestSignUpStoresE164(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	p, err := f.profile()
	if err != nil {
		t.Fatal(err)
	}
	if p.User.MobilePhone != "+61412345678" || p.User.Email != "ana@example.com" {
		t.Errorf("stored phone, email = %q, %q; want +61412345678, ana@example.com", p.User.MobilePhone, p.User.Email)
	}
}

func TestSignInWithoutTwoFactor(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	token, stage, err := f.Service.SignIn(ctx, account.SignInInput{Email: "ana@example.com", Password: pw, PreviousToken: f.token}, client)
	if err != nil || stage != account.StageComplete {
		t.Fatalf("SignIn = %q, %v; want %q", stage, err, account.StageComplete)
	}
	if token == f.token {
		t.Error("SignIn kept the session token; want a new one")
	}
	if _, err := f.Service.Authenticate(ctx, f.token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("previous token after SignIn: Authenticate = %v; want ErrUnauthenticated", err)
	}
}

func TestWrongEmailAndWrongPasswordLookAlike(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	_, _, errUnknown := f.Service.SignIn(ctx, account.SignInInput{Email: "nobody@example.com", Password: pw}, client)
	_, _, errWrong := f.Service.SignIn(ctx, account.SignInInput{Email: "ana@example.com", Password: "wrong password"}, client)
	if !errors.Is(errUnknown, account.ErrInvalidCredentials) || errUnknown != errWrong {
		t.Errorf("unknown email = %v, wrong password = %v; want the same ErrInvalidCredentials", errUnknown, errWrong)
	}
}

func TestSetupRequiresMobilePhoneAndRecentPassword(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	_, token := env.SignUp(t, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client)
	sess, _ := env.Service.Authenticate(ctx, token)
	if _, err := env.Service.BeginTOTPSetup(ctx, sess); !errors.Is(err, account.ErrPhoneRequired) {
		t.Errorf("BeginTOTPSetup without a phone = %v; want ErrPhoneRequired", err)
	}
	phone := "+447911123456"
	if _, err := env.Service.UpdateProfile(ctx, sess, account.ProfileUpdate{MobilePhone: &phone}, client); err != nil {
		t.Fatalf("UpdateProfile = %v", err)
	}
	env.Clock.Advance(11 * time.Minute)
	sess, _ = env.Service.Authenticate(ctx, token)
	if _, err := env.Service.BeginTOTPSetup(ctx, sess); !errors.Is(err, account.ErrReauthRequired) {
		t.Errorf("BeginTOTPSetup 11 minutes after sign-in = %v; want ErrReauthRequired", err)
	}
	if err := env.Service.ConfirmPassword(ctx, sess, "wrong password", client); !errors.Is(err, account.ErrWrongPassword) {
		t.Errorf("ConfirmPassword(wrong) = %v; want ErrWrongPassword", err)
	}
	if err := env.Service.ConfirmPassword(ctx, sess, pw, client); err != nil {
		t.Fatalf("ConfirmPassword = %v", err)
	}
	sess, _ = env.Service.Authenticate(ctx, token)
	if _, err := env.Service.BeginTOTPSetup(ctx, sess); err != nil {
		t.Errorf("BeginTOTPSetup after ConfirmPassword = %v; want nil", err)
	}
	// Showing the pending secret again needs a recent password too.
	env.Clock.Advance(11 * time.Minute)
	sess, _ = env.Service.Authenticate(ctx, token)
	if setup, err := env.Service.PendingTOTPSetup(ctx, sess); !errors.Is(err, account.ErrReauthRequired) {
		t.Errorf("PendingTOTPSetup 11 minutes after the password = %v, %v; want ErrReauthRequired", setup, err)
	}
}

func TestEnableNeedsTheRightCodeAndThatCodeCountsAsUsed(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	setup, err := f.Service.BeginTOTPSetup(ctx, f.session())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^otpauth://totp/twofold:ana@example.com\?`).MatchString(setup.URI) || !strings.Contains(setup.URI, "secret="+setup.Secret) {
		t.Errorf("setup URI = %q", setup.URI)
	}
	if err := f.Service.EnableTOTP(ctx, f.session(), "000000", client); !errors.Is(err, account.ErrInvalidCode) && f.Code(t, setup.Secret) != "000000" {
		t.Errorf("EnableTOTP(wrong code) = %v; want ErrInvalidCode", err)
	}
	if p, _ := f.profile(); p.User.TwoFactorEnabled() {
		t.Fatal("2FA is on after a wrong code")
	}
	again, err := f.Service.PendingTOTPSetup(ctx, f.session())
	if err != nil || again.Secret != setup.Secret {
		t.Errorf("PendingTOTPSetup = %v, %v; want the same secret", again, err)
	}
	code := f.Code(t, setup.Secret)
	if err := f.Service.EnableTOTP(ctx, f.session(), code, client); err != nil {
		t.Fatalf("EnableTOTP = %v", err)
	}
	if err := f.Service.EnableTOTP(ctx, f.session(), code, client); !errors.Is(err, account.ErrTwoFactorEnabled) {
		t.Errorf("EnableTOTP again = %v; want ErrTwoFactorEnabled", err)
	}
	// The enabling code is spent: the same code cannot finish a sign-in.
	pending := (&fixture{Env: f.Env, t: t, email: f.email}).signInPassword()
	if _, err := f.Service.SubmitSecondFactor(ctx, pending, code, client); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("SubmitSecondFactor(enabling code) = %v; want ErrInvalidCode", err)
	}
}

func TestTwoFactorSignInAndNoReplay(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	pending := f.signInPassword()
	if _, err := f.Service.Authenticate(ctx, pending); !errors.Is(err, account.ErrSecondFactorRequired) {
		t.Errorf("Authenticate(pending) = %v; want ErrSecondFactorRequired", err)
	}
	code := f.Code(t, f.secret)
	full, err := f.Service.SubmitSecondFactor(ctx, pending, code, client)
	if err != nil {
		t.Fatalf("SubmitSecondFactor = %v", err)
	}
	if full == pending {
		t.Error("session token unchanged by the second step; want a new one")
	}
	if _, err := f.Service.Authenticate(ctx, full); err != nil {
		t.Errorf("Authenticate(full) = %v", err)
	}
	if _, err := f.Service.Session(ctx, pending); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("pending token after the second step = %v; want ErrUnauthenticated", err)
	}
	// The same code, on a new sign-in, in the same step: refused.
	if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), code, client); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("replayed code = %v; want ErrInvalidCode", err)
	}
	// An earlier step's code, still within the skew window: refused too.
	f.Clock.Advance(30 * time.Second)
	earlier := totpAt(t, f.secret, f.Clock.Now().Add(-30*time.Second))
	if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), earlier, client); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("code of an already-passed step = %v; want ErrInvalidCode", err)
	}
	if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), f.Code(t, f.secret), client); err != nil {
		t.Errorf("next step's code = %v; want success", err)
	}
}

func totpAt(t *testing.T, secretB32 string, at time.Time) string {
	secret, err := totp.DecodeSecret(secretB32)
	if err != nil {
		t.Fatal(err)
	}
	return totp.Code(secret, at)
}

// Many concurrent second steps with one valid code: exactly one passes.
func TestConcurrentSameCodeAcceptedOnce(t *testing.T) {
	t.Parallel()
	// A high throttle limit so that every request reaches the replay check.
	f := enrolled(t, func(p *account.Policy) { p.CodeAttempts = 1000 })
	const n = 50
	pending := make([]string, n)
	for i := range pending {
		pending[i] = f.signInPassword()
	}
	code := f.Code(t, f.secret)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for _, p := range pending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.Service.SubmitSecondFactor(ctx, p, code, client)
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !errors.Is(err, account.ErrInvalidCode) {
				t.Errorf("SubmitSecondFactor = %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d of 50 concurrent uses of one code succeeded; want exactly 1", ok)
	}
}

func TestBackupCodes(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	codes, err := f.Service.GenerateBackupCodes(ctx, f.session(), client)
	if err != nil {
		t.Fatal(err)
	}
	format := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`)
	seen := map[string]bool{}
	for _, c := range codes {
		if !format.MatchString(c) || seen[c] {
			t.Errorf("backup code %q: want unique xxxxx-xxxxx from Crockford base32", c)
		}
		seen[c] = true
	}
	if len(codes) != 10 {
		t.Fatalf("got %d backup codes; want 10", len(codes))
	}
	// Typed loosely: upper case, spaces instead of the hyphen.
	typed := strings.ToUpper(strings.ReplaceAll(codes[0], "-", " "))
	if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), typed, client); err != nil {
		t.Fatalf("SubmitSecondFactor(%q) = %v", typed, err)
	}
	if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), codes[0], client); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("reused backup code = %v; want ErrInvalidCode", err)
	}
	if p, _ := f.profile(); p.BackupCodesRemaining != 9 {
		t.Errorf("remaining = %d; want 9", p.BackupCodesRemaining)
	}
	// Generating again replaces every earlier code.
	if _, err := f.Service.GenerateBackupCodes(ctx, f.session(), client); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), codes[1], client); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("old backup code after regenerating = %v; want ErrInvalidCode", err)
	}
}

func TestConcurrentSameBackupCodeAcceptedOnce(t *testing.T) {
	t.Parallel()
	f := enrolled(t, func(p *account.Policy) { p.CodeAttempts = 1000 })
	codes, err := f.Service.GenerateBackupCodes(ctx, f.session(), client)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	pending := make([]string, n)
	for i := range pending {
		pending[i] = f.signInPassword()
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for _, p := range pending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Service.SubmitSecondFactor(ctx, p, codes[3], client); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d concurrent uses of one backup code succeeded; want exactly 1", ok)
	}
}

func TestNormalizeBackupCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"abcde-12345", "abcde12345", true},
		{"ABCDE 12345", "abcde12345", true},
		{" abcde-1234o ", "abcde12340", true}, // o read as 0
		{"abcdl-12345", "abcd112345", true},   // l read as 1
		{"abcde-1234", "", false},
		{"abcde-1234u", "", false}, // u is not in the alphabet
		{"abcde-1234é", "", false},
		{"123456", "", false},
	}
	for _, tt := range tests {
		got, ok := account.NormalizeBackupCode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeBackupCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// At most 10 wrong codes per 15 minutes are evaluated; then even the right
// code is refused until the window passes.
func TestSecondFactorThrottle(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	pending := f.signInPassword()
	right := f.Code(t, f.secret)
	wrong := "000000"
	if wrong == right {
		wrong = "111111"
	}
	for i := range 10 {
		if _, err := f.Service.SubmitSecondFactor(ctx, pending, wrong, client); !errors.Is(err, account.ErrInvalidCode) {
			t.Fatalf("wrong code #%d = %v; want ErrInvalidCode", i+1, err)
		}
		f.Clock.Advance(10 * time.Second)
	}
	f.Clock.Advance(-100 * time.Second) // back to the step of `right`
	_, err := f.Service.SubmitSecondFactor(ctx, pending, right, client)
	var te *account.ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("right code after 10 failures = %v; want ThrottledError", err)
	}
	if te.RetryAfter <= 0 || te.RetryAfter > 15*time.Minute {
		t.Errorf("RetryAfter = %v; want within 15 minutes", te.RetryAfter)
	}
	// Pending sign-ins expire after 5 minutes, so wait out the window and start again.
	f.Clock.Advance(15*time.Minute + time.Second)
	if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), f.Code(t, f.secret), client); err != nil {
		t.Errorf("right code after the window = %v; want success", err)
	}
}

func TestPendingSignInExpires(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	pending := f.signInPassword()
	f.Clock.Advance(5*time.Minute + time.Second)
	if _, err := f.Service.SubmitSecondFactor(ctx, pending, f.Code(t, f.secret), client); !errors.Is(err, account.ErrPendingExpired) {
		t.Errorf("SubmitSecondFactor after 5 minutes = %v; want ErrPendingExpired", err)
	}
	if _, err := f.Service.Session(ctx, pending); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("expired pending session still found: %v", err)
	}
}

func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	f.Clock.Advance(29 * time.Minute)
	if _, err := f.Service.Authenticate(ctx, f.token); err != nil {
		t.Fatalf("Authenticate after 29 idle minutes = %v", err)
	}
	f.Clock.Advance(31 * time.Minute)
	if _, err := f.Service.Authenticate(ctx, f.token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("Authenticate after 31 idle minutes = %v; want ErrUnauthenticated", err)
	}
	g := signedUp(t)
	for range 12 * 4 { // active every 15 minutes for 12 hours
		g.Clock.Advance(15 * time.Minute)
		if _, err := g.Service.Authenticate(ctx, g.token); err != nil {
			if g.Clock.Now().Sub(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)) < 12*time.Hour {
				t.Fatalf("Authenticate while active = %v", err)
			}
			return
		}
	}
	t.Error("session outlived the 12-hour absolute timeout")
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	if err := f.Service.SignOut(ctx, f.token, client); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.Authenticate(ctx, f.token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("Authenticate after SignOut = %v; want ErrUnauthenticated", err)
	}
}

func TestDisableNeedsPasswordAndCode(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	codes, _ := f.Service.GenerateBackupCodes(ctx, f.session(), client)
	var verr *account.ValidationError
	if err := f.Service.DisableTOTP(ctx, f.session(), "wrong password", f.Code(t, f.secret), client); !errors.As(err, &verr) || verr.Fields["password"] == "" {
		t.Errorf("DisableTOTP(wrong password) = %v; want a password validation error", err)
	}
	if err := f.Service.DisableTOTP(ctx, f.session(), pw, "", client); !errors.As(err, &verr) || verr.Fields["code"] == "" {
		t.Errorf("DisableTOTP(no code) = %v; want a code validation error", err)
	}
	if err := f.Service.DisableTOTP(ctx, f.session(), pw, codes[0], client); err != nil {
		t.Fatalf("DisableTOTP(backup code) = %v", err)
	}
	p, _ := f.profile()
	if p.User.TwoFactorEnabled() || p.BackupCodesRemaining != 0 {
		t.Errorf("after disable: enabled %v, %d backup codes; want off and 0", p.User.TwoFactorEnabled(), p.BackupCodesRemaining)
	}
	if _, stage, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client); err != nil || stage != account.StageComplete {
		t.Errorf("SignIn after disable = %q, %v; want authenticated", stage, err)
	}
}

func TestPhoneCannotBeRemovedWhileTwoFactorIsOn(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	empty := ""
	_, err := f.Service.UpdateProfile(ctx, f.session(), account.ProfileUpdate{MobilePhone: &empty}, client)
	var verr *account.ValidationError
	if !errors.As(err, &verr) || verr.Fields["mobile_phone"] == "" {
		t.Errorf("removing the phone with 2FA on = %v; want a mobile_phone validation error", err)
	}
}

func TestPasswordThrottlePerAccount(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	for i := range 20 {
		_, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: fmt.Sprintf("wrong %d!", i)}, account.Client{IP: fmt.Sprintf("198.51.100.%d", i)})
		if !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("attempt %d = %v; want ErrInvalidCredentials", i+1, err)
		}
	}
	_, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client)
	var te *account.ThrottledError
	if !errors.As(err, &te) {
		t.Errorf("right password after 20 failures from many IPs = %v; want ThrottledError", err)
	}
}

func TestResetTwoFactorIsRecorded(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	if err := f.Service.ResetTwoFactor(ctx, "ANA@example.com", "operator"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.Authenticate(ctx, f.token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("session after reset = %v; want ended", err)
	}
	_, stage, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client)
	if err != nil || stage != account.StageComplete {
		t.Errorf("SignIn after reset = %q, %v; want authenticated", stage, err)
	}
	events, _ := f.Service.Events(ctx, 1)
	found := false
	for _, e := range events {
		found = found || e.Kind == account.EventTwoFactorReset
	}
	if !found {
		t.Error("no two_factor_reset event after ResetTwoFactor")
	}
	if err := f.Service.ResetTwoFactor(ctx, "nobody@example.com", "operator"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("ResetTwoFactor(unknown) = %v; want ErrNotFound", err)
	}
}

func TestEventsRecorded(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	f.Service.GenerateBackupCodes(ctx, f.session(), client)
	pending := f.signInPassword()
	f.Service.SubmitSecondFactor(ctx, pending, "999999x", client)
	f.Service.SubmitSecondFactor(ctx, pending, "000000", client)
	events, err := f.Service.Events(ctx, f.session().UserID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[account.EventKind]bool{}
	for _, e := range events {
		kinds[e.Kind] = true
		if e.IP != client.IP {
			t.Errorf("event %s IP = %q; want %q", e.Kind, e.IP, client.IP)
		}
	}
	for _, want := range []account.EventKind{account.EventSignUp, account.EventTwoFactorEnabled, account.EventBackupCodesGenerated} {
		if !kinds[want] {
			t.Errorf("no %s event in %v", want, kinds)
		}
	}
}

// A copy of the database file (with its WAL) reveals no secret, code,
// password or session token.
func TestNothingSecretAtRest(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	codes, err := f.Service.GenerateBackupCodes(ctx, f.session(), client)
	if err != nil {
		t.Fatal(err)
	}
	full, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), f.Code(t, f.secret), client)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := totp.DecodeSecret(f.secret)
	needles := map[string][]byte{
		"secret (base32)": []byte(f.secret),
		"secret (raw)":    secret,
		"password":        []byte(pw),
		"session token":   []byte(full),
		"first token":     []byte(f.token),
	}
	// The OpenID provider's: a client's secret, a code, the tokens, the
	// signing keys.
	app, appSecret, err := f.Service.RegisterOIDCClient(ctx, nil, account.OIDCClientInput{Name: "App", RedirectURIs: []string{"https://app.example.com/cb"}}, client)
	if err != nil {
		t.Fatal(err)
	}
	f.Clock.Advance(30 * time.Second)
	r, code := f.oidcCode(app)
	tokens, err := f.Service.ExchangeOIDCCode(ctx, r, code, true)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := f.Service.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	needles["client secret"], needles["code"] = []byte(appSecret), []byte(code)
	// An access token's id is stored as it is: the token an app holds is
	// that id encrypted under a key derived from the server key (op's
	// bearer token), so a copy of the database alone cannot make one.
	needles["refresh token"] = []byte(tokens.RefreshToken)
	for _, k := range keys {
		der, err := x509.MarshalPKCS8PrivateKey(k.Private)
		if err != nil {
			t.Fatal(err)
		}
		needles["signing key "+k.Algorithm] = der
	}
	for _, c := range codes {
		needles["backup code "+c] = []byte(c)
		canon, _ := account.NormalizeBackupCode(c)
		needles["backup code canonical "+c] = []byte(canon)
	}
	var files [][]byte
	matches, _ := filepath.Glob(f.DBPath + "*")
	for _, path := range matches {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	if len(files) < 2 {
		t.Fatalf("found %d database files (%v); want the database and its WAL", len(files), matches)
	}
	for name, needle := range needles {
		for i, b := range files {
			if bytes.Contains(b, needle) {
				t.Errorf("%s found in %s", name, matches[i])
			}
		}
	}
}

// Sign-ups are throttled per IP, and the owner of an existing email hears
// about attempts to sign up with it.
func TestSignUpThrottleAndOwnerNotice(t *testing.T) {
	t.Parallel()
	f := signedUp(t, func(p *account.Policy) { p.SignUpAttempts = 2 })
	if err := f.Service.StartSignUp(ctx, account.SignUpInput{Email: f.email, Password: pw, Name: "Mallory"}, client); err != nil {
		t.Fatalf("StartSignUp(existing email) = %v; want nil, like a new email", err)
	}
	outbox, _ := f.Store.Notifications(ctx, 1)
	if len(outbox) != 1 || outbox[0].Kind != account.EventSignUpAttempt || outbox[0].Recipient != f.email {
		t.Errorf("outbox = %+v; want a sign-up attempt notice to %s", outbox, f.email)
	}
	err := f.Service.StartSignUp(ctx, account.SignUpInput{Email: "new@example.com", Password: pw, Name: "N"}, client)
	var te *account.ThrottledError
	if !errors.As(err, &te) {
		t.Errorf("3rd sign-up from one IP within the hour (limit 2) = %v; want ThrottledError", err)
	}
	// The cleanup job must keep what the hour-long window still counts.
	f.Clock.Advance(20 * time.Minute)
	if err := f.Service.DeleteExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Service.StartSignUp(ctx, account.SignUpInput{Email: "new@example.com", Password: pw, Name: "N"}, client); !errors.As(err, &te) {
		t.Errorf("sign-up 20 minutes later, after the cleanup job = %v; want still ThrottledError", err)
	}
	if err := f.Service.StartSignUp(ctx, account.SignUpInput{Email: "new@example.com", Password: pw, Name: "N"}, account.Client{IP: "198.51.100.9"}); err != nil {
		t.Errorf("sign-up from another IP = %v; want success", err)
	}
}

// Whatever bytes a client sends as its User-Agent or email, what is stored
// is valid UTF-8 without NUL, so PostgreSQL accepts it as SQLite does.
func TestClientTextIsStoredSafely(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	hostile := account.Client{IP: "192.0.2.1", UserAgent: strings.Repeat("é", 99) + "\xff\x00" + strings.Repeat("ü", 200)}
	_, token := env.SignUp(t, account.SignUpInput{Email: "ana@example.com", Password: pw, Name: "Ana"}, hostile)
	sess, err := env.Service.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(sess.UserAgent) || strings.Contains(sess.UserAgent, "\x00") || len(sess.UserAgent) > 200 {
		t.Errorf("stored user agent %q: want valid UTF-8, no NUL, at most 200 bytes", sess.UserAgent)
	}
	if _, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: "a\x00\xff@x", Password: pw}, hostile); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("SignIn(email with NUL and invalid UTF-8) = %v; want ErrInvalidCredentials", err)
	}
}

// A hash made with older argon2id parameters is replaced, at the next
// sign-in, by one with the current parameters; the password keeps working.
func TestSignInUpgradesOldPasswordHashes(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	old := password.Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	oldHash, err := password.NewHasher(old, rand.Reader, 1, 1, time.Second).Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	u := &account.User{Email: "old@example.com", Name: "Old", PasswordHash: oldHash, CreatedAt: env.Clock.Now()}
	if err := env.Writes().CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: u.Email, Password: pw}, client); err != nil {
		t.Fatalf("SignIn with an old hash = %v", err)
	}
	got, _ := env.Store.UserByID(ctx, u.ID)
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("stored hash after sign-in = %q; want the current parameters (m=64)", got.PasswordHash)
	}
	if _, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: u.Email, Password: pw}, client); err != nil {
		t.Errorf("SignIn after the upgrade = %v", err)
	}
}

// Turning 2FA on ends the account's other sessions: a session an attacker
// opened with the password alone does not survive it.
func TestEnablingTwoFactorEndsOtherSessions(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	other, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	setup, err := f.Service.BeginTOTPSetup(ctx, f.session())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Service.EnableTOTP(ctx, f.session(), f.Code(t, setup.Secret), client); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.Authenticate(ctx, other); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("the other session after enabling 2FA = %v; want ErrUnauthenticated", err)
	}
	if _, err := f.Service.Authenticate(ctx, f.token); err != nil {
		t.Errorf("the enabling session after enabling 2FA = %v; want still signed in", err)
	}
}

// Turning 2FA off ends the account's other sessions too: one that got in
// with the second factor does not outlive the rule it got in under.
func TestDisablingTwoFactorEndsOtherSessions(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	codes, err := f.Service.GenerateBackupCodes(ctx, f.session(), client)
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), codes[0], client)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Service.DisableTOTP(ctx, f.session(), pw, codes[1], client); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.Authenticate(ctx, other); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("the other session after disabling 2FA = %v; want ErrUnauthenticated", err)
	}
	if _, err := f.Service.Authenticate(ctx, f.token); err != nil {
		t.Errorf("the disabling session after disabling 2FA = %v; want still signed in", err)
	}
}

// An empty password at confirm-password is a slip, answered with a
// message for the field and not counted: more of them than the account's
// limit still leave the right password working.
func TestEmptyConfirmPasswordIsNotCounted(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	for range f.Service.Policy().PasswordAttempts + 2 {
		var verr *account.ValidationError
		if err := f.Service.ConfirmPassword(ctx, f.session(), "", client); !errors.As(err, &verr) || verr.Fields["password"] == "" {
			t.Fatalf("ConfirmPassword(\"\") = %v; want a validation message for password", err)
		}
	}
	if err := f.Service.ConfirmPassword(ctx, f.session(), pw, client); err != nil {
		t.Errorf("ConfirmPassword(right) after empty ones = %v; want nil", err)
	}
}
