package browsertest

import (
	"testing"

	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/web"
)

// A person reads the email saying 2 factor authentication was turned on,
// follows its "This wasn't me" link, types the password and is told that
// every session was signed out: the tab and another browser are both at
// the sign-in page afterwards, and the link does not work twice.
func TestThisWasntMe(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := openTab(t, srv)
	b.signUp(userPhone)
	app := b.enableTwoFactor()

	other := openTab(t, srv)
	other.open("/signin")
	other.signIn(userPassword)
	other.wantPage(headingCode)
	other.fill(labelAppCode, app.code(t))
	other.click("Sign in")
	other.wantPage(headingMyInfo)

	mails := srv.outbox(t, "two_factor_enabled", userEmail)
	if len(mails) != 1 {
		t.Fatalf("two_factor_enabled messages = %d; want 1", len(mails))
	}
	token, ok := accounttest.DisavowLinkToken(mails[0])
	if !ok {
		t.Fatalf("the message has no \"This wasn't me\" link:\n%s", mails[0])
	}
	b.open(web.DisavowLink("")(token))
	b.wantPage("This wasn't me")
	b.wantText("2 factor authentication is on", "Nobody is signed in by this link")
	b.fill(labelPassword, "not the password")
	b.click("Sign out everywhere")
	b.wantFieldError(labelPassword, "That isn't the password of the account this email was sent to.")
	b.fill(labelPassword, userPassword)
	b.click("Sign out everywhere")
	b.wantPage("You are signed out everywhere")
	b.wantText("change your password")
	b.click("Sign in")
	b.wantPage(headingSignIn)

	other.open("/me")
	other.wantPage(headingSignIn)
	b.open("/me")
	b.wantPage(headingSignIn)

	if status := b.open(web.DisavowLink("")(token)); status != 410 {
		t.Errorf("the link again: status %d; want 410", status)
	}
	b.wantPage("This link cannot be used")
}
