package browsertest

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/qr/qrtest"
	"github.com/twofold/twofold/internal/web"
)

// The person of every test.
const (
	userName     = "Ana Lima"
	userEmail    = "ana@example.com"
	userPassword = "correct horse battery staple"
	userPhone    = "+61 412 345 678"
	// newPassword is the one the person changes to.
	newPassword = "violet kettle harbour moss"
)

// Headings of the pages, as the person reads them.
const (
	headingSignIn      = "Sign in"
	headingSignUp      = "Create your account"
	headingAskForLink  = "Ask for your sign-up link" // after sign-up; the server sends no email
	headingFinish      = "Finish signing up"
	headingLinkExpired = "This link has expired"
	headingMyInfo      = "My info"
	headingEnable      = "Enable 2 factor authentication"
	headingDisable     = "Disable 2 factor authentication"
	headingCode        = "2 factor authentication"
	headingBackupCodes = "Your backup codes"
	headingConfirm     = "Confirm your password"
	headingChange      = "Change password"
)

// Labels of the fields.
const (
	labelName        = "Name"
	labelEmail       = "Email"
	labelPassword    = "Password"
	labelPhone       = "Mobile phone number"
	labelPhoneSignUp = "Mobile phone number (optional)"
	labelVerify      = "Verification code"
	labelAppCode     = "Enter the 6-digit code from your authenticator app"
	labelBackupCode  = "Enter one of your backup codes"
	labelDisableCode = "Code from your authenticator app, or a backup code"
	labelCurrent     = "Current password"
	labelNew         = "New password"
)

// signUp goes from the start page to a new account, with phone as the
// mobile number ("" for none): the form, the link mailed to the email, the
// password again, and lands on My info.
func (b *tab) signUp(phone string) {
	b.t.Helper()
	b.startSignUp(userEmail, phone)
	b.openSignUpLink(b.srv.signUpToken(b.t, userEmail))
	b.finishSignUp()
}

// startSignUp goes from the start page through the sign-up form, as
// userName with email, and returns the page that answers it: "Check your
// inbox", whether or not the email has an account already.
func (b *tab) startSignUp(email, phone string) page {
	b.t.Helper()
	b.open("/")
	b.wantPage(headingSignIn)
	b.click("Create an account")
	b.wantPage(headingSignUp)
	b.fill(labelName, userName)
	b.fill(labelEmail, email)
	b.fill(labelPassword, userPassword)
	if phone != "" {
		b.fill(labelPhoneSignUp, phone)
	}
	if status := b.click("Sign up"); status != 200 {
		b.t.Fatalf("sign up: status %d; want 200\n%s", status, b.text())
	}
	p := b.wantPage(headingAskForLink)
	b.wantText("the message for "+email+" is not in your inbox: it is waiting for the operator of this server.",
		"twofold outbox list", "twofold outbox show ID", "Open the link in the message within 1 hour to finish signing up.")
	b.findByText("Sign up again")
	return p
}

// openSignUpLink opens the link of a sign-up message, by its token, and
// returns the HTTP status of the page.
func (b *tab) openSignUpLink(token string) int64 {
	b.t.Helper()
	return b.open(web.SignUpLink("")(token))
}

// finishSignUp is the page the sign-up link opens: the password chosen at
// sign-up signs in, on My info.
func (b *tab) finishSignUp() {
	b.t.Helper()
	b.wantPage(headingFinish)
	b.wantText("Signing up as " + userEmail)
	b.fill(labelPassword, userPassword)
	if status := b.click("Finish signing up"); status != 200 {
		b.t.Fatalf("finish signing up: status %d; want 200\n%s", status, b.text())
	}
	b.wantPage(headingMyInfo)
	b.wantFlash("Your account is ready.")
}

// qrCode is the QR code of the setup page as the browser shows it.
type qrCode struct {
	Src                 string  // data:image/png;base64,…
	Natural             int     // pixels of the PNG
	Width, Height       float64 // CSS pixels on screen
	DevicePixelRatio    float64
	URI                 string // what a scanner reads
	Secret, ShownSecret string // in the URI; shown for typing, without spaces
}

