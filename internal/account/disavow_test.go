package account_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

// suspendSoon lets two wrong codes in a row suspend the authenticator.
func suspendSoon(p *account.Policy) { p.SuspendAfter = 2 }

// signedInElsewhere signs f's user in fully from another browser and
// returns that session's token.
func (f *fixture) signedInElsewhere(password string) string {
	f.t.Helper()
	token, stage, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: password}, account.Client{IP: "198.51.100.20", UserAgent: "elsewhere"})
	if err != nil {
		f.t.Fatalf("SignIn elsewhere = %v", err)
	}
	if stage == account.StageSecondFactor {
		f.Clock.Advance(30 * time.Second)
		if token, err = f.Service.SubmitSecondFactor(ctx, token, f.Code(f.t, f.secret), client); err != nil {
			f.t.Fatalf("SubmitSecondFactor elsewhere = %v", err)
		}
	}
	return token
}

// disavowTriggers makes each security email that carries a link, on a
// fixture with 2FA on, and returns the password the account has after.
var disavowTriggers = map[account.EventKind]func(t *testing.T, f *fixture) string{
	account.EventTwoFactorEnabled: func(t *testing.T, f *fixture) string { return pw }, // enrolled did it
	account.EventTwoFactorDisabled: func(t *testing.T, f *fixture) string {
		f.Clock.Advance(30 * time.Second)
		if err := f.Service.DisableTOTP(ctx, f.session(), pw, f.Code(t, f.secret), client); err != nil {
			t.Fatalf("DisableTOTP = %v", err)
		}
		f.secret = ""
		return pw
	},
	account.EventTwoFactorReset: func(t *testing.T, f *fixture) string {
		if err := f.Service.ResetTwoFactor(ctx, f.email, "operator"); err != nil {
			t.Fatalf("ResetTwoFactor = %v", err)
		}
		f.secret = ""
		return pw
	},
	account.EventBackupCodesGenerated: func(t *testing.T, f *fixture) string {
		backupCodesOf(t, f)
		return pw
	},
	account.EventBackupCodeUsed: func(t *testing.T, f *fixture) string {
		codes := backupCodesOf(t, f)
		if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), codes[0], client); err != nil {
			t.Fatalf("SubmitSecondFactor(backup code) = %v", err)
		}
		return pw
	},
	account.EventPasswordChanged: func(t *testing.T, f *fixture) string {
		if err := f.Service.ChangePassword(ctx, f.session(), pw, "a brand new password", client); err != nil {
			t.Fatalf("ChangePassword = %v", err)
		}
		return "a brand new password"
	},
	account.EventDeviceRemembered: func(t *testing.T, f *fixture) string {
		f.remembered()
		return pw
	},
	account.EventDeviceTokenReused: func(t *testing.T, f *fixture) string {
		device := f.remembered()
		f.signInOn(device) // rotates it
		f.Clock.Advance(time.Minute)
		f.signInOn(device) // the old token again: a copy
		return pw
	},
	account.EventRecoveryStarted: func(t *testing.T, f *fixture) string {
		f.recoverySoon(t)
		f.startRecovery(f.signInPassword())
		return pw
	},
	account.EventRecoveryCancelled: func(t *testing.T, f *fixture) string {
		f.recoverySoon(t)
		f.startRecovery(f.signInPassword())
		if err := f.Service.CancelRecoveryByLink(ctx, f.cancelToken(), client); err != nil {
			t.Fatalf("CancelRecoveryByLink = %v", err)
		}
		return pw
	},
	account.EventRecoveryCompleted: func(t *testing.T, f *fixture) string {
		f.recoverySoon(t)
		f.startRecovery(f.signInPassword())
		f.Clock.Advance(72 * time.Hour)
		if res := f.signInOn(""); !res.Recovered {
			t.Fatalf("sign-in after the delay = %+v; want the recovery completed", res)
		}
		f.secret = ""
		return pw
	},
	account.EventAuthenticatorSuspend: func(t *testing.T, f *fixture) string {
		codes := backupCodesOf(t, f)
		pending := f.signInPassword()
		for range 2 {
			f.Service.SubmitSecondFactor(ctx, pending, f.WrongCode(t, f.secret), client)
		}
		// A backup code lifts the suspension, so that the test can sign in.
		if _, err := f.Service.SubmitSecondFactor(ctx, pending, codes[0], client); err != nil {
			t.Fatalf("SubmitSecondFactor(backup code) = %v", err)
		}
		return pw
	},
}

