package browsertest

import (
	"fmt"
	"net/url"
	"testing"
)

// Headings and labels of the administrators' pages.
const (
	headingSetup      = "Create the administrator account"
	headingInvitation = "Accept your invitation"
	headingUsers      = "Users"
	labelInviteEmail  = "Email"
	labelInviteLink   = "Invitation link"
	labelRequire      = "Require 2FA for all users"
	labelGrace        = "Grace period (days)"
)

// TestAdministrator walks a new install by the words on its pages (issue
// 11): the setup link from the log makes the administrator, who turns 2FA
// on, invites one person from the Users page and one through the API,
// switches on "Require 2FA for all users" with 0 days, and both invited
// people are walked through enrollment (mobile number, QR code, code,
// backup codes) before anything else. Every page is screenshotted and
// checked with axe-core at desktop and phone sizes.
func TestAdministrator(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "--signup", "invite")
	cam := newCameraNamed(t, "admin-")
	ada := openTab(t, srv)

	ada.open(srv.setupPath(t))
	ada.wantPage(headingSetup)
	cam.visit(ada, "setup-link")
	ada.fill(labelEmail, "ada@example.com")
	ada.fill(labelName, "Ada Admin")
	ada.fill(labelPassword, userPassword)
	ada.click("Create account")
	ada.wantPage(headingMyInfo)
	ada.fill(labelPhone, userPhone)
	ada.click("Save")
	ada.enableTwoFactor()

	ada.click("Users")
	ada.wantPage(headingUsers)
	cam.visit(ada, "users")
	ada.fill(labelInviteEmail, "bo@example.com")
	ada.click("Send invitation")
	ada.wantPage(headingUsers)
	ada.wantText("Invitation sent to bo@example.com")
	cam.visit(ada, "users-invited")
	boLink := ada.value(labelInviteLink)

	// The second through the API, from the administrator's own session.
	cyLink := eval[string](ada, `fetch("/api/v1/admin/invitations", {method: "POST", headers: {"Content-Type": "application/json"},
  body: JSON.stringify({email: "cy@example.com", role: "member"})}).then((r) => r.json()).then((j) => j.url || "")`)
	if cyLink == "" {
		t.Fatal("POST /api/v1/admin/invitations from the administrator's page gave no link")
	}

	ada.open("/admin/users")
	ada.tick(labelRequire)
	ada.fill(labelGrace, "0")
	ada.click("Save settings")
	ada.wantPage(headingUsers)
	ada.wantFlash("The settings are saved.")
	cam.visit(ada, "users-require-2fa")

	for i, link := range []string{boLink, cyLink} {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		b := openTab(t, srv)
		b.open(u.RequestURI())
		b.wantPage(headingInvitation)
		if i == 0 {
			cam.visit(b, "invitation")
		}
		b.fill(labelName, "Invited Person")
		b.fill(labelPassword, userPassword)
		b.click("Create account")
		b.wantPage(headingMyInfo)
		// Anything but enrolling leads back to it: the number first.
		b.open("/me/password")
		b.wantPage(headingMyInfo)
		b.wantFlash("2 factor authentication is required.")
		if i == 0 {
			cam.visit(b, "enroll-number")
		}
		b.fill(labelPhone, userPhone)
		b.click("Save")
		b.open("/me/password")
		b.wantPage(headingEnable)
		b.wantFlash("2 factor authentication is required.")
		if i == 0 {
			cam.visit(b, "enroll-qr")
		}
		q := b.scanQR()
		app := &authenticator{secret: q.Secret}
		b.fill(labelVerify, app.code(t))
		b.click("Enable 2 factor authentication")
		b.wantPage(headingMyInfo)
		b.generateBackupCodes()
		b.open("/me/password")
		b.wantPage(headingChange)
	}

	// A used invitation, and sign-up by invitation, as a stranger sees them.
	stranger := openTab(t, srv)
	u, err := url.Parse(boLink)
	if err != nil {
		t.Fatal(err)
	}
	if status := stranger.open(u.RequestURI()); status != 410 {
		t.Errorf("a used invitation: status %d; want 410", status)
	}
	stranger.wantPage("This invitation cannot be used")
	cam.visit(stranger, "invitation-used")
	stranger.open("/signup")
	stranger.wantPage("Accounts are by invitation")
	cam.visit(stranger, "sign-up-by-invitation")

	ada.open("/admin/users?status=enabled")
	ada.wantText("bo@example.com", "cy@example.com", "compliant")
	cam.visit(ada, "users-compliant")
}

// With a grace period the deadline is on every page of an account without
// 2FA, and the Users page says "in grace until".
func TestGracePeriodBanner(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "--signup", "invite")
	cam := newCameraNamed(t, "grace-")
	ada := openTab(t, srv)
	ada.open(srv.setupPath(t))
	ada.fill(labelEmail, "ada@example.com")
	ada.fill(labelName, "Ada Admin")
	ada.fill(labelPassword, userPassword)
	ada.click("Create account")
	ada.fill(labelPhone, userPhone)
	ada.click("Save")
	ada.enableTwoFactor()
	ada.click("Users")
	ada.tick(labelRequire)
	ada.fill(labelGrace, "7")
	ada.click("Save settings")
	ada.fill(labelInviteEmail, "bo@example.com")
	ada.click("Send invitation")
	u, err := url.Parse(ada.value(labelInviteLink))
	if err != nil {
		t.Fatal(err)
	}
	bo := openTab(t, srv)
	bo.open(u.RequestURI())
	bo.fill(labelName, "Bo")
	bo.fill(labelPassword, userPassword)
	bo.click("Create account")
	bo.wantPage(headingMyInfo)
	bo.wantText("2 factor authentication is required by")
	cam.visit(bo, "my-info-grace")
	bo.click("Change password")
	bo.wantPage(headingChange)
	bo.wantText("2 factor authentication is required by")
	ada.open("/admin/users?status=grace")
	ada.wantText("bo@example.com", "in grace until")
	cam.visit(ada, "users-grace")
}

// tick clicks the checkbox labelled label, as a person does, and fails
// unless it is then ticked.
func (b *tab) tick(label string) {
	b.t.Helper()
	id := b.control(label)
	eval[any](b, fmt.Sprintf(`(() => { document.getElementById(%q).click(); return null; })()`, id))
	if !eval[bool](b, fmt.Sprintf(`document.getElementById(%q).checked`, id)) {
		b.t.Fatalf("%s: %q is not ticked after a click", b.where(), label)
	}
}
