package account_test

import (
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

func texts(p *account.Policy) { p.TextMessages = true }

var textedCode = regexp.MustCompile(`verification code: (\d{6})\.`)

// lastText is the code of the newest text queued to phone.
func lastText(t *testing.T, env *accounttest.Env, phone string) string {
	t.Helper()
	messages, err := env.Store.Notifications(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range messages { // newest first
		if m.Channel == account.ChannelSMS && m.Recipient == phone {
			if c := textedCode.FindStringSubmatch(m.Body); c != nil {
				return c[1]
			}
		}
	}
	t.Fatalf("no verification text to %s in the outbox", phone)
	return ""
}

func auditActions(t *testing.T, env *accounttest.Env, admin *account.Session) []string {
	t.Helper()
	entries, err := env.Service.AuditLog(ctx, admin, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, string(e.Action)+": "+e.Detail)
	}
	return out
}

// lostPhone is an enrolled member (ana) and an administrator (ada) on a
// server that can text.
func lostPhone(t *testing.T, opts ...func(*account.Policy)) (*fixture, *account.Session) {
	t.Helper()
	f := enrolled(t, append([]func(*account.Policy){texts}, opts...)...)
	return f, firstAdmin(t, f.Env)
}

// "Lost your phone?": a half-signed-in session asks the administrators for
// help; they are emailed, once while the request is open, and it is
// listed for them.
func TestRequestHelp(t *testing.T) {
	t.Parallel()
	f, ada := lostPhone(t)
	pending := f.signInPassword()
	if err := f.Service.RequestHelp(ctx, pending, strings.Repeat("x", 501), client); err == nil {
		t.Error("RequestHelp with a 501-character message = nil; want a validation error")
	}
	if err := f.Service.RequestHelp(ctx, pending, "New number: +61 400 000 001", client); err != nil {
		t.Fatalf("RequestHelp = %v", err)
	}
	if err := f.Service.RequestHelp(ctx, pending, "again", client); err != nil {
		t.Fatalf("RequestHelp again = %v", err)
	}
	if n := mailed(t, f.Env, account.EventHelpRequested); n != 1 {
		t.Errorf("help request mails = %d; want 1 (one administrator, one open request)", n)
	}
	reqs, err := f.Service.HelpRequests(ctx, ada)
	if err != nil || len(reqs) != 1 || reqs[0].Email != f.email || reqs[0].Message != "New number: +61 400 000 001" {
		t.Fatalf("HelpRequests = %+v, %v; want ana's one request", reqs, err)
	}
	if err := f.Service.RequestHelp(ctx, f.token, "", client); !errors.Is(err, account.ErrSessionAlreadyAdvanced) {
		t.Errorf("RequestHelp from a full session = %v; want ErrSessionAlreadyAdvanced", err)
	}
	if err := f.Service.RequestHelp(ctx, "no-such-token", "", client); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("RequestHelp without a session = %v; want ErrUnauthenticated", err)
	}
	if _, err := f.Service.HelpRequests(ctx, f.session()); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("HelpRequests by a member = %v; want ErrForbidden", err)
	}
}

