package account_test

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

var (
	recoveryText = regexp.MustCompile(`recovery code: (\d{6})\.`)
	cancelLink   = regexp.MustCompile(regexp.QuoteMeta(accounttest.CancelBase) + `\?token=\S+`)
)

// recoveryFixture is an enrolled member (ana) on a server that texts,
// with self-recovery after delay hours set by the administrator (ada).
func recoveryFixture(t *testing.T, env *accounttest.Env, hours int) (*fixture, *account.Session) {
	t.Helper()
	f := enrolledOn(t, env)
	ada := firstAdmin(t, env)
	if hours > 0 {
		if _, err := env.Service.UpdateSettings(ctx, ada, account.SettingsUpdate{RecoveryDelayHours: &hours}, client); err != nil {
			t.Fatal(err)
		}
	}
	return f, ada
}

// startRecovery texts the code to the pending session's account and
// starts the recovery with it.
func (f *fixture) startRecovery(pending string) *account.Recovery {
	f.t.Helper()
	if err := f.Service.SendRecoveryCode(ctx, pending, client); err != nil {
		f.t.Fatalf("SendRecoveryCode = %v", err)
	}
	rec, err := f.Service.StartRecovery(ctx, pending, f.recoveryCode(), client)
	if err != nil {
		f.t.Fatalf("StartRecovery = %v", err)
	}
	return rec
}

