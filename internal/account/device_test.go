package account_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

// remembered signs f in again with its code, ticking "remember this
// device", and returns the device token the browser keeps.
func (f *fixture) remembered() string {
	f.t.Helper()
	res, err := f.Service.VerifySecondFactor(ctx, f.signInPassword(), account.SecondFactorInput{Code: f.Code(f.t, f.secret), RememberDevice: true}, client)
	if err != nil {
		f.t.Fatalf("VerifySecondFactor(remember) = %v", err)
	}
	if res.DeviceToken == "" || res.Token == "" {
		f.t.Fatalf("VerifySecondFactor(remember) = %+v; want a session and a device token", res)
	}
	f.token = res.Token
	f.Clock.Advance(30 * time.Second)
	return res.DeviceToken
}

// signInOn does the password step from a browser holding device.
func (f *fixture) signInOn(device string) account.SignInResult {
	f.t.Helper()
	res, err := f.Service.SignInWithDevice(ctx, account.SignInInput{Email: f.email, Password: pw, DeviceToken: device}, client)
	if err != nil {
		f.t.Fatalf("SignInWithDevice = %v", err)
	}
	return res
}

func kindsOf(t *testing.T, env *accounttest.Env, userID int64) map[account.EventKind]string {
	t.Helper()
	events, err := env.Service.Events(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[account.EventKind]string{}
	for _, e := range events {
		if _, seen := kinds[e.Kind]; !seen {
			kinds[e.Kind] = e.Detail // the newest of each kind
		}
	}
	return kinds
}

func mailed(t *testing.T, env *accounttest.Env, kind account.EventKind) int {
	t.Helper()
	messages, err := env.Store.Notifications(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range messages {
		if m.Kind == kind {
			n++
		}
	}
	return n
}

// A remembered device skips the code step, once per token: its token is
// replaced at each use, and the replaced one coming back means a copy, so
// the device is forgotten, the owner told, and the code asked.
func TestRememberedDeviceSkipsTheCodeOnce(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	device := f.remembered()
	if n := mailed(t, f.Env, account.EventDeviceRemembered); n != 1 {
		t.Errorf("device_remembered messages = %d; want 1", n)
	}
	if sess := f.session(); sess.SecondFactor != account.SecondFactorTOTP {
		t.Errorf("session after a code: SecondFactor = %q; want %q", sess.SecondFactor, account.SecondFactorTOTP)
	}

	res := f.signInOn(device)
	if res.Stage != account.StageComplete || res.DeviceToken == "" || res.DeviceToken == device {
		t.Fatalf("sign-in on the remembered device = %+v; want complete with a new device token", res)
	}
	sess, err := f.Service.Authenticate(ctx, res.Token)
	if err != nil || sess.SecondFactor != account.SecondFactorDevice {
		t.Fatalf("its session: %+v, %v; want complete by %q", sess, err, account.SecondFactorDevice)
	}
	if d := kindsOf(t, f.Env, sess.UserID)[account.EventSignIn]; d != "password and remembered device" {
		t.Errorf("sign-in event detail = %q; want %q", d, "password and remembered device")
	}

	// The password is still needed, and still throttled like any other.
	if _, err := f.Service.SignInWithDevice(ctx, account.SignInInput{Email: f.email, Password: "wrong password", DeviceToken: res.DeviceToken}, client); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("wrong password on a remembered device = %v; want ErrInvalidCredentials", err)
	}
	// Without the cookie (another browser) the code is asked.
	if other := f.signInOn(""); other.Stage != account.StageSecondFactor {
		t.Errorf("sign-in from another browser: stage %q; want %q", other.Stage, account.StageSecondFactor)
	}

	// The first token, already used once, a minute later: a copy.
	f.Clock.Advance(time.Minute)
	copied := f.signInOn(device)
	if copied.Stage != account.StageSecondFactor || !copied.DropDevice || copied.DeviceToken != "" {
		t.Fatalf("sign-in with a used device token = %+v; want the code asked and the token dropped", copied)
	}
	if n := mailed(t, f.Env, account.EventDeviceTokenReused); n != 1 {
		t.Errorf("device_token_reused messages = %d; want 1", n)
	}
	// The device is forgotten for the real browser too.
	if again := f.signInOn(res.DeviceToken); again.Stage != account.StageSecondFactor || !again.DropDevice {
		t.Errorf("sign-in with the current token after a copy was used = %+v; want the code asked", again)
	}
	if devices, err := f.Service.Devices(ctx, f.session(), ""); err != nil || len(devices) != 0 {
		t.Errorf("Devices after the copy = %d, %v; want none", len(devices), err)
	}
}

func TestRememberedDeviceExpiresAndCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	f := enrolled(t, func(p *account.Policy) { p.RememberDevice = 48 * time.Hour })
	device := f.remembered()
	f.Clock.Advance(47 * time.Hour)
	res := f.signInOn(device)
	if res.Stage != account.StageComplete {
		t.Fatalf("after 47 of 48 hours: stage %q; want complete", res.Stage)
	}
	// Using it does not extend it: 48 hours from when it was remembered.
	f.Clock.Advance(time.Hour)
	if late := f.signInOn(res.DeviceToken); late.Stage != account.StageSecondFactor || !late.DropDevice {
		t.Errorf("after 48 hours = %+v; want the code asked and the token dropped", late)
	}

	off := enrolled(t, func(p *account.Policy) { p.RememberDevice = 0 })
	r, err := off.Service.VerifySecondFactor(ctx, off.signInPassword(), account.SecondFactorInput{Code: off.Code(t, off.secret), RememberDevice: true}, client)
	if err != nil || r.DeviceToken != "" {
		t.Errorf("remember with the feature off = %+v, %v; want signed in with no device token", r, err)
	}
}