// The administrator texts a code to the number on file, the person reads
// it back, and the reset then needs no reason; it uses the verification
// up, resolves the help request, ends sessions and devices, and is in the
// audit log naming the administrator.
func TestResetAfterPhoneVerification(t *testing.T) {
	t.Parallel()
	f, ada := lostPhone(t)
	f.remembered()
	if err := f.Service.RequestHelp(ctx, f.signInPassword(), "", client); err != nil {
		t.Fatal(err)
	}
	id := f.session().UserID
	if _, err := f.Service.ResetTwoFactorFor(ctx, ada, id, "", client); !errors.Is(err, account.ErrPhoneNotVerified) {
		t.Fatalf("reset without a verification or a reason = %v; want ErrPhoneNotVerified", err)
	}
	v, err := f.Service.SendPhoneVerification(ctx, ada, id, client)
	if err != nil || v.Phone != "+61412345678" {
		t.Fatalf("SendPhoneVerification = %+v, %v", v, err)
	}
	code := lastText(t, f.Env, "+61412345678")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if err := f.Service.CheckPhoneVerification(ctx, ada, id, wrong, client); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("a wrong code = %v; want ErrInvalidCode", err)
	}
	if err := f.Service.CheckPhoneVerification(ctx, ada, id, code[:3]+" "+code[3:], client); err != nil {
		t.Fatalf("the right code = %v", err)
	}
	if at, _, err := f.Service.PhoneVerifiedAt(ctx, ada, id); err != nil || at.IsZero() {
		t.Errorf("PhoneVerifiedAt = %v, %v; want now", at, err)
	}
	if _, err := f.Service.ResetTwoFactorFor(ctx, ada, id, "", client); err != nil {
		t.Fatalf("reset after the verification = %v", err)
	}
	u, _ := f.Store.UserByID(ctx, id)
	if u.TwoFactorEnabled() {
		t.Error("2FA still on after the reset")
	}
	if _, err := f.Service.Authenticate(ctx, f.token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("ana's session after the reset: %v; want ended", err)
	}
	if devices, _ := f.Store.Devices(ctx, id, f.Clock.Now()); len(devices) != 0 {
		t.Errorf("%d remembered devices after the reset; want 0", len(devices))
	}
	if reqs, _ := f.Service.HelpRequests(ctx, ada); len(reqs) != 0 {
		t.Errorf("open help requests after the reset = %d; want 0", len(reqs))
	}
	if n := mailed(t, f.Env, account.EventTwoFactorReset); n != 1 {
		t.Errorf("reset mails = %d; want 1", n)
	}
	audit := strings.Join(auditActions(t, f.Env, ada), "\n")
	for _, want := range []string{"reset_two_factor: phone verified by text message", "phone_verified: code texted to +61 412 345 678", "phone_code_wrong", "phone_code_sent: to +61 412 345 678"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %q:\n%s", want, audit)
		}
	}
	if d := kindsOf(t, f.Env, id)[account.EventTwoFactorReset]; d != "by ada@example.com: phone verified by text message" {
		t.Errorf("ana's activity says %q", d)
	}
}