// recoverySoon lets the fixture's account start a self-recovery that
// completes after 72 hours.
func (f *fixture) recoverySoon(t *testing.T) {
	t.Helper()
	hours := 72
	if _, err := f.Service.UpdateSettings(ctx, firstAdmin(t, f.Env), account.SettingsUpdate{RecoveryDelayHours: &hours}, client); err != nil {
		t.Fatal(err)
	}
}

func backupCodesOf(t *testing.T, f *fixture) []string {
	t.Helper()
	f.Clock.Advance(time.Second)
	if err := f.Service.ConfirmPassword(ctx, f.session(), pw, client); err != nil {
		t.Fatal(err)
	}
	codes, err := f.Service.GenerateBackupCodes(ctx, f.session(), client)
	if err != nil {
		t.Fatalf("GenerateBackupCodes = %v", err)
	}
	return codes
}

// Every security email to a user carries a "This wasn't me" link of its
// own, but for the few that report no change to the account; and each
// link, with the password, signs out every session of the account and
// forgets every remembered device, in one go with its event, its audit
// entry and an email saying so. It signs nobody in.
func TestEverySecurityEmailCarriesAWorkingDisavowLink(t *testing.T) {
	t.Parallel()
	kinds := account.MailedKinds()
	kinds[account.EventRecoveryStarted] = true // written by StartRecovery itself, with its cancel link
	for kind, linked := range kinds {
		trigger, ok := disavowTriggers[kind]
		switch {
		case !linked:
			continue
		case !ok:
			t.Errorf("the %s email carries a link but this test cannot send it: add it to disavowTriggers", kind)
			continue
		}
		t.Run(string(kind), func(t *testing.T) {
			f := enrolled(t, suspendSoon, texts)
			usr, _ := f.Store.UserByEmail(ctx, f.email)
			password := trigger(t, f)
			token := f.DisavowLink(t, f.email, kind)

			// Sessions and a remembered device the link must end, made
			// after the email (a change may have ended earlier ones).
			// A sign-in with a code would cancel a waiting recovery itself.
			withCode := f.secret != "" && kind != account.EventRecoveryStarted
			var sessions []string
			if withCode || f.secret == "" {
				sessions = append(sessions, f.signedInElsewhere(password))
			}
			if _, err := f.Service.Authenticate(ctx, f.token); err == nil {
				sessions = append(sessions, f.token)
			}
			if withCode {
				f.Clock.Advance(30 * time.Second)
				res, err := f.Service.VerifySecondFactor(ctx, f.signInPasswordWith(password), account.SecondFactorInput{Code: f.Code(t, f.secret), RememberDevice: true}, client)
				if err != nil {
					t.Fatalf("remember a device = %v", err)
				}
				sessions = append(sessions, res.Token)
			}
			pending, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: password}, client)
			if err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, pending) // half signed in: ended too

			notice, err := f.Service.Disavowal(ctx, token)
			if err != nil || notice.Kind != kind || notice.Subject == "" {
				t.Fatalf("Disavowal(link) = %+v, %v; want the %s email", notice, err, kind)
			}
			res, err := f.Service.Disavow(ctx, token, password, client)
			if err != nil {
				t.Fatalf("Disavow(link, password) = %v", err)
			}
			wantDevices := 0
			if withCode {
				wantDevices = 1
			}
			if kind == account.EventRecoveryStarted {
				if !res.RecoveryCancelled {
					t.Error("the recovery that was waiting: not cancelled by the link")
				}
				if _, err := f.Store.PendingRecovery(ctx, usr.ID); !errors.Is(err, account.ErrNotFound) {
					t.Errorf("PendingRecovery after the link = %v; want ErrNotFound", err)
				}
				if d := kindsOf(t, f.Env, usr.ID)[account.EventRecoveryCancelled]; !strings.Contains(d, "This wasn't me") {
					t.Errorf("recovery_cancelled event detail = %q; want it to name the link", d)
				}
			} else if res.RecoveryCancelled {
				t.Error("RecoveryCancelled with no recovery waiting")
			}
			if res.DevicesForgotten < wantDevices {
				t.Errorf("devices forgotten = %d; want at least %d", res.DevicesForgotten, wantDevices)
			}
			for i, s := range sessions {
				if _, err := f.Service.Session(ctx, s); !errors.Is(err, account.ErrUnauthenticated) {
					t.Errorf("session %d after the link = %v; want ErrUnauthenticated", i, err)
				}
			}
			if devices, _ := f.Store.Devices(ctx, usr.ID, f.Clock.Now()); len(devices) != 0 {
				t.Errorf("remembered devices after the link = %d; want 0", len(devices))
			}
			if _, ok := kindsOf(t, f.Env, usr.ID)[account.EventDisavowed]; !ok {
				t.Errorf("no %s event", account.EventDisavowed)
			}
			audit, _ := f.Store.AuditLog(ctx, 10)
			if len(audit) == 0 || audit[0].Action != account.AuditDisavowed || audit[0].Target != f.email || audit[0].ActorID != usr.ID {
				t.Errorf("newest audit entry = %+v; want %s of %s by them", audit, account.AuditDisavowed, f.email)
			}
			if n := mailed(t, f.Env, account.EventDisavowed); n != 1 {
				t.Errorf("%s emails = %d; want 1", account.EventDisavowed, n)
			}
			if _, ok, err := accounttest.DisavowToken(ctx, f.Store, f.email, account.EventDisavowed); ok || err == nil {
				t.Errorf("the email saying it was done: ok=%v, err=%v; want it without a link of its own", ok, err)
			}
			// The account still works with its password: nothing was locked.
			if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: password}, client); err != nil {
				t.Errorf("SignIn after the link = %v; want the password to work", err)
			}
		})
	}
	// The emails without a link say nothing of one.
	f := signedUp(t)
	if err := f.Service.StartSignUp(ctx, account.SignUpInput{Email: f.email, Password: pw, Name: "Ana"}, client); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := accounttest.DisavowToken(ctx, f.Store, f.email, account.EventSignUpAttempt); ok || err == nil {
		t.Errorf("sign-up attempt email: ok=%v, err=%v; want it without a link", ok, err)
	}
}

