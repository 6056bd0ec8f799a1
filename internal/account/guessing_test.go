package account_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// An attacker who holds the password guesses codes as fast as the service
// allows for 30 days (fake clock). Every guess the service evaluates is
// counted; the chance that any of them hit is 1-(1-3/10^6)^n, since each
// guess matches one of the three codes the ±1 step window accepts.
//
// Thousands of calls on one SQLite file: it runs beside the other tests.
func TestThirtyDaysOfGuessingIsBounded(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	wrong := "000000"
	evaluated, throttled, suspended := 0, 0, 0
	end := f.Clock.Now().Add(30 * 24 * time.Hour)
	pending := ""
	for f.Clock.Now().Before(end) {
		if pending == "" {
			pending = f.signInPassword()
		}
		if f.Code(t, f.secret) == wrong {
			f.Clock.Advance(30 * time.Second) // the attacker does not know the code; keep the guess wrong
			continue
		}
		_, err := f.Service.SubmitSecondFactor(ctx, pending, wrong, client)
		var te *account.ThrottledError
		switch {
		case errors.Is(err, account.ErrInvalidCode):
			evaluated++
			f.Clock.Advance(time.Second)
		case errors.As(err, &te):
			throttled++
			f.Clock.Advance(te.RetryAfter)
		case errors.Is(err, account.ErrAuthenticatorSuspended):
			suspended++
			f.Clock.Advance(15 * time.Minute)
		case errors.Is(err, account.ErrPendingExpired):
			pending = ""
		default:
			t.Fatalf("SubmitSecondFactor = %v", err)
		}
	}
	chance := 1 - math.Pow(1-3e-6, float64(evaluated))
	t.Logf("30 days of fastest guessing: %d codes evaluated, %d throttled, %d refused while suspended; chance of a hit %.2e (1 in %.0f)",
		evaluated, throttled, suspended, chance, 1/chance)
	if evaluated != f.Service.Policy().SuspendAfter {
		t.Errorf("codes evaluated in 30 days = %d; want %d (the suspension threshold)", evaluated, f.Service.Policy().SuspendAfter)
	}
	if chance >= 1e-4 {
		t.Errorf("chance of a hit in 30 days = %.2e; want under 1 in 10,000", chance)
	}
	if suspended == 0 {
		t.Error("the authenticator was never suspended")
	}
}

func TestSuspensionRefusesRightCodesUntilABackupCode(t *testing.T) {
	t.Parallel()
	f := enrolled(t, func(p *account.Policy) { p.SuspendAfter = 3 })
	codes, err := f.Service.GenerateBackupCodes(ctx, f.session(), client)
	if err != nil {
		t.Fatal(err)
	}
	pending := f.signInPassword()
	wrong := "000000"
	if f.Code(t, f.secret) == wrong {
		wrong = "111111"
	}
	for range 3 {
		if _, err := f.Service.SubmitSecondFactor(ctx, pending, wrong, client); !errors.Is(err, account.ErrInvalidCode) {
			t.Fatalf("wrong code = %v; want ErrInvalidCode", err)
		}
	}
	if _, err := f.Service.SubmitSecondFactor(ctx, pending, f.Code(t, f.secret), client); !errors.Is(err, account.ErrAuthenticatorSuspended) {
		t.Errorf("right code while suspended = %v; want ErrAuthenticatorSuspended", err)
	}
	// The user is told, by the activity log and a queued message.
	events, _ := f.Service.Events(ctx, f.session().UserID)
	if events[0].Kind != account.EventAuthenticatorSuspend && events[1].Kind != account.EventAuthenticatorSuspend {
		t.Errorf("latest events %s, %s; want authenticator_suspended among them", events[0].Kind, events[1].Kind)
	}
	outbox, err := f.Store.Notifications(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox) == 0 || outbox[0].Kind != account.EventAuthenticatorSuspend || outbox[0].Recipient != f.email || !strings.Contains(outbox[0].Body, "backup code") {
		t.Errorf("newest outbox message = %+v; want the suspension notice to %s", outbox[0], f.email)
	}
	// A backup code gets the user in and lifts the suspension.
	if _, err := f.Service.SubmitSecondFactor(ctx, pending, codes[0], client); err != nil {
		t.Fatalf("backup code while suspended = %v; want success", err)
	}
	if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), f.Code(t, f.secret), client); err != nil {
		t.Errorf("right code after a backup-code sign-in = %v; want success", err)
	}
}

// A right code resets the count: only wrong codes in a row suspend.
func TestRightCodeResetsConsecutiveFailures(t *testing.T) {
	t.Parallel()
	f := enrolled(t, func(p *account.Policy) { p.SuspendAfter = 3 })
	for round := range 3 {
		pending := f.signInPassword()
		for range 2 {
			if _, err := f.Service.SubmitSecondFactor(ctx, pending, "999999", client); !errors.Is(err, account.ErrInvalidCode) && f.Code(t, f.secret) != "999999" {
				t.Fatalf("round %d: wrong code = %v", round, err)
			}
		}
		if _, err := f.Service.SubmitSecondFactor(ctx, pending, f.Code(t, f.secret), client); err != nil {
			t.Fatalf("round %d: right code after 2 failures = %v; want success", round, err)
		}
		f.Clock.Advance(30 * time.Second)
	}
}

func TestSecurityChangesAreNotified(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	codes, _ := f.Service.GenerateBackupCodes(ctx, f.session(), client)
	f.Service.SubmitSecondFactor(ctx, f.signInPassword(), codes[0], client)
	f.Service.DisableTOTP(ctx, f.session(), pw, codes[1], client)
	outbox, err := f.Store.Notifications(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, n := range outbox {
		kinds = append(kinds, string(n.Kind))
		if n.Recipient != f.email || strings.Contains(n.Body, codes[0]) {
			t.Errorf("notification %s to %q leaks or misdirects: %q", n.Kind, n.Recipient, n.Body)
		}
	}
	want := "two_factor_disabled backup_code_used backup_code_used backup_codes_generated two_factor_enabled sign_up_link"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("outbox kinds, newest first = %q; want %q", got, want)
	}
}
