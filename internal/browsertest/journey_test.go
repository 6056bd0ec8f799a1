package browsertest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestJourney walks the help article as a person does, by the words on the
// pages: sign up, My info, add a mobile number, Enable 2 factor
// authentication with the QR code, Generate backup codes, sign out, sign in
// with a code from the app, then with a backup code, disable 2FA, and
// change the password. It checks what each page shows, including the
// messages next to fields.
func TestJourney(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := openTab(t, srv)

	// Sign up, without a phone number yet.
	b.signUp("")
	b.wantSignedIn()
	b.wantText("2 factor authentication is off", "2 factor authentication needs a mobile phone number.")
	enable := eval[struct{ Disabled, Describedby bool }](b, `(() => {
  const el = [...document.querySelectorAll("button")].find((e) => norm(e.innerText) === "Enable 2 factor authentication");
  return {Disabled: !!el && el.disabled, Describedby: !!el && !!document.getElementById(el.getAttribute("aria-describedby"))};
})()`)
	if !enable.Disabled || !enable.Describedby {
		t.Errorf("without a phone, Enable 2 factor authentication: disabled=%v, described=%v; want a disabled button that says why", enable.Disabled, enable.Describedby)
	}
	if _, ok := b.attrs(labelEmail)["readonly"]; !ok {
		t.Errorf("the %q field on My info is editable; want it read-only", labelEmail)
	}

	// "Click on My info, under your name."
	b.click("My info")
	b.wantPage(headingMyInfo)

	// A landline is not a mobile number: the message is next to the field,
	// and focus is on it.
	b.fill(labelPhone, "+61 2 9876 5432")
	if status := b.click("Save"); status != 422 {
		t.Errorf("saving a landline: status %d; want 422", status)
	}
	if msg := b.fieldError(labelPhone); !strings.Contains(msg, "mobile") {
		t.Errorf("message next to %q: got %q; want it to ask for a mobile number", labelPhone, msg)
	}
	b.wantFocus(labelPhone)

	b.fill(labelPhone, userPhone)
	b.click("Save")
	b.wantPage(headingMyInfo)
	b.wantFlash("Your details are saved.")
	if got, want := b.value(labelPhone), "+61 412 345 678"; got != want {
		t.Errorf("saved mobile number %q; want %q", got, want)
	}

	// Enable 2 factor authentication: the QR code.
	b.click("Enable 2 factor authentication")
	b.wantPage(headingEnable)
	b.wantText("Authy", "Add account", "Scan QR code", "Can't scan the code?")
	q := b.scanQR()
	u, _ := url.Parse(q.URI)
	if u.Scheme != "otpauth" || u.Host != "totp" || !otpauthPath.MatchString(u.Path) {
		t.Errorf("QR code reads %q; want otpauth://totp/twofold:%s?…", q.URI, userEmail)
	}
	if got := u.Query().Get("issuer"); got != "twofold" {
		t.Errorf("QR code issuer=%q; want %q", got, "twofold")
	}
	// Optional parameters, when present, must be the defaults every app
	// supports.
	for _, kv := range [][2]string{{"algorithm", "SHA1"}, {"digits", "6"}, {"period", "30"}} {
		if got := u.Query().Get(kv[0]); got != "" && got != kv[1] {
			t.Errorf("QR code %s=%q; want %q", kv[0], got, kv[1])
		}
	}
	if q.Secret == "" || q.Secret != q.ShownSecret {
		t.Errorf("key shown for typing %q; want the secret of the QR code %q", q.ShownSecret, q.Secret)
	}
	// Large enough to scan at arm's length, and shown at its own pixel size
	// (whole pixels per module) on a desktop screen.
	if q.Width < 300 || q.Width != q.Height || int(q.Width) != q.Natural {
		t.Errorf("QR code shown %.0f×%.0f CSS px from a %d px image; want at least 300 px square, at its own size", q.Width, q.Height, q.Natural)
	}
	selectable := eval[string](b, `getComputedStyle(document.querySelector(".secret")).userSelect`)
	if selectable != "all" {
		t.Errorf("setup key user-select %q; want \"all\" (one click selects the whole key to copy)", selectable)
	}
	b.allowClipboard()
	if got := b.copyButton("Copy key"); got != q.Secret {
		t.Errorf("Copy key put %q on the clipboard; want the key %q", got, q.Secret)
	}
	codeAttrs := b.attrs(labelVerify)
	for name, want := range map[string]string{"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "7"} {
		if got := codeAttrs[name]; got != want {
			t.Errorf("%q field %s=%q; want %q", labelVerify, name, got, want)
		}
	}
	if got := b.focused(); got != "" {
		t.Errorf("setup page opens with focus on %q; want none (the QR code comes first)", got)
	}

	// A wrong code: the message is next to the field, focus is on it, and
	// the same QR code is still there to scan.
	app := &authenticator{secret: q.Secret}
	b.fill(labelVerify, app.wrongCode(t))
	if status := b.click("Enable 2 factor authentication"); status != 422 {
		t.Errorf("wrong code: status %d; want 422", status)
	}
	b.wantPage(headingEnable)
	b.wantFieldError(labelVerify, "That code didn't match. Codes change every 30 seconds: enter the newest one.")
	b.wantFocus(labelVerify)
	if again := b.scanQR(); again.URI != q.URI {
		t.Errorf("QR code after a wrong code reads %q; want the same %q", again.URI, q.URI)
	}

	// The right code, pasted the way authenticator apps copy it ("123 456"):
	// the page keeps the six digits.
	code := app.code(t)
	b.paste(labelVerify, " "+code[:3]+" "+code[3:]+"\n")
	if got := b.value(labelVerify); got != code {
		t.Errorf("after pasting, the field holds %q; want %q", got, code)
	}
	b.click("Enable 2 factor authentication")
	b.wantPage(headingMyInfo)
	b.wantFlash("2 factor authentication is on")
	b.wantText("You have not generated backup codes yet.")
	b.wantNoText("backup codes remaining", "used all your backup codes")

	// Generate backup codes: shown once, with Print, Download and Copy.
	first := b.generateBackupCodes()
	b.wantFlash("Backup codes generated")
	b.wantText(userEmail, "Put these codes somewhere safe before you leave this page",
		"Print them, save the file, or add them to your password manager.")
	b.findByText("Print") // shown once the script has run
	copied := b.copyButton("Copy")
	for _, c := range first {
		if !strings.Contains(copied, c) {
			t.Errorf("Copy put %q on the clipboard; want every code, %q missing", copied, c)
		}
	}
	checkDownload(t, b, first)

	b.click("Back to My info")
	b.wantText("10 backup codes remaining.")

	// Generating again replaces them all.
	codes := b.generateBackupCodes()
	b.wantFlash("New backup codes generated — the old ones no longer work")
	for _, c := range codes {
		for _, old := range first {
			if c == old {
				t.Errorf("backup code %q came back after generating again", c)
			}
		}
	}
	b.click("Back to My info")

	// Sign out, and sign in: the password is no longer enough.
	b.signOut()
	if status := b.signIn("not the password"); status != 401 {
		t.Errorf("wrong password: status %d; want 401", status)
	}
	b.wantPage(headingSignIn)
	if p := b.page(); p.Alert != "Wrong email or password." {
		t.Errorf("after a wrong password the page says %q; want %q", p.Alert, "Wrong email or password.")
	}
	if got := b.value(labelEmail); got != userEmail {
		t.Errorf("email after a wrong password %q; want it kept, %q", got, userEmail)
	}
	b.wantFocus(labelPassword)

	b.signIn(userPassword)
	b.wantPage(headingCode)
	b.wantFocus(labelAppCode)
	b.wantText("Codes refresh every 30 seconds", "Use a backup code instead")
	countdown := eval[string](b, `norm(document.querySelector("[data-countdown]").innerText)`)
	if !strings.HasPrefix(countdown, "The code in your app changes in about ") {
		t.Errorf("countdown hint %q; want it shown when scripts run", countdown)
	}
	if b.open("/me") != 200 || b.page().H1 != headingCode {
		t.Errorf("My info before the code step shows %q; want the code step", b.page().H1)
	}

	// A wrong code.
	b.fill(labelAppCode, app.wrongCode(t))
	b.click("Sign in")
	b.wantPage(headingCode)
	b.wantFieldError(labelAppCode, "That code didn't match. Codes change every 30 seconds: enter the newest one.")
	b.wantFocus(labelAppCode)

	// The next code from the app signs in.
	b.fill(labelAppCode, app.code(t))
	b.click("Sign in")
	b.wantPage(headingMyInfo)
	b.wantSignedIn()
	b.wantText("2 factor authentication is on", "10 backup codes remaining.")

	// A backup code instead: an old one fails, a new one signs in, once.
	b.signOut()
	b.signIn(userPassword)
	b.click("Use a backup code instead")
	b.wantPage(headingCode)
	b.wantFocus(labelBackupCode)
	b.fill(labelBackupCode, first[0])
	b.click("Sign in")
	b.wantFieldError(labelBackupCode, "That backup code didn't match, or it was already used. Check it and try again, or use another one.")
	b.wantFocus(labelBackupCode)
	b.wantText("Use your authenticator app instead")
	b.fill(labelBackupCode, strings.ToUpper(codes[0]))
	b.click("Sign in")
	b.wantPage(headingMyInfo)
	b.wantText("9 backup codes remaining.", "Backup code used to sign in")

	// Disable 2FA, with the password and a backup code (the field takes
	// either; a code from the app would need the next 30-second step).
	b.click("Disable 2 factor authentication")
	b.wantPage(headingDisable)
	b.fill(labelPassword, "not the password")
	b.fill(labelDisableCode, codes[1])
	b.click("Disable 2 factor authentication")
	b.wantFieldError(labelPassword, "That password is not right.")
	b.wantFocus(labelPassword)
	b.fill(labelPassword, userPassword)
	b.fill(labelDisableCode, codes[0]) // used already
	b.click("Disable 2 factor authentication")
	b.wantFieldError(labelDisableCode, "That code didn't match, or it was already used. Enter the newest code from your app, or an unused backup code.")
	b.wantFocus(labelDisableCode)
	b.fill(labelPassword, userPassword)
	b.fill(labelDisableCode, codes[1])
	b.click("Disable 2 factor authentication")
	b.wantPage(headingMyInfo)
	b.wantFlash("2 factor authentication is off")
	b.wantText("2 factor authentication is off", "2 factor authentication disabled")
	b.wantNoText("backup codes remaining", "Generate backup codes")

	// The password alone signs in again.
	b.signOut()
	b.signIn(userPassword)
	b.wantPage(headingMyInfo)
	b.wantSignedIn()

	// Change password, with the account signed in elsewhere too. A wrong
	// current password is refused next to its field; the right one keeps
	// this browser signed in and signs the other one out.
	elsewhere := openTab(t, srv)
	elsewhere.open("/signin")
	elsewhere.signIn(userPassword)
	elsewhere.wantPage(headingMyInfo)

	b.click("Change password")
	b.wantPage(headingChange)
	for label, want := range map[string]string{labelCurrent: "current-password", labelNew: "new-password"} {
		if got := b.attrs(label)["autocomplete"]; got != want {
			t.Errorf("%q field autocomplete=%q; want %q", label, got, want)
		}
	}
	b.wantText("At least 8 characters. A few unrelated words make a strong password.")
	b.fill(labelCurrent, "not the password")
	b.fill(labelNew, newPassword)
	if status := b.click("Change password"); status != 422 {
		t.Errorf("wrong current password: status %d; want 422", status)
	}
	b.wantPage(headingChange)
	b.wantFieldError(labelCurrent, "That isn't your current password.")
	b.wantFocus(labelCurrent)
	b.click("Cancel")
	b.wantPage(headingMyInfo)
	b.changePassword(userPassword, newPassword)
	b.wantSignedIn()
	b.wantText("Password changed")
	if elsewhere.open("/me") != 200 || elsewhere.page().H1 != headingSignIn {
		t.Errorf("the other browser after the change shows %q; want %q (signed out)", elsewhere.page().H1, headingSignIn)
	}

	// Sign out: the old password no longer signs in, the new one does.
	b.signOut()
	if status := b.signIn(userPassword); status != 401 {
		t.Errorf("the old password after the change: status %d; want 401", status)
	}
	b.wantPage(headingSignIn)
	b.signIn(newPassword)
	b.wantPage(headingMyInfo)
	b.wantSignedIn()
}