func (f *fixture) signInPasswordWith(password string) string {
	f.t.Helper()
	token, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: password}, client)
	if err != nil {
		f.t.Fatalf("SignIn = %v", err)
	}
	return token
}

// A link works once, for its lifetime, with its own account's password;
// a wrong password is a failed sign-in that leaves the link usable.
func TestDisavowLinkRules(t *testing.T) {
	t.Parallel()
	t.Run("single use, no replay", func(t *testing.T) {
		f := enrolled(t)
		token := f.DisavowLink(t, f.email, account.EventTwoFactorEnabled)
		if _, err := f.Service.Disavow(ctx, token, pw, client); err != nil {
			t.Fatal(err)
		}
		later := f.signedInElsewhere(pw)
		if _, err := f.Service.Disavow(ctx, token, pw, client); !errors.Is(err, account.ErrDisavowLinkInvalid) {
			t.Errorf("Disavow again = %v; want ErrDisavowLinkInvalid", err)
		}
		if _, err := f.Service.Disavowal(ctx, token); !errors.Is(err, account.ErrDisavowLinkInvalid) {
			t.Errorf("Disavowal of a used link = %v; want ErrDisavowLinkInvalid", err)
		}
		if _, err := f.Service.Authenticate(ctx, later); err != nil {
			t.Errorf("a session signed in after the link, after its replay = %v; want it kept", err)
		}
	})
	t.Run("wrong password counts and keeps the link", func(t *testing.T) {
		f := enrolled(t)
		token := f.DisavowLink(t, f.email, account.EventTwoFactorEnabled)
		if _, err := f.Service.Disavow(ctx, token, "not the password", client); !errors.Is(err, account.ErrWrongPassword) {
			t.Fatalf("Disavow(wrong password) = %v; want ErrWrongPassword", err)
		}
		if _, err := f.Service.Authenticate(ctx, f.token); err != nil {
			t.Errorf("session after a wrong password = %v; want kept", err)
		}
		usr, _ := f.Store.UserByEmail(ctx, f.email)
		if d, ok := kindsOf(t, f.Env, usr.ID)[account.EventSignInFailed]; !ok || !strings.Contains(d, "this wasn't me") {
			t.Errorf("failed sign-in event = %q, %v; want one for the link", d, ok)
		}
		if _, err := f.Service.Disavow(ctx, token, "", client); !isValidation(err, "password") {
			t.Errorf("Disavow(no password) = %v; want a ValidationError on password", err)
		}
		if _, err := f.Service.Disavow(ctx, token, pw, client); err != nil {
			t.Errorf("Disavow(right password) after a wrong one = %v; want done", err)
		}
	})
	t.Run("throttled like sign-in", func(t *testing.T) {
		f := enrolled(t, func(p *account.Policy) { p.PasswordAttempts = 2 })
		token := f.DisavowLink(t, f.email, account.EventTwoFactorEnabled)
		for range 2 {
			f.Service.Disavow(ctx, token, "not the password", client)
		}
		var throttled *account.ThrottledError
		if _, err := f.Service.Disavow(ctx, token, pw, client); !errors.As(err, &throttled) {
			t.Fatalf("Disavow after 2 wrong passwords = %v; want *ThrottledError", err)
		}
		if _, err := f.Service.Authenticate(ctx, f.token); err != nil {
			t.Errorf("session after a throttled link = %v; want kept", err)
		}
		// The same counter as the sign-in form's.
		if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client); !errors.As(err, &throttled) {
			t.Errorf("SignIn after 2 wrong passwords at the link = %v; want *ThrottledError", err)
		}
	})
	t.Run("throttled per IP too", func(t *testing.T) {
		f := enrolled(t, func(p *account.Policy) { p.PasswordIPAttempt = 2 })
		token := f.DisavowLink(t, f.email, account.EventTwoFactorEnabled)
		for _, email := range []string{"nobody1@example.com", "nobody2@example.com"} {
			f.Service.SignIn(ctx, account.SignInInput{Email: email, Password: "not the password"}, client)
		}
		var throttled *account.ThrottledError
		if _, err := f.Service.Disavow(ctx, token, pw, client); !errors.As(err, &throttled) {
			t.Errorf("Disavow from an address at its limit of wrong passwords = %v; want *ThrottledError", err)
		}
	})
	t.Run("a right password counts nothing", func(t *testing.T) {
		f := enrolled(t, func(p *account.Policy) { p.PasswordAttempts = 1 })
		token := f.DisavowLink(t, f.email, account.EventTwoFactorEnabled)
		if _, err := f.Service.Disavow(ctx, token, pw, client); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client); err != nil {
			t.Errorf("SignIn after a right use of the link, with 1 attempt allowed = %v; want signed in", err)
		}
	})
	t.Run("expired, unknown, empty", func(t *testing.T) {
		f := enrolled(t)
		token := f.DisavowLink(t, f.email, account.EventTwoFactorEnabled)
		for _, bad := range []string{"", "nonsense", strings.Repeat("x", 500), token[:len(token)-1]} {
			if _, err := f.Service.Disavow(ctx, bad, pw, client); !errors.Is(err, account.ErrDisavowLinkInvalid) {
				t.Errorf("Disavow(%q) = %v; want ErrDisavowLinkInvalid", bad, err)
			}
		}
		f.Clock.Advance(account.DefaultDisavowLinkTTL)
		if _, err := f.Service.Disavowal(ctx, token); !errors.Is(err, account.ErrDisavowLinkInvalid) {
			t.Errorf("Disavowal after %s = %v; want ErrDisavowLinkInvalid", account.DefaultDisavowLinkTTL, err)
		}
		if _, err := f.Service.Disavow(ctx, token, pw, client); !errors.Is(err, account.ErrDisavowLinkInvalid) {
			t.Errorf("Disavow after %s = %v; want ErrDisavowLinkInvalid", account.DefaultDisavowLinkTTL, err)
		}
	})
	t.Run("one account's link acts on that account only", func(t *testing.T) {
		f := enrolled(t)
		bo, boToken := f.SignUp(t, account.SignUpInput{Email: "bo@example.com", Password: "bo's own long password", Name: "Bo", MobilePhone: "+61 412 345 679"}, client)
		token := f.DisavowLink(t, f.email, account.EventTwoFactorEnabled)
		if _, err := f.Service.Disavow(ctx, token, "bo's own long password", client); !errors.Is(err, account.ErrWrongPassword) {
			t.Errorf("Ana's link with Bo's password = %v; want ErrWrongPassword", err)
		}
		if _, err := f.Service.Disavow(ctx, token, pw, client); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Service.Authenticate(ctx, boToken); err != nil {
			t.Errorf("Bo's session after Ana's link = %v; want kept", err)
		}
		if events, _ := f.Service.Events(ctx, bo.ID); len(events) > 0 && events[0].Kind == account.EventDisavowed {
			t.Errorf("Bo's newest event = %s; want nothing of Ana's link", events[0].Kind)
		}
	})
	t.Run("password changed: the old password works too, only there", func(t *testing.T) {
		f := enrolled(t)
		other := f.DisavowLink(t, f.email, account.EventTwoFactorEnabled)
		if err := f.Service.ChangePassword(ctx, f.session(), pw, "a brand new password", client); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Service.Disavow(ctx, other, pw, client); !errors.Is(err, account.ErrWrongPassword) {
			t.Errorf("an earlier email's link with the old password = %v; want ErrWrongPassword", err)
		}
		token := f.DisavowLink(t, f.email, account.EventPasswordChanged)
		if _, err := f.Service.Disavow(ctx, token, pw, client); err != nil {
			t.Fatalf("the password-changed link with the old password = %v; want done", err)
		}
		if _, err := f.Service.Authenticate(ctx, f.token); !errors.Is(err, account.ErrUnauthenticated) {
			t.Errorf("the session that changed the password = %v; want signed out", err)
		}
	})
}

