package web

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/totp"
)

// TestJourney walks the brief end to end through the pages, as one person
// with one browser: sign up, add a mobile number, scan the QR code, enable
// 2FA, generate backup codes, sign out, sign in with an app code, then with
// a backup code, and fail to reuse either.
func TestJourney(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)

	wantRedirect(t, b.get("/"), "/signin")
	signup := b.page("/signup")
	wantText(t, signup, "<title>Sign up — twofold</title>", "Create your account")

	b.signUp("")
	wantRedirect(t, b.get("/"), "/me")

	// My info without a phone: 2FA cannot be enabled, the page says why and
	// links to the field.
	me := b.page("/me")
	wantText(t, me, "My info — twofold", testName, testEmail, "Your account is ready.",
		"2 factor authentication is off", "2 factor authentication needs a mobile phone number.",
		`href="#mobile_phone"`, `id="mobile_phone"`, "Mobile phone number", "Recent security activity", "Account created")
	wantNoText(t, me, `href="/me/two-factor/enable"`)
	if !strings.Contains(me.body, `<a class="user" href="/me"><span class="user-name">`+testName) {
		t.Errorf("header does not link the user's name to /me")
	}
	wantRedirect(t, b.get("/me/two-factor/enable"), "/me#mobile_phone")
	wantText(t, b.page("/me"), "Add your mobile phone number and save")

	// Add the mobile phone number.
	wantRedirect(t, b.post("/me", url.Values{"name": {testName}, "mobile_phone": {"+61 412 345 678"}}), "/me")
	me = b.page("/me")
	wantText(t, me, "Your details are saved.", `value="+61 412 345 678"`, "Enable 2 factor authentication")
	if !strings.Contains(me.body, `<a class="button" href="/me/two-factor/enable">Enable 2 factor authentication</a>`) {
		t.Errorf("My info has no Enable 2 factor authentication button")
	}

	// The setup page: steps, QR code, key in groups of four, code field.
	setup := b.page("/me/two-factor/enable")
	wantText(t, setup, "Enable 2 factor authentication — twofold", "Authy", "Google Authenticator", "1Password",
		"Microsoft Authenticator", "Add account", "Scan QR code", "Verification code")
	uri := decodeQR(t, setup)
	grouped := shownSecret(t, setup)
	if !regexp.MustCompile(`^[A-Z2-7]{4}( [A-Z2-7]{4})+$`).MatchString(grouped) {
		t.Errorf("setup key %q is not in groups of 4", grouped)
	}
	secret := strings.ReplaceAll(grouped, " ", "")
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatalf("QR text %q: %v", uri, err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/twofold:"+testEmail {
		t.Errorf("QR URI %q; want otpauth://totp/twofold:%s?…", uri, testEmail)
	}
	if got := u.Query().Get("secret"); got != secret {
		t.Errorf("QR secret %q; want the key shown on the page, %q", got, secret)
	}
	if got := u.Query().Get("issuer"); got != "twofold" {
		t.Errorf("QR issuer %q; want %q", got, "twofold")
	}
	codeInput := regexp.MustCompile(`<input id="code"[^>]*>`).FindString(setup.body)
	for _, attr := range []string{`inputmode="numeric"`, `autocomplete="one-time-code"`, `maxlength=`} {
		if !strings.Contains(codeInput, attr) {
			t.Errorf("verification code input %s lacks %s", codeInput, attr)
		}
	}
	// Coming back shows the same pending secret.
	if again := shownSecret(t, b.page("/me/two-factor/enable")); again != grouped {
		t.Errorf("setup key changed on reload: %q then %q", grouped, again)
	}

	// A wrong code keeps the person on the page, with the same QR code.
	wrong := b.post("/me/two-factor/enable", url.Values{"code": {s.env.WrongCode(t, secret)}})
	wantStatus(t, wrong, http.StatusUnprocessableEntity)
	if got, want := fieldError(t, wrong, "code"), msgWrongCode; got != want {
		t.Errorf("wrong code message %q; want %q", got, want)
	}
	if got := decodeQR(t, wrong); got != uri {
		t.Errorf("QR after a wrong code %q; want the same %q", got, uri)
	}
	wantText(t, b.page("/me"), "2 factor authentication is off")

	// The right code switches 2FA on.
	enableCode := s.env.Code(t, secret)
	wantRedirect(t, b.post("/me/two-factor/enable", url.Values{"code": {enableCode}}), "/me")
	me = b.page("/me")
	// None were ever generated: the page leads to Generate backup codes
	// rather than saying they are all gone.
	wantText(t, me, "2 factor authentication is on", "generate backup codes", "Generate backup codes",
		"Disable 2 factor authentication", "You have not generated backup codes yet.",
		`<button type="submit" aria-describedby="backup-none">Generate backup codes</button>`)
	wantNoText(t, me, "remaining", "used all", "left.", "replaces all earlier ones")
	wantRedirect(t, b.get("/me/two-factor/enable"), "/me")

	// Backup codes: shown once, with the warning and the three actions.
	codesPage := b.post("/me/backup-codes", nil)
	wantStatus(t, codesPage, http.StatusOK)
	if got := codesPage.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("backup codes Cache-Control %q; want %q", got, "no-store")
	}
	wantText(t, codesPage, "Put these codes somewhere safe before you leave this page: it is the only time they are shown.",
		"Print them, save the file, or add them to your password manager. Each code signs you in once.",
		"If you lose your phone and these codes too, you cannot sign in.", "replaces all of these codes",
		">Print</button>", ">Download (.txt)</a>", ">Copy</button>", testEmail)
	// In the product's own words, not the brief's.
	wantNoText(t, codesPage, "very, very important", "take a screenshot", "write them out by hand")
	var codes []string
	for _, m := range codePattern.FindAllStringSubmatch(codesPage.body, -1) {
		codes = append(codes, html.UnescapeString(m[1]))
	}
	if len(codes) != 10 {
		t.Fatalf("backup codes page shows %d codes; want 10", len(codes))
	}
	checkDownload(t, codesPage, codes)
	wantRedirect(t, b.get("/me/backup-codes"), "/me")
	me = b.page("/me")
	wantText(t, me, "10 backup codes remaining.", "New backup codes generated", "2 factor authentication enabled",
		"Generating backup codes replaces all earlier ones.")
	wantNoText(t, me, "used all your backup codes", "not generated backup codes")

	// Sign out, then in: the password is not enough any more.
	wantRedirect(t, b.post("/signout", nil), "/signin")
	wantText(t, b.page("/signin"), "You are signed out.")
	wantRedirect(t, b.get("/me"), "/signin")

	bad := b.post("/signin", url.Values{"email": {testEmail}, "password": {"not the password"}})
	wantStatus(t, bad, http.StatusUnauthorized)
	wantText(t, bad, "Wrong email or password.", `value="`+testEmail+`"`)

	b.signIn("/signin/two-factor")
	wantRedirect(t, b.get("/me"), "/signin/two-factor")
	step := b.page("/signin/two-factor")
	wantText(t, step, "Enter the 6-digit code from your authenticator app",
		"Codes refresh every 30 seconds; if one fails, wait for the next one.", "Use a backup code instead")
	codeInput = regexp.MustCompile(`<input id="code"[^>]*>`).FindString(step.body)
	for _, attr := range []string{`inputmode="numeric"`, `autocomplete="one-time-code"`, `maxlength=`} {
		if !strings.Contains(codeInput, attr) {
			t.Errorf("code input %s lacks %s", codeInput, attr)
		}
	}

	// The code that enabled 2FA counts as used.
	reused := b.post("/signin/two-factor", url.Values{"code": {enableCode}})
	wantStatus(t, reused, http.StatusUnprocessableEntity)
	fieldError(t, reused, "code")

	s.env.Clock.Advance(totp.Period)
	appCode := s.env.Code(t, secret)
	wantRedirect(t, b.post("/signin/two-factor", url.Values{"code": {appCode}}), "/me")
	wantText(t, b.page("/me"), "My info", "10 backup codes remaining.")
	wantRedirect(t, b.get("/signin/two-factor"), "/me")

	// The same app code cannot sign in twice.
	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/signin/two-factor")
	reused = b.post("/signin/two-factor", url.Values{"code": {appCode}})
	wantStatus(t, reused, http.StatusUnprocessableEntity)
	if got, want := fieldError(t, reused, "code"), msgWrongCode; got != want {
		t.Errorf("reused code message %q; want %q", got, want)
	}

	// A backup code signs in, once.
	backupPage := b.page("/signin/two-factor?method=backup")
	wantText(t, backupPage, "Enter one of your backup codes", "Use your authenticator app instead")
	backupInput := regexp.MustCompile(`<input id="code"[^>]*>`).FindString(backupPage.body)
	if !strings.Contains(backupInput, `type="text"`) || !strings.Contains(backupInput, `autocomplete="off"`) {
		t.Errorf("backup code input %s; want type text, autocomplete off", backupInput)
	}
	wantRedirect(t, b.post("/signin/two-factor", url.Values{"method": {"backup"}, "code": {strings.ToUpper(codes[0])}}), "/me")
	wantText(t, b.page("/me"), "9 backup codes remaining.", "Backup code used to sign in")

	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/signin/two-factor")
	reused = b.post("/signin/two-factor", url.Values{"method": {"backup"}, "code": {codes[0]}})
	wantStatus(t, reused, http.StatusUnprocessableEntity)
	if got, want := fieldError(t, reused, "code"), msgWrongBackupCode; got != want {
		t.Errorf("reused backup code message %q; want %q", got, want)
	}
	wantText(t, reused, "Use your authenticator app instead") // still the backup-code form

	// A pending sign-in expires after 5 minutes.
	s.env.Clock.Advance(6 * time.Minute)
	wantRedirect(t, b.get("/signin/two-factor"), "/signin")
	wantText(t, b.page("/signin"), "Your sign-in took too long. Sign in again.")
	wantRedirect(t, b.get("/me"), "/signin")

	// Back in with another backup code; the activity list tells the story.
	b.signIn("/signin/two-factor")
	wantRedirect(t, b.post("/signin/two-factor", url.Values{"code": {codes[1]}}), "/me")
	me = b.page("/me")
	for _, want := range []string{"Signed in", "Wrong 2FA code entered", "Failed sign-in (wrong password)", "Backup code used to sign in", "127.0.0.1", " UTC</time>"} {
		wantText(t, me, want)
	}

	if len(b.pages) < 20 {
		t.Errorf("only %d pages seen; the page checks need the whole journey", len(b.pages))
	}
	checkPages(t, b.pages)
}

