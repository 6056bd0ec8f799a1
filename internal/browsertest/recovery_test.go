package browsertest

import (
	"context"
	"regexp"
	"testing"
	"time"
)

const (
	labelRecoveryDelay = "Self-recovery delay (hours)"
	labelRecoveryCode  = "Code from the text message"
)

var (
	recoveryTextCode = regexp.MustCompile(`recovery code: (\d{6})\.`)
	recoveryCancel   = regexp.MustCompile(`https?://\S+(/recovery/cancel\?token=\S+)`)
)

// A self-recovery, by the words on the pages: the administrator sets a
// delay of 72 hours; the person who lost their phone has a code texted to
// their number and starts a recovery, which the link in its email cancels;
// started again, a sign-in with a code cancels it; started a third time
// and its 72 hours moved into the past, the password alone signs in and
// leads to setting up 2FA again.
func TestSelfRecovery(t *testing.T) {
	t.Parallel()
	const sid, token = "AC00112233445566778899aabbccddeeff", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	tw, texts := twilio(t, sid, token)
	srv := startServerEnv(t, []string{"TWOFOLD_TWILIO_ACCOUNT_SID=" + sid, "TWOFOLD_TWILIO_AUTH_TOKEN=" + token,
		"TWOFOLD_TWILIO_FROM=+15005550006", "TWOFOLD_TWILIO_API_URL=" + tw.URL})
	cam := newCameraNamed(t, "recovery-")

	ada := openTab(t, srv)
	ada.open(srv.setupPath(t))
	ada.fill(labelEmail, "ada@example.com")
	ada.fill(labelName, "Ada Admin")
	ada.fill(labelPassword, userPassword)
	ada.click("Create account")
	ada.click("Users")
	ada.fill(labelRecoveryDelay, "72")
	ada.click("Save settings")
	ada.wantFlash("The settings are saved.")

	ana := openTab(t, srv)
	ana.signUp(userPhone)
	app := ana.enableTwoFactor()
	ana.signOut()

	start := func(shot bool) {
		t.Helper()
		ana.signIn(userPassword)
		ana.wantPage(headingCode)
		ana.click("Lost your phone?")
		ana.wantText("Recover it yourself, in 72 hours.")
		ana.click("Text me a code")
		ana.wantPage("Recover your account")
		var code string
		select {
		case form := <-texts:
			m := recoveryTextCode.FindStringSubmatch(form.Get("Body"))
			if m == nil || form.Get("To") != "+61412345678" {
				t.Fatalf("Twilio got %v; want a recovery code to +61412345678", form)
			}
			code = m[1]
		case <-time.After(30 * time.Second):
			t.Fatal("no text reached Twilio within 30 s")
		}
		ana.fill(labelRecoveryCode, code)
		if shot {
			cam.visit(ana, "code")
		}
		ana.click("Start the recovery")
		ana.wantPage("Recovery started")
		if shot {
			cam.visit(ana, "started")
		}
		ana.click("Sign out")
	}

	// 1. Cancelled by the emailed link, which asks before it cancels.
	start(true)
	mails := srv.outbox(t, "recovery_started", userEmail)
	if len(mails) == 0 {
		t.Fatal("no recovery mail to the owner")
	}
	m := recoveryCancel.FindStringSubmatch(mails[0])
	if m == nil {
		t.Fatalf("the recovery mail has no cancel link:\n%s", mails[0])
	}
	other := openTab(t, srv)
	other.open(m[1])
	other.wantPage("Cancel this recovery")
	cam.visit(other, "cancel-link")
	other.click("Cancel this recovery")
	other.wantPage("The recovery is cancelled")

	// 2. Cancelled by a sign-in with a code.
	start(false)
	ana.signIn(userPassword)
	ana.fill(labelAppCode, app.code(t))
	ana.click("Sign in")
	ana.wantPage(headingMyInfo)
	ana.wantNoText("A recovery of your account is pending.")
	ana.signOut()

	// 3. Completed once its time has come.
	start(false)
	srv.recoveriesDue(t)
	ana.signIn(userPassword)
	ana.wantPage(headingEnable)
	ana.wantFlash("Your recovery is complete: 2 factor authentication is off. Set it up again now on your new phone.")
}

// recoveriesDue moves every pending recovery's start and effective time 73
// hours back, which is what waiting out a 72-hour delay does.
func (s *server) recoveriesDue(t *testing.T) {
	t.Helper()
	db := s.openDB(t, "")
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	back := (73 * time.Hour).Milliseconds()
	res, err := db.ExecContext(ctx, `UPDATE recoveries SET created_at = created_at - ?, effective_at = effective_at - ?
		WHERE cancelled_at IS NULL AND completed_at IS NULL`, back, back)
	if err != nil {
		t.Fatalf("make recoveries due: %v", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("make recoveries due: %d changed, %v; want 1", n, err)
	}
}