// Every change after which a device must not skip the code forgets them
// all: a new password, 2FA turned off, an administrator's reset, and
// deactivation (which keeps them from coming back with reactivation).
func TestRememberedDevicesForgotten(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(t *testing.T, f *fixture, admin *account.Session)
	}{
		{"password changed", func(t *testing.T, f *fixture, _ *account.Session) {
			if err := f.Service.ChangePassword(ctx, f.session(), pw, pw+" again", client); err != nil {
				t.Fatal(err)
			}
			if err := f.Service.ChangePassword(ctx, f.session(), pw+" again", pw, client); err != nil {
				t.Fatal(err)
			}
		}},
		{"2FA disabled", func(t *testing.T, f *fixture, _ *account.Session) {
			if err := f.Service.DisableTOTP(ctx, f.session(), pw, f.Code(t, f.secret), client); err != nil {
				t.Fatal(err)
			}
		}},
		{"reset by an administrator", func(t *testing.T, f *fixture, admin *account.Session) {
			if _, err := f.Service.ResetTwoFactorFor(ctx, admin, f.session().UserID, "lost phone", client); err != nil {
				t.Fatal(err)
			}
		}},
		{"reset by an operator", func(t *testing.T, f *fixture, _ *account.Session) {
			if err := f.Service.ResetTwoFactor(ctx, f.email, "root"); err != nil {
				t.Fatal(err)
			}
		}},
		{"deactivated and reactivated", func(t *testing.T, f *fixture, admin *account.Session) {
			id := f.session().UserID
			for _, on := range []bool{false, true} {
				if _, err := f.Service.UpdateUser(ctx, admin, id, account.UserUpdate{Active: active(on)}, client); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := enrolled(t)
			admin := firstAdmin(t, f.Env)
			device := f.remembered()
			userID := f.session().UserID
			tt.change(t, f, admin)
			if !enabledNow(t, f.Env, userID) {
				return // 2FA is off: there is no code step to skip
			}
			if res := f.signInOn(device); res.Stage != account.StageSecondFactor || !res.DropDevice {
				t.Errorf("after %s: sign-in on the device = %+v; want the code asked", tt.name, res)
			}
		})
	}
}