// checkDownload decodes the Download (.txt) link: a data URL holding every
// code and the account email, usable without JavaScript.
func checkDownload(t *testing.T, r *response, codes []string) {
	t.Helper()
	m := hrefPattern.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no Download (.txt) link")
	}
	href := html.UnescapeString(m[1])
	const prefix = "data:text/plain;charset=utf-8,"
	if !strings.HasPrefix(href, prefix) {
		t.Fatalf("download href %.60q; want prefix %q", href, prefix)
	}
	text, err := url.PathUnescape(strings.TrimPrefix(href, prefix))
	if err != nil {
		t.Fatalf("download href does not unescape: %v", err)
	}
	for _, want := range append([]string{testEmail, "twofold backup codes"}, codes...) {
		if !strings.Contains(text, want) {
			t.Errorf("downloaded text does not contain %q:\n%s", want, text)
		}
	}
}

// checkPages holds every page shown to the house rules: titles end in
// "— twofold", every visible input has a label, and nothing needs the CSP
// relaxed (no inline script, style or event handlers).
func checkPages(t *testing.T, pages []*response) {
	t.Helper()
	inputs := regexp.MustCompile(`<(?:input|textarea) [^>]*>`)
	idAttr := regexp.MustCompile(`\bid="([^"]+)"`)
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=|javascript:`)
	for _, p := range pages {
		name := fmt.Sprintf("%s %s (%d)", p.method, p.path, p.status)
		if !regexp.MustCompile(`<title>[^<]+ — twofold</title>`).MatchString(p.body) {
			t.Errorf("%s: title does not end in \" — twofold\"", name)
		}
		if loc := inline.FindStringIndex(p.body); loc != nil {
			t.Errorf("%s: inline script or style needing a CSP relaxation: %q", name, p.body[loc[0]:min(loc[1]+40, len(p.body))])
		}
		for _, in := range inputs.FindAllString(p.body, -1) {
			if strings.Contains(in, `type="hidden"`) {
				continue
			}
			id := idAttr.FindStringSubmatch(in)
			if id == nil || !strings.Contains(p.body, `<label for="`+id[1]+`">`) {
				t.Errorf("%s: input without a label: %s", name, in)
			}
		}
	}
}