func (f *fixture) recoveryCode() string {
	f.t.Helper()
	messages, err := f.Store.Notifications(ctx, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range messages {
		if c := recoveryText.FindStringSubmatch(m.Body); c != nil && m.Channel == account.ChannelSMS {
			return c[1]
		}
	}
	f.t.Fatal("no recovery text in the outbox")
	return ""
}

func (f *fixture) cancelToken() string {
	f.t.Helper()
	messages, err := f.Store.Notifications(ctx, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range messages {
		if m.Recipient == f.email && m.Kind == account.EventRecoveryStarted {
			link := cancelLink.FindString(m.Body)
			u, err := url.Parse(link)
			if err != nil || u.Query().Get("token") == "" {
				f.t.Fatalf("recovery mail has no cancel link: %q", m.Body)
			}
			return u.Query().Get("token")
		}
	}
	f.t.Fatal("no recovery mail to the owner")
	return ""
}

func TestRecoveryIsOffByDefault(t *testing.T) {
	t.Parallel()
	f, _ := recoveryFixture(t, accounttest.New(t, texts), 0)
	pending := f.signInPassword()
	if err := f.Service.SendRecoveryCode(ctx, pending, client); !errors.Is(err, account.ErrRecoveryDisabled) {
		t.Errorf("SendRecoveryCode with the delay at 0 = %v; want ErrRecoveryDisabled", err)
	}
	if _, err := f.Service.StartRecovery(ctx, pending, "123456", client); !errors.Is(err, account.ErrRecoveryDisabled) {
		t.Errorf("StartRecovery with the delay at 0 = %v; want ErrRecoveryDisabled", err)
	}
}

// A self-recovery: the phone proved by a texted code, then 72 hours;
// nothing signs in before, the owner and the administrators are emailed,
// and the first password sign-in after the delay turns 2FA off.
func TestRecoveryCompletesAfterTheDelay(t *testing.T) {
	t.Parallel()
	f, ada := recoveryFixture(t, accounttest.New(t, texts), 72)
	pending := f.signInPassword()
	if err := f.Service.SendRecoveryCode(ctx, pending, client); err != nil {
		t.Fatal(err)
	}
	code := f.recoveryCode()
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if _, err := f.Service.StartRecovery(ctx, pending, wrong, client); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("StartRecovery with a wrong code = %v; want ErrInvalidCode", err)
	}
	rec, err := f.Service.StartRecovery(ctx, pending, code, client)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.Clock.Now().Add(72 * time.Hour); !rec.EffectiveAt.Equal(want) {
		t.Errorf("EffectiveAt = %v; want %v", rec.EffectiveAt, want)
	}
	if _, err := f.Service.Authenticate(ctx, pending); !errors.Is(err, account.ErrSecondFactorRequired) {
		t.Errorf("the session that started the recovery: %v; want still waiting for a code (a text is no second factor)", err)
	}
	if n := mailed(t, f.Env, account.EventRecoveryStarted); n != 2 {
		t.Errorf("recovery-started mails = %d; want 2 (the owner and the administrator)", n)
	}
	f.cancelToken() // the owner's mail has the link
	if _, err := f.Service.StartRecovery(ctx, pending, code, client); err == nil {
		t.Error("the same code started a second recovery")
	}
	// An administrator's reset does not take the recovery's text for a check.
	if _, err := f.Service.ResetTwoFactorFor(ctx, ada, rec.UserID, "", client); !errors.Is(err, account.ErrPhoneNotVerified) {
		t.Errorf("an administrator's reset after the owner's recovery text = %v; want ErrPhoneNotVerified", err)
	}

	f.Clock.Advance(71 * time.Hour)
	res := f.signInOn("")
	if res.Stage != account.StageSecondFactor || res.Recovered {
		t.Fatalf("a sign-in after 71 of 72 hours = %+v; want the code asked", res)
	}
	f.Clock.Advance(time.Hour)
	res = f.signInOn("")
	if res.Stage != account.StageComplete || !res.Recovered {
		t.Fatalf("a sign-in after 72 hours = %+v; want signed in, recovered", res)
	}
	u, _ := f.Store.UserByID(ctx, rec.UserID)
	if u.TwoFactorEnabled() {
		t.Error("2FA still on after the recovery")
	}
	if _, err := f.Service.Authenticate(ctx, f.token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("an older session after the recovery: %v; want ended", err)
	}
	if n := mailed(t, f.Env, account.EventRecoveryCompleted); n != 1 {
		t.Errorf("recovery-completed mails = %d; want 1", n)
	}
	if audit := strings.Join(auditActions(t, f.Env, mustAuthenticate(t, f.Env, ada)), "\n"); !strings.Contains(audit, "self_recovery") {
		t.Errorf("the audit log lacks the recovery:\n%s", audit)
	}
}

func mustAuthenticate(t *testing.T, env *accounttest.Env, sess *account.Session) *account.Session {
	t.Helper()
	// The administrator signs in again: days have passed.
	u, err := env.Store.UserByID(ctx, sess.UserID)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: u.Email, Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	s, err := env.Service.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Every way to cancel: a sign-in with a code, the emailed link, the owner
// signed in, an administrator, a password change; after any, the delay
// passing changes nothing.
func TestRecoveryCancelled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cancel func(t *testing.T, f *fixture, ada *account.Session, rec *account.Recovery)
	}{
		{"by a sign-in with a code", func(t *testing.T, f *fixture, _ *account.Session, _ *account.Recovery) {
			if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), f.Code(t, f.secret), client); err != nil {
				t.Fatal(err)
			}
		}},
		{"by the emailed link", func(t *testing.T, f *fixture, _ *account.Session, _ *account.Recovery) {
			token := f.cancelToken()
			if err := f.Service.CancelRecoveryByLink(ctx, token, client); err != nil {
				t.Fatal(err)
			}
			if err := f.Service.CancelRecoveryByLink(ctx, token, client); !errors.Is(err, account.ErrRecoveryNotFound) {
				t.Errorf("the link again = %v; want ErrRecoveryNotFound", err)
			}
		}},
		{"by the owner signed in", func(t *testing.T, f *fixture, _ *account.Session, _ *account.Recovery) {
			if err := f.Service.CancelOwnRecovery(ctx, f.session(), client); err != nil {
				t.Fatal(err)
			}
		}},
		{"by an administrator", func(t *testing.T, f *fixture, ada *account.Session, rec *account.Recovery) {
			if err := f.Service.CancelRecoveryFor(ctx, ada, rec.UserID, client); err != nil {
				t.Fatal(err)
			}
		}},
		{"by a password change", func(t *testing.T, f *fixture, _ *account.Session, _ *account.Recovery) {
			if err := f.Service.ChangePassword(ctx, f.session(), pw, pw+" 2", client); err != nil {
				t.Fatal(err)
			}
			if err := f.Service.ChangePassword(ctx, f.session(), pw+" 2", pw, client); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, ada := recoveryFixture(t, accounttest.New(t, texts), 72)
			rec := f.startRecovery(f.signInPassword())
			f.Clock.Advance(30 * time.Second)
			tt.cancel(t, f, ada, rec)
			if _, err := f.Service.PendingRecoveryOf(ctx, rec.UserID); !errors.Is(err, account.ErrRecoveryNotFound) {
				t.Errorf("after cancelling %s: PendingRecoveryOf = %v; want ErrRecoveryNotFound", tt.name, err)
			}
			if n := mailed(t, f.Env, account.EventRecoveryCancelled); n != 1 {
				t.Errorf("recovery-cancelled mails = %d; want 1", n)
			}
			f.Clock.Advance(73 * time.Hour)
			if res := f.signInOn(""); res.Stage != account.StageSecondFactor || res.Recovered {
				t.Errorf("a sign-in after the delay of a cancelled recovery = %+v; want the code asked", res)
			}
		})
	}
}

