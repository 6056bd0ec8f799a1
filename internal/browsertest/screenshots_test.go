package browsertest

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestScreenshots visits every page, in each state worth seeing (empty,
// with errors, after an action), and at each one:
//   - writes full-page screenshots at desktop (1280×800) and phone (390×844)
//     viewports to screenshots/ at the repository root;
//   - runs axe-core and fails on any serious or critical violation;
//   - checks what every page must have: a title ending in " — twofold", a
//     label for every field, no sideways scrolling on a phone.
//
// With -update-docs it also writes docs/screenshots/enable-2fa.png, the
// screenshot in the README.
func TestScreenshots(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := openTab(t, srv)
	cam := newCamera(t)

	b.open("/signin")
	cam.visit(b, "sign-in")
	b.click("Create an account")
	cam.visit(b, "sign-up")
	// Values a browser lets through but the server does not: a blank name
	// and a landline. Focus goes to the first of the two.
	b.fill(labelName, "   ")
	b.fill(labelEmail, userEmail)
	b.fill(labelPassword, userPassword)
	b.fill(labelPhoneSignUp, "+61 2 9876 5432")
	b.click("Sign up")
	b.wantPage(headingSignUp)
	if b.fieldError(labelName) == "" || b.fieldError(labelPhoneSignUp) == "" {
		t.Errorf("sign-up with a blank name and a landline: messages %q and %q; want one next to each", b.fieldError(labelName), b.fieldError(labelPhoneSignUp))
	}
	b.wantFocus(labelName)
	cam.visit(b, "sign-up-errors")

	b.fill(labelName, userName)
	b.fill(labelPassword, userPassword)
	b.fill(labelPhoneSignUp, "")
	b.click("Sign up")
	b.wantPage(headingAskForLink)
	cam.visit(b, "ask-for-link")

	token := srv.signUpToken(t, userEmail)
	b.openSignUpLink(token)
	b.wantPage(headingFinish)
	cam.visit(b, "finish-sign-up")
	b.fill(labelPassword, "not the password")
	b.click("Finish signing up")
	b.wantPage(headingFinish)
	if b.fieldError(labelPassword) == "" {
		t.Errorf("finish signing up with a wrong password: no message next to %q", labelPassword)
	}
	cam.visit(b, "finish-sign-up-wrong-password")
	b.fill(labelPassword, userPassword)
	b.click("Finish signing up")
	b.wantPage(headingMyInfo)
	cam.visit(b, "my-info-new")

	b.fill(labelPhone, "0412 345 678")
	b.click("Save")
	cam.visit(b, "my-info-phone-error")
	b.fill(labelPhone, userPhone)
	b.click("Save")
	cam.visit(b, "my-info-saved")

	b.click("Enable 2 factor authentication")
	b.wantPage(headingEnable)
	cam.visit(b, "enable-2fa")
	if *updateDocs {
		cam.docs(b, "enable-2fa.png")
	}
	q := b.scanQR()
	app := &authenticator{secret: q.Secret}
	b.fill(labelVerify, app.wrongCode(t))
	b.click("Enable 2 factor authentication")
	cam.visit(b, "enable-2fa-wrong-code")
	b.fill(labelVerify, app.code(t))
	b.click("Enable 2 factor authentication")
	b.wantPage(headingMyInfo)
	cam.visit(b, "my-info-2fa-on")

	codes := b.generateBackupCodes()
	cam.visit(b, "backup-codes")
	b.media("print")
	cam.visit(b, "backup-codes-print")
	b.media("")
	b.click("Back to My info")
	codes2 := b.generateBackupCodes()
	cam.visit(b, "backup-codes-again")
	b.click("Back to My info")
	cam.visit(b, "my-info-codes")

	b.click("Sign out")
	cam.visit(b, "signed-out")
	b.openSignUpLink(token) // used already
	b.wantPage(headingLinkExpired)
	cam.visit(b, "sign-up-link-expired")
	b.open("/signin")
	b.wantPage(headingSignIn)
	b.signIn("not the password")
	cam.visit(b, "sign-in-wrong-password")
	b.signIn(userPassword)
	b.wantPage(headingCode)
	cam.visit(b, "sign-in-code")
	b.fill(labelAppCode, app.wrongCode(t))
	b.click("Sign in")
	cam.visit(b, "sign-in-code-wrong")
	b.click("Use a backup code instead")
	cam.visit(b, "sign-in-backup-code")
	b.fill(labelBackupCode, codes[0]) // replaced by the second set
	b.click("Sign in")
	cam.visit(b, "sign-in-backup-code-wrong")
	b.fill(labelBackupCode, codes2[0])
	b.click("Sign in")
	b.wantPage(headingMyInfo)

	b.open("/confirm-password?next=%2Fme%2Ftwo-factor%2Fdisable")
	b.wantPage(headingConfirm)
	cam.visit(b, "confirm-password")
	b.fill(labelPassword, "not the password")
	b.click("Confirm")
	cam.visit(b, "confirm-password-wrong")
	b.fill(labelPassword, userPassword)
	b.click("Confirm")
	b.wantPage(headingDisable)
	cam.visit(b, "disable-2fa")
	b.fill(labelPassword, "not the password")
	b.fill(labelDisableCode, codes2[1])
	b.click("Disable 2 factor authentication")
	cam.visit(b, "disable-2fa-errors")
	b.fill(labelPassword, userPassword)
	b.fill(labelDisableCode, codes2[1])
	b.click("Disable 2 factor authentication")
	b.wantPage(headingMyInfo)
	cam.visit(b, "my-info-2fa-off")

	b.click("Change password")
	b.wantPage(headingChange)
	cam.visit(b, "change-password")
	b.fill(labelCurrent, "not the password")
	b.fill(labelNew, newPassword)
	b.click("Change password")
	b.wantPage(headingChange)
	if b.fieldError(labelCurrent) == "" {
		t.Errorf("change password with a wrong current password: no message next to %q", labelCurrent)
	}
	b.wantFocus(labelCurrent)
	cam.visit(b, "change-password-wrong")
	b.fill(labelCurrent, userPassword)
	b.fill(labelNew, newPassword)
	b.click("Change password")
	b.wantPage(headingMyInfo)
	cam.visit(b, "my-info-password-changed")

	if b.open("/no/such/page") != 404 {
		t.Errorf("GET /no/such/page: want 404")
	}
	cam.visit(b, "not-found")

	// The checker itself: a field without a label is a critical violation.
	eval[any](b, `document.querySelector("main").insertAdjacentHTML("beforeend", '<input id="unlabelled">') || null`)
	found := false
	for _, v := range cam.axe(b) {
		found = found || (v.ID == "label" && v.Impact == "critical")
	}
	if !found {
		t.Errorf("axe-core did not report a field without a label; is it running?")
	}
}

// camera writes the screenshots of one run and checks every page it sees.
type camera struct {
	t         *testing.T
	dir       string
	prefix    string // before the number of each file: one camera per test
	n         int
	axeSource string // axe.min.js
	seen      sync.Map
}

func newCamera(t *testing.T) *camera {
	t.Helper()
	return newCameraNamed(t, "")
}

// newCameraNamed is newCamera for another test running at the same time:
// its files start with prefix, and only those are replaced.
func newCameraNamed(t *testing.T, prefix string) *camera {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Screenshots of an earlier run go, so that a page renamed or removed
	// leaves no stale picture behind.
	old, err := filepath.Glob(filepath.Join(dir, prefix+"[0-9][0-9]-*.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	axe, err := os.ReadFile(filepath.Join("testdata", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	return &camera{t: t, dir: dir, prefix: prefix, axeSource: string(axe)}
}

// repoRoot is the directory of go.mod, above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

type viewport struct {
	name          string
	width, height int64
	opts          []chromedp.EmulateViewportOption
}

var viewports = []viewport{
	{"desktop", desktopWidth, desktopHeight, nil},
	{"phone", phoneWidth, phoneHeight, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch}},
}

// visit screenshots the page at each size and checks it there.
func (c *camera) visit(b *tab, name string) {
	b.t.Helper()
	c.n++
	for _, vp := range viewports {
		b.do("resize to "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, vp.opts...))
		b.settle()
		shot := run(b, "screenshot "+name, chromedp.FullScreenshot(100))
		file := filepath.Join(c.dir, fmt.Sprintf("%s%02d-%s-%s.png", c.prefix, c.n, name, vp.name))
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			b.t.Fatal(err)
		}
		c.checkPage(b, name+" ("+vp.name+")")
	}
	b.do("resize to desktop", chromedp.EmulateViewport(desktopWidth, desktopHeight))
	b.settle()
}