// scanQR reads the QR code on the setup page the way a phone does: from
// the image the browser shows, with an independent decoder.
func (b *tab) scanQR() qrCode {
	b.t.Helper()
	q := eval[qrCode](b, `(() => {
  const img = [...document.images].find((i) => i.alt.startsWith("QR code"));
  if (!img) return {};
  const r = img.getBoundingClientRect();
  return {Src: img.getAttribute("src"), Natural: img.naturalWidth, Width: r.width, Height: r.height,
    DevicePixelRatio: window.devicePixelRatio,
    ShownSecret: norm(document.querySelector(".secret") ? document.querySelector(".secret").innerText : "").replace(/ /g, "")};
})()`)
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(q.Src, prefix) {
		b.t.Fatalf("%s: no QR code image with a data: PNG (src %.40q)", b.where(), q.Src)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(q.Src, prefix))
	if err != nil {
		b.t.Fatalf("QR code data URI: %v", err)
	}
	q.URI = qrtest.Decode(b.t, raw)
	u, err := url.Parse(q.URI)
	if err != nil {
		b.t.Fatalf("QR code text %q: %v", q.URI, err)
	}
	q.Secret = u.Query().Get("secret")
	return q
}

var otpauthPath = regexp.MustCompile(`^/twofold:` + regexp.QuoteMeta(userEmail) + `$`)

// enableTwoFactor goes from My info (with a phone number) through the setup
// page to 2FA on, with the code that oathtool computes from the QR code.
func (b *tab) enableTwoFactor() *authenticator {
	b.t.Helper()
	b.click("Enable 2 factor authentication")
	b.wantPage(headingEnable)
	q := b.scanQR()
	app := &authenticator{secret: q.Secret}
	b.fill(labelVerify, app.code(b.t))
	b.click("Enable 2 factor authentication")
	b.wantPage(headingMyInfo)
	b.wantFlash("2 factor authentication is on")
	return app
}

// backupCodes returns the codes shown on the backup codes page.
func (b *tab) backupCodes() []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll(".codes li")].map((li) => norm(li.innerText))`)
}

var backupCodeFormat = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`)

// generateBackupCodes clicks Generate backup codes on My info and returns
// the codes shown.
func (b *tab) generateBackupCodes() []string {
	b.t.Helper()
	b.click("Generate backup codes")
	b.wantPage(headingBackupCodes)
	codes := b.backupCodes()
	if len(codes) != 10 {
		b.t.Fatalf("%d backup codes shown; want 10: %q", len(codes), codes)
	}
	for _, c := range codes {
		if !backupCodeFormat.MatchString(c) {
			b.t.Errorf("backup code %q is not xxxxx-xxxxx in Crockford base32", c)
		}
	}
	return codes
}

// signOut clicks Sign out in the header.
func (b *tab) signOut() {
	b.t.Helper()
	b.click("Sign out")
	b.wantPage(headingSignIn)
	b.wantFlash("You are signed out.")
}

// signIn does the password step from the sign-in page.
func (b *tab) signIn(password string) int64 {
	b.t.Helper()
	b.fill(labelEmail, userEmail)
	b.fill(labelPassword, password)
	return b.click("Sign in")
}

// changePassword goes from My info through Change password with the
// current password and a new one, and lands back on My info.
func (b *tab) changePassword(current, next string) {
	b.t.Helper()
	b.click("Change password")
	b.wantPage(headingChange)
	b.fill(labelCurrent, current)
	b.fill(labelNew, next)
	if status := b.click("Change password"); status != 200 {
		b.t.Fatalf("change password: status %d; want 200\n%s", status, b.text())
	}
	b.wantPage(headingMyInfo)
	b.wantFlash("Your password is changed. Your other sessions were signed out.")
}

// setUpTwoFactor is the short way to an account with 2FA on and backup
// codes, for tests about what comes after: it returns the app and the codes
// and leaves the tab on the backup codes page.
func setUpTwoFactor(t *testing.T, b *tab) (*authenticator, []string) {
	t.Helper()
	b.signUp(userPhone)
	app := b.enableTwoFactor()
	return app, b.generateBackupCodes()
}