// Changing the delay never hurries a recovery: a shorter one leaves it at
// its own delay, a longer one holds it back.
func TestRecoveryDelayChanges(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name         string
		newHours     int
		notYet, done time.Duration
	}{
		{"shortened", 24, 71 * time.Hour, 72 * time.Hour},
		{"lengthened", 96, 95 * time.Hour, 96 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, ada := recoveryFixture(t, accounttest.New(t, texts), 72)
			rec := f.startRecovery(f.signInPassword())
			if _, err := f.Service.UpdateSettings(ctx, ada, account.SettingsUpdate{RecoveryDelayHours: &tt.newHours}, client); err != nil {
				t.Fatal(err)
			}
			f.Clock.Advance(tt.notYet)
			if res := f.signInOn(""); res.Recovered {
				t.Errorf("after %v: recovered; want still pending", tt.notYet)
			}
			f.Clock.Advance(rec.CreatedAt.Add(tt.done).Sub(f.Clock.Now()))
			if res := f.signInOn(""); !res.Recovered {
				t.Errorf("after %v: %+v; want recovered", tt.done, res)
			}
		})
	}
}

// Password sign-ins racing at the moment a recovery is due complete it
// once, on each store.
func TestRecoveryCompletesOnce(t *testing.T) {
	t.Parallel()
	for name, newEnv := range map[string]func(testing.TB, ...func(*account.Policy)) *accounttest.Env{
		"sqlite": accounttest.New, "postgres": accounttest.NewPostgres,
	} {
		t.Run(name, func(t *testing.T) {
			f, _ := recoveryFixture(t, newEnv(t, texts, accounttest.NoThrottles), 72)
			f.startRecovery(f.signInPassword())
			f.Clock.Advance(72 * time.Hour)
			var wg sync.WaitGroup
			var mu sync.Mutex
			recovered := 0
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := f.Service.SignInWithDevice(ctx, account.SignInInput{Email: f.email, Password: pw}, client)
					if err != nil && !errors.Is(err, account.ErrInvalidCredentials) {
						t.Errorf("sign-in = %v", err)
					}
					mu.Lock()
					defer mu.Unlock()
					if res.Recovered {
						recovered++
					}
				}()
			}
			wg.Wait()
			if recovered != 1 {
				t.Errorf("%d racing sign-ins completed the recovery; want 1", recovered)
			}
			if n := mailed(t, f.Env, account.EventRecoveryCompleted); n != 1 {
				t.Errorf("recovery-completed mails = %d; want 1", n)
			}
		})
	}
}