// TestSignUpLink: signing up answers "Ask for your sign-up link" (the test
// server sends no email) and queues a link; the link asks for the password
// chosen at sign-up and works once. Signing up again with an email that has
// an account answers with the same page, so the page reveals nothing, and
// tells the owner instead of mailing a link.
func TestSignUpLink(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := openTab(t, srv)

	first := b.startSignUp(userEmail, "")
	token := srv.signUpToken(t, userEmail)
	if n := len(srv.outbox(t, "sign_up_link", userEmail)); n != 1 {
		t.Errorf("%d sign-up links queued for %s; want 1", n, userEmail)
	}
	if b.open("/me") != 200 || b.page().H1 == headingMyInfo {
		t.Errorf("before the link is opened, /me shows %q; want the person not signed in", b.page().H1)
	}

	// The link asks for the password again: a wrong one stays on the page,
	// with the message next to the field.
	b.openSignUpLink(token)
	b.wantPage(headingFinish)
	b.wantText("Signing up as " + userEmail)
	b.wantFocus(labelPassword)
	b.fill(labelPassword, "not the password")
	if status := b.click("Finish signing up"); status < 400 || status >= 500 {
		t.Errorf("finish signing up with a wrong password: status %d; want 4xx", status)
	}
	b.wantPage(headingFinish)
	b.wantFieldError(labelPassword, "That isn't the password you chose when you signed up.")
	b.wantFocus(labelPassword)
	b.finishSignUp()
	b.wantSignedIn()
	b.signOut()

	// The link works once.
	b.openSignUpLink(token)
	b.wantPage(headingLinkExpired)
	b.click("Sign up again")
	b.wantPage(headingSignUp)
	for _, bad := range []string{"not-a-token", ""} {
		b.openSignUpLink(bad)
		b.wantPage(headingLinkExpired)
	}

	// Signing up again with the same email: the same answer, word for word,
	// and the owner is told rather than sent a link.
	again := b.startSignUp(userEmail, "")
	if again != first {
		t.Errorf("signing up with an email that has an account shows\n%+v\nwant the page a new email gets\n%+v", again, first)
	}
	if n := len(srv.outbox(t, "sign_up_link", userEmail)); n != 1 {
		t.Errorf("after signing up again, %d sign-up links queued for %s; want still 1", n, userEmail)
	}
	if n := len(srv.outbox(t, "sign_up_attempt", userEmail)); n != 1 {
		t.Errorf("after signing up again, %d sign-up attempt messages queued for %s; want 1", n, userEmail)
	}
	// A new email gets the same page, apart from the email.
	const otherEmail = "bea@example.com"
	other := b.startSignUp(otherEmail, "")
	other.Path = strings.ReplaceAll(other.Path, url.QueryEscape(otherEmail), url.QueryEscape(userEmail))
	other.Main = strings.ReplaceAll(other.Main, otherEmail, userEmail)
	if other != again {
		t.Errorf("signing up with a new email shows\n%+v\nwant, apart from the email, the page an existing email gets\n%+v", other, again)
	}
	srv.signUpToken(t, otherEmail)

	// The old link still does not work, though the email was just used again.
	b.openSignUpLink(token)
	b.wantPage(headingLinkExpired)
}