// enabledNow reads whether 2FA is on for the user, and for every case
// that switched it off checks that no device remains.
func enabledNow(t *testing.T, env *accounttest.Env, userID int64) bool {
	t.Helper()
	u, err := env.Store.UserByID(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	if devices, err := env.Store.Devices(ctx, userID, env.Clock.Now()); err != nil || len(devices) != 0 {
		t.Errorf("remembered devices left = %d, %v; want none", len(devices), err)
	}
	return u.TwoFactorEnabled()
}

func TestForgetDevice(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	first, second := f.remembered(), f.remembered()
	devices, err := f.Service.Devices(ctx, f.session(), second)
	if err != nil || len(devices) != 2 {
		t.Fatalf("Devices = %d, %v; want 2", len(devices), err)
	}
	if !devices[0].Current || devices[1].Current {
		t.Errorf("Current = %v, %v; want the one whose token was given (the newest) only", devices[0].Current, devices[1].Current)
	}

	// Someone else's device id is not found, and stays.
	other := &fixture{Env: f.Env, t: t}
	_, other.token = f.SignUp(t, account.SignUpInput{Email: "cy@example.com", Password: pw, Name: "Cy"}, client)
	if err := f.Service.ForgetDevice(ctx, other.session(), devices[1].ID, client); !errors.Is(err, account.ErrDeviceNotFound) {
		t.Errorf("another account forgets the device = %v; want ErrDeviceNotFound", err)
	}
	if err := f.Service.ForgetDevice(ctx, f.session(), devices[1].ID, client); err != nil {
		t.Fatalf("ForgetDevice = %v", err)
	}
	if err := f.Service.ForgetDevice(ctx, f.session(), devices[1].ID, client); !errors.Is(err, account.ErrDeviceNotFound) {
		t.Errorf("ForgetDevice again = %v; want ErrDeviceNotFound", err)
	}
	if res := f.signInOn(first); res.Stage != account.StageSecondFactor {
		t.Errorf("the forgotten device: stage %q; want the code asked", res.Stage)
	}
	if res := f.signInOn(second); res.Stage != account.StageComplete {
		t.Fatalf("the other device: stage %q; want complete", res.Stage)
	}
	if err := f.Service.ForgetDevice(ctx, f.session(), 0, client); err != nil {
		t.Fatalf("forget all = %v", err)
	}
	if devices, _ := f.Service.Devices(ctx, f.session(), ""); len(devices) != 0 {
		t.Errorf("Devices after forget all = %d; want 0", len(devices))
	}
	if d := kindsOf(t, f.Env, f.session().UserID)[account.EventDeviceForgotten]; d != "all 1" {
		t.Errorf("forget-all event detail = %q; want %q", d, "all 1")
	}
}

// A browser two people share keeps one person's device: the other's
// sign-in asks for their code and leaves the cookie alone.
func TestDeviceOfAnotherAccount(t *testing.T) {
	t.Parallel()
	ana := enrolled(t)
	device := ana.remembered()
	bo := &fixture{Env: ana.Env, t: t, email: "bo@example.com"}
	_, bo.token = ana.SignUp(t, account.SignUpInput{Email: bo.email, Password: pw, Name: "Bo", MobilePhone: "+61 412 345 679"}, client)
	setup, err := bo.Service.BeginTOTPSetup(ctx, bo.session())
	if err != nil {
		t.Fatal(err)
	}
	bo.secret = setup.Secret
	if err := bo.Service.EnableTOTP(ctx, bo.session(), bo.Code(t, bo.secret), client); err != nil {
		t.Fatal(err)
	}
	if res := bo.signInOn(device); res.Stage != account.StageSecondFactor || res.DropDevice {
		t.Errorf("bo with ana's device token = %+v; want the code asked and the token kept", res)
	}
	if res := ana.signInOn(device); res.Stage != account.StageComplete {
		t.Errorf("ana after bo: stage %q; want complete", res.Stage)
	}
}

// Sign-ins racing with one device token: exactly one skips the code, on
// each store; the others are asked for it.
func TestDeviceTokenRace(t *testing.T) {
	t.Parallel()
	for name, newEnv := range map[string]func(testing.TB, ...func(*account.Policy)) *accounttest.Env{
		"sqlite": accounttest.New, "postgres": accounttest.NewPostgres,
	} {
		t.Run(name, func(t *testing.T) {
			f := enrolledOn(t, newEnv(t, accounttest.NoThrottles))
			device := f.remembered()
			const n = 8
			var wg sync.WaitGroup
			stages := make([]account.Stage, n)
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := f.Service.SignInWithDevice(ctx, account.SignInInput{Email: f.email, Password: pw, DeviceToken: device}, client)
					stages[i], errs[i] = res.Stage, err
				}()
			}
			wg.Wait()
			complete := 0
			for i := range n {
				if errs[i] != nil {
					t.Errorf("sign-in %d = %v", i, errs[i])
				}
				if stages[i] == account.StageComplete {
					complete++
				}
			}
			if complete != 1 {
				t.Errorf("%d of %d racing sign-ins skipped the code with one token; want exactly 1", complete, n)
			}
		})
	}
}