func isValidation(err error, field string) bool {
	var verr *account.ValidationError
	return errors.As(err, &verr) && verr.Fields[field] != ""
}

// Two uses of one link at once, on each store: one does it, the other is
// told the link was used, and there is one record and one email.
func TestConcurrentDisavowOnce(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := enrolledOn(t, accounttest.NewOnStore(t, b.open(t)(t)))
			token := f.DisavowLink(t, f.email, account.EventTwoFactorEnabled)
			const n = 4
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { _, errs[i] = f.Service.Disavow(ctx, token, pw, account.Client{IP: "192.0.2.50"}) })
			}
			wg.Wait()
			done := 0
			for _, err := range errs {
				switch {
				case err == nil:
					done++
				case !errors.Is(err, account.ErrDisavowLinkInvalid):
					t.Errorf("a concurrent use = %v; want done or ErrDisavowLinkInvalid", err)
				}
			}
			if done != 1 {
				t.Errorf("%d of %d concurrent uses did it; want 1 (%v)", done, n, errs)
			}
			if m := mailed(t, f.Env, account.EventDisavowed); m != 1 {
				t.Errorf("%s emails = %d; want 1", account.EventDisavowed, m)
			}
		})
	}
}

// A sign-in whose password was checked before the link was used gets no
// session after it: the link bumps the security version.
func TestSignInRacingADisavowGetsNoSession(t *testing.T) {
	t.Parallel()
	fault := accounttest.NewFaultStore(backends[0].open(t)(t))
	f := signedUpOn(t, accounttest.NewOnStore(t, fault))
	// Two factor off: the password step alone would complete a session.
	if err := f.Service.ChangePassword(ctx, f.session(), pw, "a brand new password", client); err != nil {
		t.Fatal(err)
	}
	token := f.DisavowLink(t, f.email, account.EventPasswordChanged)
	fault.BeforeNextTx(func() {
		if _, err := f.Service.Disavow(ctx, token, "a brand new password", client); err != nil {
			t.Errorf("Disavow = %v", err)
		}
	})
	if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: "a brand new password"}, client); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("SignIn racing the link = %v; want ErrInvalidCredentials (no session)", err)
	}
}