// docs writes a full-page desktop screenshot of the page for the README.
func (c *camera) docs(b *tab, file string) {
	b.t.Helper()
	shot := run(b, "screenshot for the README", chromedp.FullScreenshot(100))
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		b.t.Fatal(err)
	}
	if got := img.Bounds().Dx(); got != desktopWidth {
		b.t.Errorf("README screenshot %d px wide; want %d", got, desktopWidth)
	}
	if len(shot) > 200<<10 {
		b.t.Errorf("README screenshot is %d KB; want it under 200 KB", len(shot)>>10)
	}
	path := filepath.Join(repoRoot(b.t), "docs", "screenshots", file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("wrote %s (%d KB)", path, len(shot)/1024)
}

// violation is one failed axe-core rule on a page.
type violation struct {
	ID, Impact, Help, HelpURL string
	Nodes                     []string
}

// axe runs axe-core on the page shown, injecting it first. Runtime.evaluate
// is not subject to the page's CSP, so the pages need no relaxation.
func (c *camera) axe(b *tab) []violation {
	b.t.Helper()
	if !eval[bool](b, `typeof axe !== "undefined"`) {
		run(b, "inject axe-core", chromedp.Evaluate[chromedp.Void](c.axeSource))
	}
	return eval[[]violation](b, `axe.run(document, {resultTypes: ["violations"]}).then((r) => r.violations.map((v) => ({
  ID: v.id, Impact: v.impact || "", Help: v.help, HelpURL: v.helpUrl,
  Nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.html.slice(0, 160)),
})))`)
}