// A verification allows one reset, for 15 minutes; a code works for 10
// minutes and 5 wrong tries, after which even the right one is refused.
func TestPhoneVerificationLimits(t *testing.T) {
	t.Parallel()
	t.Run("one reset per verification", func(t *testing.T) {
		f, ada := lostPhone(t)
		id := f.session().UserID
		if _, err := f.Service.SendPhoneVerification(ctx, ada, id, client); err != nil {
			t.Fatal(err)
		}
		if err := f.Service.CheckPhoneVerification(ctx, ada, id, lastText(t, f.Env, "+61412345678"), client); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Service.ResetTwoFactorFor(ctx, ada, id, "", client); err != nil {
			t.Fatal(err)
		}
		// 2FA on again, and lost again: the old verification is spent.
		token, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client)
		if err != nil {
			t.Fatal(err)
		}
		f.token = token
		setup, err := f.Service.BeginTOTPSetup(ctx, f.session())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Service.EnableTOTP(ctx, f.session(), f.Code(t, setup.Secret), client); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Service.ResetTwoFactorFor(ctx, ada, id, "", client); !errors.Is(err, account.ErrPhoneNotVerified) {
			t.Errorf("a second reset on one verification = %v; want ErrPhoneNotVerified", err)
		}
	})
	t.Run("15 minutes", func(t *testing.T) {
		f, ada := lostPhone(t)
		id := f.session().UserID
		if _, err := f.Service.SendPhoneVerification(ctx, ada, id, client); err != nil {
			t.Fatal(err)
		}
		if err := f.Service.CheckPhoneVerification(ctx, ada, id, lastText(t, f.Env, "+61412345678"), client); err != nil {
			t.Fatal(err)
		}
		f.Clock.Advance(16 * time.Minute)
		if err := f.Service.ConfirmPassword(ctx, ada, pw, client); err != nil { // the admin's own recent password
			t.Fatal(err)
		}
		if _, err := f.Service.ResetTwoFactorFor(ctx, ada, id, "", client); !errors.Is(err, account.ErrPhoneNotVerified) {
			t.Errorf("reset 16 minutes after the verification = %v; want ErrPhoneNotVerified", err)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		f, ada := lostPhone(t)
		id := f.session().UserID
		if _, err := f.Service.SendPhoneVerification(ctx, ada, id, client); err != nil {
			t.Fatal(err)
		}
		code := lastText(t, f.Env, "+61412345678")
		f.Clock.Advance(account.PhoneCodeTTL)
		if err := f.Service.ConfirmPassword(ctx, ada, pw, client); err != nil {
			t.Fatal(err)
		}
		if err := f.Service.CheckPhoneVerification(ctx, ada, id, code, client); !errors.Is(err, account.ErrPhoneCodeSpent) {
			t.Errorf("the right code after 10 minutes = %v; want ErrPhoneCodeSpent", err)
		}
	})
	t.Run("five tries, even racing", func(t *testing.T) {
		for name, newEnv := range map[string]func(testing.TB, ...func(*account.Policy)) *accounttest.Env{
			"sqlite": accounttest.New, "postgres": accounttest.NewPostgres,
		} {
			t.Run(name, func(t *testing.T) {
				f := enrolledOn(t, newEnv(t, texts))
				ada := firstAdmin(t, f.Env)
				id := f.session().UserID
				if _, err := f.Service.SendPhoneVerification(ctx, ada, id, client); err != nil {
					t.Fatal(err)
				}
				code := lastText(t, f.Env, "+61412345678")
				wrong := "000000"
				if code == wrong {
					wrong = "111111"
				}
				var wg sync.WaitGroup
				for range 12 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						err := f.Service.CheckPhoneVerification(ctx, ada, id, wrong, client)
						if !errors.Is(err, account.ErrInvalidCode) {
							t.Errorf("a wrong code = %v; want ErrInvalidCode (or spent)", err)
						}
					}()
				}
				wg.Wait()
				_, v, err := f.Service.PhoneVerifiedAt(ctx, ada, id)
				if err != nil || v.Failures != 5 {
					t.Errorf("failures after 12 racing wrong codes = %d, %v; want 5", v.Failures, err)
				}
				if err := f.Service.CheckPhoneVerification(ctx, ada, id, code, client); !errors.Is(err, account.ErrPhoneCodeSpent) {
					t.Errorf("the right code after 5 wrong ones = %v; want ErrPhoneCodeSpent", err)
				}
			})
		}
	})
}

// Texting needs an administrator, a number on file and an SMS sender, and
// an account gets at most 3 texts an hour; without texts, a reason does.
func TestPhoneVerificationRefusals(t *testing.T) {
	t.Parallel()
	f, ada := lostPhone(t)
	id := f.session().UserID
	if _, err := f.Service.SendPhoneVerification(ctx, f.session(), id, client); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("a member texts = %v; want ErrForbidden", err)
	}
	for i := range 3 {
		if _, err := f.Service.SendPhoneVerification(ctx, ada, id, client); err != nil {
			t.Fatalf("text %d = %v", i+1, err)
		}
	}
	var throttled *account.ThrottledError
	if _, err := f.Service.SendPhoneVerification(ctx, ada, id, client); !errors.As(err, &throttled) {
		t.Errorf("a 4th text within the hour = %v; want ThrottledError", err)
	}
	if _, err := f.Service.SendPhoneVerification(ctx, ada, ada.UserID, client); !errors.Is(err, account.ErrNoMobilePhone) {
		t.Errorf("texting an account without a number = %v; want ErrNoMobilePhone", err)
	}

	g := enrolled(t)
	admin := firstAdmin(t, g.Env)
	gid := g.session().UserID
	if _, err := g.Service.SendPhoneVerification(ctx, admin, gid, client); !errors.Is(err, account.ErrTextsUnavailable) {
		t.Errorf("texting without an SMS sender = %v; want ErrTextsUnavailable", err)
	}
	if _, err := g.Service.ResetTwoFactorFor(ctx, admin, gid, "met in person, photo ID", client); err != nil {
		t.Fatalf("reset with a reason = %v", err)
	}
	audit := strings.Join(auditActions(t, g.Env, admin), "\n")
	if !strings.Contains(audit, "reset_two_factor: without phone verification: met in person, photo ID") {
		t.Errorf("audit log lacks the reason:\n%s", audit)
	}
}

