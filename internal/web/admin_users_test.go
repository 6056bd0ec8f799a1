package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// adminBrowser makes the first administrator through the setup link.
func adminBrowser(t *testing.T, s *site) *browser {
	t.Helper()
	link, err := s.env.Service.CreateSetupLink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser(t)
	token := hiddenToken(t, b.page(linkPath(t, link)))
	wantRedirect(t, b.post("/invite", url.Values{"token": {token}, "email": {"ada@example.com"}, "name": {"Ada"}, "password": {testPassword}}), "/me")
	return b
}

var invitationLink = regexp.MustCompile(`value="(http[^"]+/invite\?token=[^"]+)"`)

// The Users page: an administrator invites from it (the link is shown for
// servers without mail), the invited person joins, and the administrator
// deactivates them, which ends their session at once; the last
// administrator cannot be demoted; members get the 403 page, and there is
// no Users link in their header.
func TestUsersPage(t *testing.T) {
	s := newInviteOnlySite(t)
	ada := adminBrowser(t, s)
	page := ada.page("/me")
	wantText(t, page, `href="/admin/users"`)
	page = ada.page("/admin/users")
	wantText(t, page, "Users", "Invite someone", "ada@example.com", "Administrator")

	res := ada.post("/admin/invitations", url.Values{"email": {"bo@example.com"}, "role": {"member"}})
	wantStatus(t, res, http.StatusOK)
	wantText(t, res, "Invitation sent to bo@example.com", "copy the link", "Pending invitations")
	m := invitationLink.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("the invitation's link is not shown:\n%s", excerpt(res.body))
	}
	bo := s.browser(t)
	invite := bo.page(linkPath(t, m[1]))
	wantRedirect(t, bo.post("/invite", url.Values{"token": {hiddenToken(t, invite)}, "name": {"Bo"}, "password": {testPassword}}), "/me")
	wantNoText(t, bo.page("/me"), `href="/admin/users"`)
	wantStatus(t, bo.get("/admin/users"), http.StatusForbidden)

	// A bad email is a message next to the field.
	res = ada.post("/admin/invitations", url.Values{"email": {"not an email"}, "role": {"member"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if fieldError(t, res, "email") == "" {
		t.Errorf("a bad email on the Users page: no message next to the field\n%s", excerpt(res.body))
	}

	boUser, err := s.env.Store.UserByEmail(t.Context(), "bo@example.com")
	if err != nil {
		t.Fatal(err)
	}
	adaUser, _ := s.env.Store.UserByEmail(t.Context(), "ada@example.com")
	res = ada.post("/admin/users/"+strconv.FormatInt(adaUser.ID, 10), url.Values{"action": {"demote"}})
	wantStatus(t, res, http.StatusConflict)
	wantText(t, res, "last active administrator")

	wantRedirect(t, ada.post("/admin/users/"+strconv.FormatInt(boUser.ID, 10), url.Values{"action": {"deactivate"}}), "/admin/users")
	wantText(t, ada.page("/admin/users"), "The account is deactivated.", "Deactivated", "Reactivate")
	wantRedirect(t, bo.get("/me"), "/signin")

	// After 10 minutes an administrator's action asks for the password again.
	s.env.Clock.Advance(11 * time.Minute)
	wantRedirect(t, ada.post("/admin/users/"+strconv.FormatInt(boUser.ID, 10), url.Values{"action": {"reactivate"}}), "/confirm-password?next=%2Fadmin%2Fusers")
	if u, _ := s.env.Store.UserByEmail(t.Context(), "bo@example.com"); u.DeactivatedAt.IsZero() {
		t.Error("the action without a recent password was carried out")
	}
}

// A deactivated account's right password gets a plain message on the
// sign-in page (403); a wrong one the usual one.
func TestSignInOfADeactivatedAccount(t *testing.T) {
	s := newInviteOnlySite(t)
	ada := adminBrowser(t, s)
	res := ada.post("/admin/invitations", url.Values{"email": {"bo@example.com"}, "role": {"member"}})
	m := invitationLink.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatal("no invitation link shown")
	}
	bo := s.browser(t)
	wantRedirect(t, bo.post("/invite", url.Values{"token": {hiddenToken(t, bo.page(linkPath(t, m[1])))}, "name": {"Bo"}, "password": {testPassword}}), "/me")
	u, _ := s.env.Store.UserByEmail(t.Context(), "bo@example.com")
	wantRedirect(t, ada.post("/admin/users/"+strconv.FormatInt(u.ID, 10), url.Values{"action": {"deactivate"}}), "/admin/users")
	again := s.browser(t)
	res = again.post("/signin", url.Values{"email": {"bo@example.com"}, "password": {testPassword}})
	wantStatus(t, res, http.StatusForbidden)
	wantText(t, res, "This account is deactivated")
	res = again.post("/signin", url.Values{"email": {"bo@example.com"}, "password": {"not the password"}})
	wantStatus(t, res, http.StatusUnauthorized)
	wantNoText(t, res, "deactivated")
}

// With 2FA required, an invited member without it is led to enrollment
// from every other page (first the mobile number, then the QR code); with
// a grace period every page shows the deadline instead.
func TestRequireTwoFactorPages(t *testing.T) {
	s := newInviteOnlySite(t)
	ada := adminBrowser(t, s)
	// The administrator needs 2FA on to require it.
	res := ada.post("/admin/settings", url.Values{"require_two_factor": {"on"}, "grace_period_days": {"0"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantText(t, res, "Enable 2 factor authentication for your own account first.")
	ada.post("/me", url.Values{"name": {"Ada"}, "mobile_phone": {"+61 412 345 678"}})
	ada.enableTwoFactor()
	wantRedirect(t, ada.post("/admin/settings", url.Values{"require_two_factor": {"on"}, "grace_period_days": {"0"}}), "/admin/users")
	wantText(t, ada.page("/admin/users"), "The settings are saved.", `name="require_two_factor" type="checkbox"`, "checked")

	res = ada.post("/admin/invitations", url.Values{"email": {"bo@example.com"}, "role": {"member"}})
	m := invitationLink.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatal("no invitation link shown")
	}
	bo := s.browser(t)
	wantRedirect(t, bo.post("/invite", url.Values{"token": {hiddenToken(t, bo.page(linkPath(t, m[1])))}, "name": {"Bo"}, "password": {testPassword}}), "/me")
	wantRedirect(t, bo.get("/me/password"), "/me#mobile_phone")
	wantText(t, bo.page("/me"), "2 factor authentication is required.")
	bo.post("/me", url.Values{"name": {"Bo"}, "mobile_phone": {"+61 412 345 678"}})
	wantRedirect(t, bo.get("/me/password"), "/me/two-factor/enable")
	bo.enableTwoFactor()
	wantStatus(t, bo.get("/me/password"), http.StatusOK)

	// Grace: the deadline on every page of someone without 2FA.
	wantRedirect(t, ada.post("/admin/settings", url.Values{"require_two_factor": {"on"}, "grace_period_days": {"7"}}), "/admin/users")
	res = ada.post("/admin/invitations", url.Values{"email": {"cy@example.com"}, "role": {"member"}})
	m = invitationLink.FindStringSubmatch(res.body)
	cy := s.browser(t)
	wantRedirect(t, cy.post("/invite", url.Values{"token": {hiddenToken(t, cy.page(linkPath(t, m[1])))}, "name": {"Cy"}, "password": {testPassword}}), "/me")
	wantText(t, cy.page("/me"), "2 factor authentication is required by")
	wantText(t, cy.page("/me/password"), "2 factor authentication is required by")
	grace := ada.page("/admin/users?status=grace")
	wantText(t, grace, "cy@example.com", "in grace until")
	accounts := grace.body[strings.Index(grace.body, `id="accounts-heading"`):strings.Index(grace.body, `id="audit-heading"`)]
	if strings.Contains(accounts, "bo@example.com") || !strings.Contains(accounts, "cy@example.com") {
		t.Errorf("the accounts in grace list bo (who has 2FA) or miss cy:\n%s", accounts)
	}
}

// An administrator resets a member's 2FA from its page, with a reason on a
// server that cannot text (none: a message, nothing changes); the
// member's sessions end, and the reason is in the audit log and the
// member's activity.
func TestResetTwoFactorFromUsersPage(t *testing.T) {
	s := newInviteOnlySite(t)
	ada := adminBrowser(t, s)
	res := ada.post("/admin/invitations", url.Values{"email": {"bo@example.com"}, "role": {"member"}})
	m := invitationLink.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatal("no invitation link shown")
	}
	bo := s.browser(t)
	wantRedirect(t, bo.post("/invite", url.Values{"token": {hiddenToken(t, bo.page(linkPath(t, m[1])))}, "name": {"Bo"}, "password": {testPassword}}), "/me")
	bo.post("/me", url.Values{"name": {"Bo"}, "mobile_phone": {"+61 412 345 678"}})
	bo.enableTwoFactor()
	u, _ := s.env.Store.UserByEmail(t.Context(), "bo@example.com")
	path := "/admin/users/" + strconv.FormatInt(u.ID, 10) + "/reset-two-factor"
	wantText(t, ada.page("/admin/users"), `href="`+path+`"`)
	wantText(t, ada.page(path), "Reset 2FA for Bo", "Text messages are not set up on this server", `action="`+path+`"`, `id="reason"`)

	res = ada.post(path, url.Values{"reason": {""}})
	wantStatus(t, res, http.StatusConflict)
	if got := fieldError(t, res, "reason"); got != "Check that it is them first with a texted code, or say here how you checked." {
		t.Errorf("reset without a reason: reason message %q", got)
	}
	if u, _ := s.env.Store.UserByEmail(t.Context(), "bo@example.com"); !u.TwoFactorEnabled() {
		t.Fatal("a reset without a reason turned 2FA off")
	}
	wantRedirect(t, ada.post(path, url.Values{"reason": {"Called back on the number on file"}}), "/admin/users")
	if u, _ := s.env.Store.UserByEmail(t.Context(), "bo@example.com"); u.TwoFactorEnabled() {
		t.Error("2FA is still on after the reset")
	}
	wantRedirect(t, bo.get("/me"), "/signin")
	wantText(t, ada.page("/admin/users"), "reset_two_factor: without phone verification: Called back on the number on file")
}

// A bad id on the Users page is a 404 that leaves the administrator signed
// in; withdrawing an invitation that was accepted meanwhile says so.
func TestUsersPageBadInput(t *testing.T) {
	s := newInviteOnlySite(t)
	ada := adminBrowser(t, s)
	for _, path := range []string{"/admin/users/abc", "/admin/users/0", "/admin/users/99999999999999999999", "/admin/users/424242"} {
		res := ada.post(path, url.Values{"action": {"deactivate"}})
		if res.status != http.StatusNotFound {
			t.Errorf("POST %s = %d (Location %q); want 404", path, res.status, res.location())
		}
	}
	res := ada.post("/admin/users/424242/reset-two-factor", url.Values{"reason": {"checked by phone"}})
	wantStatus(t, res, http.StatusNotFound)
	wantStatus(t, ada.get("/me"), http.StatusOK) // still signed in

	res = ada.post("/admin/invitations", url.Values{"email": {"bo@example.com"}, "role": {"member"}})
	m := invitationLink.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatal("no invitation link shown")
	}
	invs, _ := s.env.Store.Invitations(t.Context(), 10)
	bo := s.browser(t)
	wantRedirect(t, bo.post("/invite", url.Values{"token": {hiddenToken(t, bo.page(linkPath(t, m[1])))}, "name": {"Bo"}, "password": {testPassword}}), "/me")
	wantRedirect(t, ada.post("/admin/invitations/"+strconv.FormatInt(invs[0].ID, 10)+"/revoke", nil), "/admin/users")
	wantText(t, ada.page("/admin/users"), "That invitation is no longer pending.")
	wantStatus(t, ada.post("/admin/invitations/x/revoke", nil), http.StatusNotFound)
}