// checkPage runs axe-core and the house rules on the page shown.
func (c *camera) checkPage(b *tab, name string) {
	b.t.Helper()
	for _, v := range c.axe(b) {
		msg := fmt.Sprintf("%s: axe %s (%s): %s\n\t%s\n\t%s", name, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"), v.HelpURL)
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Error(msg)
		} else if _, dup := c.seen.LoadOrStore(v.ID+name, true); !dup {
			b.t.Log(msg)
		}
	}

	type facts struct {
		Title       string
		Unlabelled  []string
		ScrollWidth float64
		Width       float64
	}
	f := eval[facts](b, `({
  Title: document.title,
  Unlabelled: [...document.querySelectorAll("input, select, textarea")]
    .filter((el) => el.type !== "hidden" && (!el.labels || el.labels.length === 0))
    .map((el) => el.outerHTML.slice(0, 120)),
  ScrollWidth: document.documentElement.scrollWidth,
  Width: window.innerWidth,
})`)
	if !strings.HasSuffix(f.Title, " — twofold") {
		b.t.Errorf("%s: title %q; want it to end in \" — twofold\"", name, f.Title)
	}
	for _, in := range f.Unlabelled {
		b.t.Errorf("%s: field without a label: %s", name, in)
	}
	if f.ScrollWidth > f.Width {
		b.t.Errorf("%s: page is %.0f px wide in a %.0f px window: it scrolls sideways", name, f.ScrollWidth, f.Width)
	}
}