// A code texted after a verification replaces it, as the reset page
// shows; asking for help again while a request is open costs nothing of
// the day's limit; a sign-in with a code resolves the open request.
func TestLostPhoneDetails(t *testing.T) {
	t.Parallel()
	f, ada := lostPhone(t)
	id := f.session().UserID
	if _, err := f.Service.SendPhoneVerification(ctx, ada, id, client); err != nil {
		t.Fatal(err)
	}
	if err := f.Service.CheckPhoneVerification(ctx, ada, id, lastText(t, f.Env, "+61412345678"), client); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.SendPhoneVerification(ctx, ada, id, client); err != nil {
		t.Fatal(err)
	}
	if at, _, _ := f.Service.PhoneVerifiedAt(ctx, ada, id); !at.IsZero() {
		t.Errorf("PhoneVerifiedAt after a newer code = %v; want none", at)
	}
	if _, err := f.Service.ResetTwoFactorFor(ctx, ada, id, "", client); !errors.Is(err, account.ErrPhoneNotVerified) {
		t.Errorf("reset after a newer, unchecked code = %v; want ErrPhoneNotVerified", err)
	}

	pending := f.signInPassword()
	for i := range 5 {
		if err := f.Service.RequestHelp(ctx, pending, "", client); err != nil {
			t.Fatalf("help request %d while one is open = %v; want nil", i+1, err)
		}
	}
	if _, err := f.Service.SubmitSecondFactor(ctx, f.signInPassword(), f.Code(t, f.secret), client); err != nil {
		t.Fatal(err)
	}
	if reqs, _ := f.Service.HelpRequests(ctx, ada); len(reqs) != 0 {
		t.Errorf("open help requests after a sign-in with a code = %d; want 0", len(reqs))
	}
}

// A verification is of the number it was texted to: once the number on
// file changes, it allows no reset.
func TestVerificationOfAnOldNumber(t *testing.T) {
	t.Parallel()
	f, ada := lostPhone(t)
	id := f.session().UserID
	if _, err := f.Service.SendPhoneVerification(ctx, ada, id, client); err != nil {
		t.Fatal(err)
	}
	if err := f.Service.CheckPhoneVerification(ctx, ada, id, lastText(t, f.Env, "+61412345678"), client); err != nil {
		t.Fatal(err)
	}
	other := "+61 412 999 888"
	if _, err := f.Service.UpdateProfile(ctx, f.session(), account.ProfileUpdate{MobilePhone: &other}, client); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.ResetTwoFactorFor(ctx, ada, id, "", client); !errors.Is(err, account.ErrPhoneNotVerified) {
		t.Errorf("reset on a verification of the number before = %v; want ErrPhoneNotVerified", err)
	}
}

// An administrator can dismiss a help request without a reset; a member
// cannot; dismissing none is ErrHelpRequestNotFound; it is audited.
func TestDismissHelpRequest(t *testing.T) {
	t.Parallel()
	f, ada := lostPhone(t)
	id := f.session().UserID
	if err := f.Service.RequestHelp(ctx, f.signInPassword(), "", client); err != nil {
		t.Fatal(err)
	}
	if err := f.Service.DismissHelpRequest(ctx, f.session(), id, client); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("a member dismisses = %v; want ErrForbidden", err)
	}
	if err := f.Service.DismissHelpRequest(ctx, ada, id, client); err != nil {
		t.Fatalf("DismissHelpRequest = %v", err)
	}
	if reqs, _ := f.Service.HelpRequests(ctx, ada); len(reqs) != 0 {
		t.Errorf("open help requests after dismissing = %d; want 0", len(reqs))
	}
	if err := f.Service.DismissHelpRequest(ctx, ada, id, client); !errors.Is(err, account.ErrHelpRequestNotFound) {
		t.Errorf("dismissing again = %v; want ErrHelpRequestNotFound", err)
	}
	if u, _ := f.Store.UserByID(ctx, id); !u.TwoFactorEnabled() {
		t.Error("dismissing a help request changed 2FA")
	}
	if audit := strings.Join(auditActions(t, f.Env, ada), "\n"); !strings.Contains(audit, "dismiss_help_request") {
		t.Errorf("audit log lacks the dismissal:\n%s", audit)
	}
}
