package account_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// A sealed secret is bound to its user: copied into another user's row it
// does not open, so swapping ciphertexts in the database gains nothing.
func TestSealedSecretIsBoundToItsUser(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	if _, err := f.Service.BeginTOTPSetup(ctx, f.session()); err != nil {
		t.Fatal(err)
	}
	ana, err := f.Store.UserByID(ctx, f.session().UserID)
	if err != nil {
		t.Fatal(err)
	}
	_, bo := f.SignUp(t, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo", MobilePhone: "+61 412 345 679"}, client)
	boSess, err := f.Service.Authenticate(ctx, bo)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Writes().SetPendingTOTP(ctx, boSess.UserID, *ana.PendingTOTP); err != nil {
		t.Fatal(err)
	}
	if setup, err := f.Service.PendingTOTPSetup(ctx, boSess); err == nil {
		t.Errorf("Ana's sealed secret in Bo's row opened for Bo (secret %s); want an error", setup.Secret)
	}
}

// Backup codes are stored as an HMAC under the server key, not as a plain
// hash anyone could compute from a guessed code.
func TestBackupCodesAreStoredKeyed(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	codes, err := f.Service.GenerateBackupCodes(ctx, f.session(), client)
	if err != nil {
		t.Fatal(err)
	}
	uid := f.session().UserID
	first, _ := account.NormalizeBackupCode(codes[0])
	plain := sha256.Sum256([]byte(first))
	if used, err := f.Writes().UseBackupCode(ctx, uid, hex.EncodeToString(plain[:]), f.Clock.Now()); err != nil || used {
		t.Errorf("UseBackupCode(SHA-256 of the code) = %v, %v; want no such code", used, err)
	}
	second, _ := account.NormalizeBackupCode(codes[1])
	if used, err := f.Writes().UseBackupCode(ctx, uid, f.Keys.MAC([]byte(second)), f.Clock.Now()); err != nil || !used {
		t.Errorf("UseBackupCode(HMAC of the code under the server key) = %v, %v; want the code", used, err)
	}
}

// A right code gives its throttle slot back: only wrong codes count.
func TestRightCodeDoesNotCountAgainstTheThrottle(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	wrong := "000000"
	if f.Code(t, f.secret) == wrong {
		wrong = "111111"
	}
	limit := f.Service.Policy().CodeAttempts
	pending := f.signInPassword()
	for i := range limit - 1 {
		if _, err := f.Service.SubmitSecondFactor(ctx, pending, wrong, client); !errors.Is(err, account.ErrInvalidCode) {
			t.Fatalf("wrong code #%d = %v; want ErrInvalidCode", i+1, err)
		}
	}
	if _, err := f.Service.SubmitSecondFactor(ctx, pending, f.Code(t, f.secret), client); err != nil {
		t.Fatalf("right code after %d wrong ones = %v", limit-1, err)
	}
	f.Clock.Advance(30 * time.Second)
	if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), wrong, client); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("wrong code #%d, after a right one = %v; want ErrInvalidCode (the right one is not counted)", limit, err)
	}
}

// Codes typed while enabling 2FA are throttled like sign-in codes.
func TestEnableCodesAreThrottled(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	setup, err := f.Service.BeginTOTPSetup(ctx, f.session())
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if f.Code(t, setup.Secret) == wrong {
		wrong = "111111"
	}
	limit := f.Service.Policy().CodeAttempts
	for i := range limit {
		if err := f.Service.EnableTOTP(ctx, f.session(), wrong, client); !errors.Is(err, account.ErrInvalidCode) {
			t.Fatalf("wrong setup code #%d = %v; want ErrInvalidCode", i+1, err)
		}
	}
	var te *account.ThrottledError
	if err := f.Service.EnableTOTP(ctx, f.session(), f.Code(t, setup.Secret), client); !errors.As(err, &te) {
		t.Errorf("right setup code after %d wrong ones = %v; want ThrottledError", limit, err)
	}
}

// Wrong passwords typed to confirm the password count against the account
// like wrong passwords at sign-in.
func TestWrongConfirmationsCountAsWrongPasswords(t *testing.T) {
	t.Parallel()
	f := signedUp(t, func(p *account.Policy) { p.PasswordAttempts = 3 })
	for i := range 3 {
		if err := f.Service.ConfirmPassword(ctx, f.session(), "not my password", client); !errors.Is(err, account.ErrWrongPassword) {
			t.Fatalf("wrong confirmation #%d = %v; want ErrWrongPassword", i+1, err)
		}
	}
	var te *account.ThrottledError
	if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client); !errors.As(err, &te) {
		t.Errorf("SignIn after 3 wrong confirmations (limit 3) = %v; want ThrottledError", err)
	}
}
