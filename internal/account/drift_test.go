package account_test

import (
	"errors"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/totp"
)

// A code from a phone whose clock is off by up to 10 minutes is refused
// and counted like any wrong code, but says how far off the clock is; a
// code of no nearby step, or of a step already used, says nothing more.
func TestClockDrift(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		phoneClock time.Duration // how far the phone is from the server
		want       time.Duration // ClockDriftError.Offset; 0: a plain wrong code
		advice     string
	}{
		{"3 minutes behind", -3 * time.Minute, -3 * time.Minute, "This code was right about 3 minutes ago: your phone's clock is behind. Set it to automatic date and time, then type the next code."},
		{"a minute and a half behind", -90 * time.Second, -90 * time.Second, "This code was right about 2 minutes ago: your phone's clock is behind. Set it to automatic date and time, then type the next code."},
		// A code of a future step says nothing: told when it will be
		// right, a guess would become a sign-in minutes later.
		{"5 minutes ahead", 5 * time.Minute, 0, ""},
		{"10 minutes behind", -10 * time.Minute, -10 * time.Minute, ""},
		{"11 minutes behind", -11 * time.Minute, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := enrolled(t)
			secret, _ := totp.DecodeSecret(f.secret)
			pending := f.signInPassword()
			code := totp.Code(secret, f.Clock.Now().Add(tt.phoneClock))
			_, err := f.Service.VerifySecondFactor(ctx, pending, account.SecondFactorInput{Code: code}, client)
			if !errors.Is(err, account.ErrInvalidCode) {
				t.Fatalf("code from a clock %v off = %v; want ErrInvalidCode", tt.phoneClock, err)
			}
			var drift *account.ClockDriftError
			switch {
			case tt.want == 0 && errors.As(err, &drift):
				t.Errorf("code from a clock %v off = %v; want no clock advice (beyond 10 minutes)", tt.phoneClock, err)
			case tt.want != 0 && (!errors.As(err, &drift) || drift.Offset != tt.want):
				t.Errorf("code from a clock %v off = %v; want a ClockDriftError of %v", tt.phoneClock, err, tt.want)
			case tt.advice != "" && drift.Advice() != tt.advice:
				t.Errorf("Advice() = %q; want %q", drift.Advice(), tt.advice)
			}
			// Counted as a failure: the activity says so.
			if _, ok := kindsOf(t, f.Env, f.session().UserID)[account.EventSecondFactorFailed]; !ok {
				t.Error("the drifted code was not recorded as a failed attempt")
			}
		})
	}

	// A code of the step that enabled 2FA (already used), presented again
	// once the clock has moved on 3 minutes: a replay, nothing about clocks.
	f := enrolled(t)
	secret, _ := totp.DecodeSecret(f.secret)
	used := totp.Code(secret, f.Clock.Now().Add(-30*time.Second)) // enrolled moved the clock one step on
	f.Clock.Advance(3 * time.Minute)
	_, err := f.Service.VerifySecondFactor(ctx, f.signInPassword(), account.SecondFactorInput{Code: used}, client)
	var drift *account.ClockDriftError
	if !errors.Is(err, account.ErrInvalidCode) || errors.As(err, &drift) {
		t.Errorf("an already used code, 3 minutes on = %v; want a plain ErrInvalidCode", err)
	}
}

// A guessed code of a future step, refused, does not become a sign-in
// when its time comes only because the answer said when that would be:
// the answer says nothing, so the guess is worth what any guess is.
func TestFutureCodeGetsNoClockAdvice(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	secret, _ := totp.DecodeSecret(f.secret)
	guess := totp.Code(secret, f.Clock.Now().Add(5*time.Minute))
	_, err := f.Service.VerifySecondFactor(ctx, f.signInPassword(), account.SecondFactorInput{Code: guess}, client)
	var drift *account.ClockDriftError
	if !errors.Is(err, account.ErrInvalidCode) || errors.As(err, &drift) {
		t.Errorf("a code of 5 minutes ahead = %v; want a plain ErrInvalidCode, with no advice", err)
	}
}

// Enabling 2FA with the code of a phone 3 minutes behind gets the same
// advice.
func TestClockDriftWhileEnabling(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	setup, err := f.Service.BeginTOTPSetup(ctx, f.session())
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := totp.DecodeSecret(setup.Secret)
	err = f.Service.EnableTOTP(ctx, f.session(), totp.Code(secret, f.Clock.Now().Add(-3*time.Minute)), client)
	var drift *account.ClockDriftError
	if !errors.As(err, &drift) || drift.Offset != -3*time.Minute {
		t.Errorf("EnableTOTP with a code 3 minutes old = %v; want a ClockDriftError of -3m", err)
	}
}