// checkDownload clicks Download (.txt) and reads the file the browser saved.
func checkDownload(t *testing.T, b *tab, codes []string) {
	t.Helper()
	dir := t.TempDir()
	c := chromedp.FromContext(b.ctx)
	_, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:         browser.SetDownloadBehaviorBehaviorAllowAndName,
		BrowserContextID: c.BrowserContextID,
		DownloadPath:     dir,
		EventsEnabled:    new(true),
	})
	if err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	b.press("Download (.txt)")
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatalf("download canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID) // allowAndName names files by GUID
			break
		}
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read downloaded file: %v", err)
	}
	text := string(raw)
	for _, want := range append([]string{"twofold backup codes", "Account: " + userEmail, "Generated: " + time.Now().UTC().Format("2 January 2006")}, codes...) {
		if !strings.Contains(text, want) {
			t.Errorf("downloaded file does not contain %q:\n%s", want, text)
		}
	}
}

// TestExpiredPendingSignIn: after the password, the code step lasts 5
// minutes; a code entered later sends the person back to sign in, with a
// message. The server runs on the real clock, so rather than wait the test
// ends the window in the server's database (see expirePendingSignIns).
func TestExpiredPendingSignIn(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := openTab(t, srv)
	app, codes := setUpTwoFactor(t, b)
	b.click("Back to My info")
	b.signOut()
	b.signIn(userPassword)
	b.wantPage(headingCode)

	srv.expirePendingSignIns(t)
	b.fill(labelAppCode, app.wrongCode(t))
	b.click("Sign in")
	b.wantPage(headingSignIn)
	b.wantFlash("Your sign-in took too long. Sign in again.")
	if b.open("/signin/two-factor") != 200 || b.page().H1 != headingSignIn {
		t.Errorf("the code step after expiry shows %q; want %q", b.page().H1, headingSignIn)
	}
	b.signIn(userPassword)
	b.wantPage(headingCode)
	b.click("Use a backup code instead")
	b.fill(labelBackupCode, codes[0])
	b.click("Sign in")
	b.wantPage(headingMyInfo)
}

// TestWithoutJavaScript: everything works with scripts off, and no button
// that needs a script is shown.
func TestWithoutJavaScript(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := openTab(t, srv)
	b.scripts(false)
	_, codes := setUpTwoFactor(t, b)
	for _, text := range []string{"Print", "Copy"} {
		if n := eval[int](b, fmt.Sprintf(`byText(%q).length`, text)); n != 0 {
			t.Errorf("with scripts off, a %q button is shown", text)
		}
	}
	b.findByText("Download (.txt)")
	b.click("Back to My info")
	b.signOut()
	b.signIn(userPassword)
	b.wantPage(headingCode)
	if got := eval[bool](b, `document.querySelector("[data-countdown]").hidden`); !got {
		t.Errorf("with scripts off, the countdown hint is shown (empty)")
	}
	b.click("Use a backup code instead")
	b.fill(labelBackupCode, codes[3])
	b.click("Sign in")
	b.wantPage(headingMyInfo)
	b.wantText("9 backup codes remaining.")
}