// Deactivation cancels a pending recovery: it does not wait for a
// reactivation to complete.
func TestDeactivationCancelsRecovery(t *testing.T) {
	t.Parallel()
	f, ada := recoveryFixture(t, accounttest.New(t, texts), 72)
	rec := f.startRecovery(f.signInPassword())
	for _, on := range []bool{false, true} {
		if _, err := f.Service.UpdateUser(ctx, ada, rec.UserID, account.UserUpdate{Active: active(on)}, client); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Service.PendingRecoveryOf(ctx, rec.UserID); !errors.Is(err, account.ErrRecoveryNotFound) {
		t.Errorf("after deactivation and reactivation: PendingRecoveryOf = %v; want ErrRecoveryNotFound", err)
	}
}

// A sign-in with the owner's remembered device is a second factor: it
// cancels a pending recovery, and never completes one.
func TestDeviceSignInCancelsRecovery(t *testing.T) {
	t.Parallel()
	f, _ := recoveryFixture(t, accounttest.New(t, texts), 72)
	device := f.remembered()                   // the owner's laptop
	rec := f.startRecovery(f.signInPassword()) // someone with the password and the number
	f.Clock.Advance(24 * time.Hour)
	res := f.signInOn(device)
	if res.Stage != account.StageComplete || res.Recovered {
		t.Fatalf("the owner's device sign-in during the delay = %+v; want signed in, not recovered", res)
	}
	if _, err := f.Service.PendingRecoveryOf(ctx, rec.UserID); !errors.Is(err, account.ErrRecoveryNotFound) {
		t.Errorf("after a sign-in with the owner's remembered device: PendingRecoveryOf = %v; want cancelled", err)
	}
	f.Clock.Advance(49 * time.Hour)
	if res := f.signInOn(res.DeviceToken); res.Recovered {
		t.Error("the owner's device sign-in after the delay completed a recovery")
	}
}

// Turning self-recovery off cancels the recoveries waiting (and tells
// their owners); it does not freeze them until it is turned on again.
func TestRecoveryOffCancelsPending(t *testing.T) {
	t.Parallel()
	f, ada := recoveryFixture(t, accounttest.New(t, texts), 72)
	rec := f.startRecovery(f.signInPassword())
	for _, hours := range []int{0, 1} {
		h := hours
		if _, err := f.Service.UpdateSettings(ctx, ada, account.SettingsUpdate{RecoveryDelayHours: &h}, client); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Service.PendingRecoveryOf(ctx, rec.UserID); !errors.Is(err, account.ErrRecoveryNotFound) {
		t.Errorf("after self-recovery was turned off and on: PendingRecoveryOf = %v; want cancelled", err)
	}
	if n := mailed(t, f.Env, account.EventRecoveryCancelled); n != 1 {
		t.Errorf("recovery-cancelled mails = %d; want 1", n)
	}
	f.Clock.Advance(73 * time.Hour)
	if res := f.signInOn(""); res.Recovered {
		t.Error("a recovery started before self-recovery was turned off completed")
	}
}

// The owner cancelling a recovery at the moment a password sign-in
// completes it: one of them wins, neither fails, on each store (on
// PostgreSQL, locks taken in another order would deadlock).
func TestCancelRacingCompletion(t *testing.T) {
	t.Parallel()
	for name, newEnv := range map[string]func(testing.TB, ...func(*account.Policy)) *accounttest.Env{
		"sqlite": accounttest.New, "postgres": accounttest.NewPostgres,
	} {
		t.Run(name, func(t *testing.T) {
			for round := range 4 {
				f, _ := recoveryFixture(t, newEnv(t, texts, accounttest.NoThrottles), 72)
				f.remembered()
				owner := f.session()
				f.startRecovery(f.signInPassword())
				f.Clock.Advance(72 * time.Hour)
				var wg sync.WaitGroup
				var cancelErr, signInErr error
				wg.Add(2)
				go func() {
					defer wg.Done()
					cancelErr = f.Service.CancelOwnRecovery(ctx, owner, client)
				}()
				go func() {
					defer wg.Done()
					_, signInErr = f.Service.SignInWithDevice(ctx, account.SignInInput{Email: f.email, Password: pw}, client)
				}()
				wg.Wait()
				switch {
				case cancelErr != nil && !errors.Is(cancelErr, account.ErrRecoveryNotFound) &&
					!errors.Is(cancelErr, account.ErrConflict) && !errors.Is(cancelErr, account.ErrUnauthenticated):
					t.Errorf("round %d: cancel = %v", round, cancelErr)
				case signInErr != nil && !errors.Is(signInErr, account.ErrInvalidCredentials):
					t.Errorf("round %d: sign-in = %v", round, signInErr)
				}
			}
		})
	}
}
