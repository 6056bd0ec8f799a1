package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/httpauth"
)

// newInviteOnlySite is a site whose accounts are made by invitation, the
// product's default.
func newInviteOnlySite(t *testing.T) *site {
	t.Helper()
	env := accounttest.New(t, func(p *account.Policy) { p.OpenSignUp = false })
	logs := &accounttest.LogBuffer{}
	h, err := New(env.Service, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &site{env: env, srv: srv, logs: logs}
}

func linkPath(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != invitationPath {
		t.Errorf("invitation link %q: path %q; want %q", link, u.Path, invitationPath)
	}
	return u.RequestURI()
}

// The setup link's page asks for the email, name and password of the first
// administrator and signs them in; used again it is the 410 page.
func TestSetupLinkPage(t *testing.T) {
	s := newInviteOnlySite(t)
	link, err := s.env.Service.CreateSetupLink(t.Context())
	if err != nil || link == "" {
		t.Fatalf("CreateSetupLink = %q, %v", link, err)
	}
	path := linkPath(t, link)
	b := s.browser(t)
	page := b.page(path)
	wantText(t, page, "Create the administrator account", `name="email"`, `name="name"`, `name="password"`, "Create account")
	token := hiddenToken(t, page)

	// A bad email is a message next to the field, and what was typed stays.
	res := b.post("/invite", url.Values{"token": {token}, "email": {"not an email"}, "name": {"Ada"}, "password": {testPassword}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if fieldError(t, res, "email") == "" || !strings.Contains(res.body, `value="Ada"`) {
		t.Errorf("a bad email: want a message next to the email and the name kept\n%s", excerpt(res.body))
	}
	res = b.post("/invite", url.Values{"token": {token}, "email": {"ada@example.com"}, "name": {"Ada"}, "password": {testPassword}})
	wantRedirect(t, res, "/me")
	wantText(t, b.page("/me"), "ada@example.com")
	u, err := s.env.Store.UserByEmail(t.Context(), "ada@example.com")
	if err != nil || u.Role != account.RoleAdmin {
		t.Errorf("the setup link's account = %+v, %v; want an administrator", u, err)
	}

	other := s.browser(t)
	wantStatus(t, other.get(path), http.StatusGone)
	res = other.post("/invite", url.Values{"token": {token}, "email": {"eve@example.com"}, "name": {"Eve"}, "password": {testPassword}})
	wantStatus(t, res, http.StatusGone)
	wantText(t, res, "This invitation cannot be used")
}

// An invitation's page shows the invited email, which cannot be changed,
// and makes that account.
func TestInvitationPage(t *testing.T) {
	s := newInviteOnlySite(t)
	admin := s.browser(t)
	link, _ := s.env.Service.CreateSetupLink(t.Context())
	adminToken := hiddenToken(t, admin.page(linkPath(t, link)))
	wantRedirect(t, admin.post("/invite", url.Values{"token": {adminToken}, "email": {"ada@example.com"}, "name": {"Ada"}, "password": {testPassword}}), "/me")
	sess, err := s.env.Service.Authenticate(t.Context(), admin.sessionToken())
	if err != nil {
		t.Fatal(err)
	}
	_, invitation, err := s.env.Service.Invite(t.Context(), sess, account.InviteInput{Email: "bo@example.com", Role: account.RoleMember}, account.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	bo := s.browser(t)
	page := bo.page(linkPath(t, invitation))
	wantText(t, page, "Accept your invitation", "bo@example.com")
	wantNoText(t, page, `name="email"`)
	res := bo.post("/invite", url.Values{"token": {hiddenToken(t, page)}, "email": {"mallory@example.com"}, "name": {"Bo"}, "password": {testPassword}})
	wantRedirect(t, res, "/me")
	wantText(t, bo.page("/me"), "bo@example.com")
	if _, err := s.env.Store.UserByEmail(t.Context(), "mallory@example.com"); err == nil {
		t.Error("the email sent with the form replaced the invited one")
	}
}

// With sign-up by invitation the sign-up page says so instead of showing
// the form, and a posted sign-up is refused (403) with nothing queued.
func TestSignUpPageByInvitation(t *testing.T) {
	s := newInviteOnlySite(t)
	b := s.browser(t)
	page := b.page("/signup")
	wantText(t, page, "Accounts are by invitation")
	wantNoText(t, page, `name="password"`)
	res := b.post("/signup", url.Values{"name": {"Bo"}, "email": {"bo@example.com"}, "password": {testPassword}})
	wantStatus(t, res, http.StatusForbidden)
	wantText(t, res, "Accounts are by invitation")
	if messages, _ := s.env.Store.Notifications(t.Context(), 10); len(messages) != 0 {
		t.Errorf("a refused sign-up queued %d messages", len(messages))
	}
}

// sessionToken is the session cookie the browser holds.
func (b *browser) sessionToken() string {
	b.t.Helper()
	u, _ := url.Parse(b.site.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == httpauth.CookieName {
			return c.Value
		}
	}
	b.t.Fatal("no session cookie")
	return ""
}