// A remembered device's sign-in stores the client's User-Agent as every
// other write does (valid UTF-8, no NUL, at most 200 bytes): a browser
// sending invalid UTF-8 gets no 500 on PostgreSQL, and nothing unbounded
// is stored.
func TestDeviceSignInStoresClientTextSafely(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fresh := b.open(t)
			f := enrolledOn(t, accounttest.NewOnStore(t, fresh(t)))
			device := f.remembered()
			odd := account.Client{IP: "192.0.2.1", UserAgent: "Mozilla/5.0 \xff\xfe" + strings.Repeat("x", 5000)}
			res, err := f.Service.SignInWithDevice(ctx, account.SignInInput{Email: f.email, Password: pw, DeviceToken: device}, odd)
			if err != nil {
				t.Fatalf("SignInWithDevice with an odd User-Agent = %v; want success", err)
			}
			f.token = res.Token
			devices, err := f.Service.Devices(ctx, f.session(), "")
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range devices {
				if len(d.UserAgent) > 200 || !utf8.ValidString(d.UserAgent) {
					t.Errorf("stored User-Agent of %d bytes; want at most 200, valid UTF-8", len(d.UserAgent))
				}
			}
		})
	}
}

// A copy of a device token is noticed however many times the real
// browser signed in since it was taken.
func TestCopiedDeviceTokenIsNoticedAfterTwoRotations(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	copied := f.remembered() // the thief copies the cookie now
	second := f.signInOn(copied).DeviceToken
	f.Clock.Advance(time.Minute)
	f.token = f.signInOn(second).Token // the real browser signs in twice
	f.Clock.Advance(time.Minute)
	before := mailed(t, f.Env, account.EventDeviceTokenReused)
	res := f.signInOn(copied)
	if res.Stage != account.StageSecondFactor || !res.DropDevice {
		t.Fatalf("the copy's sign-in = %+v; want the code asked and the token dropped", res)
	}
	if got := mailed(t, f.Env, account.EventDeviceTokenReused); got != before+1 {
		t.Errorf("after a copy two rotations old came back: %d device_token_reused emails; want %d", got, before+1)
	}
}

// The token a use replaced, back within seconds from the same address (a
// form sent twice, an answer lost), asks for the code but forgets
// nothing and alarms no one; from another address it is a copy.
func TestReplacedTokenBackAtOnce(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	device := f.remembered()
	next := f.signInOn(device).DeviceToken
	f.Clock.Advance(2 * time.Second)
	if res := f.signInOn(device); res.Stage != account.StageSecondFactor || res.DropDevice {
		t.Errorf("the replaced token again 2 s later, same address = %+v; want the code asked, the token kept", res)
	}
	if n := mailed(t, f.Env, account.EventDeviceTokenReused); n != 0 {
		t.Errorf("device_token_reused messages = %d; want 0", n)
	}
	if res := f.signInOn(next); res.Stage != account.StageComplete {
		t.Fatalf("the current token after the double send: stage %q; want complete", res.Stage)
	}
	// From elsewhere, at once: a copy.
	first := f.remembered()
	f.signInOn(first)
	f.Clock.Advance(time.Second)
	other := account.Client{IP: "198.51.100.20", UserAgent: "test"}
	res, err := f.Service.SignInWithDevice(ctx, account.SignInInput{Email: f.email, Password: pw, DeviceToken: first}, other)
	if err != nil || res.Stage != account.StageSecondFactor || !res.DropDevice {
		t.Errorf("a replaced token from another address = %+v, %v; want the code asked and the token dropped", res, err)
	}
	if n := mailed(t, f.Env, account.EventDeviceTokenReused); n != 1 {
		t.Errorf("device_token_reused messages after the copy = %d; want 1", n)
	}
}

// Lowering --remember-device-days shortens the devices already
// remembered.
func TestShorterRememberPolicyApplies(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	f := enrolledOn(t, env)
	device := f.remembered()
	f.Clock.Advance(3 * 24 * time.Hour)
	short := accounttest.NewOnStore(t, env.Store, func(p *account.Policy) { p.RememberDevice = 2 * 24 * time.Hour })
	short.Clock.Advance(env.Clock.Now().Sub(short.Clock.Now()))
	g := &fixture{Env: short, t: t, email: f.email, secret: f.secret}
	if res := g.signInOn(device); res.Stage != account.StageSecondFactor || !res.DropDevice {
		t.Errorf("a device remembered 3 days ago with the limit now 2 days = %+v; want the code asked", res)
	}
}
