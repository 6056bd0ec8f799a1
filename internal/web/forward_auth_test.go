package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The pages of forward-auth: administrators list the protected apps (bad
// input answered next to its field); the sign-in page, sent ?rd= by a
// proxy, returns to the app after the sign-in (or at once when signed in),
// via enrollment for an app that requires 2FA, and never to another site;
// the sign-out page changes nothing until its button is pressed, then
// returns to the app.
func TestForwardAuthPages(t *testing.T) {
	s := newSite(t)
	admin := adminBrowser(t, s)
	page := admin.page(appsPath)
	wantText(t, page, "No apps are listed")
	for _, tt := range []struct {
		form   url.Values
		status int
		field  string
	}{
		{url.Values{"host": {"https://app.example.com/"}, "access": {"everyone"}}, http.StatusUnprocessableEntity, "host"},
		{url.Values{"host": {"app.example.com"}, "path_prefix": {"admin"}, "access": {"everyone"}}, http.StatusUnprocessableEntity, "path_prefix"},
		{url.Values{"host": {"app.example.com"}, "access": {"sometimes"}}, http.StatusUnprocessableEntity, "access"},
	} {
		r := admin.post(appsPath, tt.form)
		wantStatus(t, r, tt.status)
		if tt.field == "access" { // a select, not an input
			wantText(t, r, `aria-describedby="access-error"`, `<p class="field-error" id="access-error">`)
		} else if msg := fieldError(t, r, tt.field); msg == "" {
			t.Errorf("POST %s %v: no message next to %s", appsPath, tt.form, tt.field)
		}
	}
	wantRedirect(t, admin.post(appsPath, url.Values{"host": {"App.Example.com"}, "access": {"everyone"}}), appsPath)
	wantRedirect(t, admin.post(appsPath, url.Values{"host": {"secure.example.com"}, "access": {"everyone"}, "require_two_factor": {"on"}}), appsPath)
	r := admin.post(appsPath, url.Values{"host": {"app.example.com"}, "access": {"admins"}})
	wantStatus(t, r, http.StatusConflict)
	if fieldError(t, r, "host") == "" {
		t.Error("a duplicate app: no message next to host")
	}
	wantText(t, admin.page(appsPath), "<code>app.example.com</code>", "<code>secure.example.com</code>")
	r = admin.post(appsPath+"/default", url.Values{"default_access": {"sometimes"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantText(t, r, `<p class="field-error" id="default_access-error">`)
	wantRedirect(t, admin.post(appsPath+"/default", url.Values{"default_access": {"everyone"}}), appsPath)
	wantText(t, admin.page("/admin/users"), `href="/admin/apps"`)

	member := s.browser(t)
	member.signUp(testPhone)
	wantStatus(t, member.get(appsPath), http.StatusForbidden)

	// Signed in already: straight back to the app; never to another site.
	wantRedirect(t, member.get("/signin?rd="+url.QueryEscape("https://app.example.com/x?y=1")), "https://app.example.com/x?y=1")
	for _, rd := range []string{"https://evil.example/", "//evil.example", "https://app.example.com@evil.example/", "javascript:alert(1)"} {
		wantRedirect(t, member.get("/signin?rd="+url.QueryEscape(rd)), "/me")
	}
	// (The refusal is logged by the service: cmd/twofold's proxies test reads it.)

	// The sign-out page changes nothing; its button signs out and returns.
	back := "https://app.example.com/"
	r = member.page("/signout?rd=" + url.QueryEscape(back))
	wantText(t, r, `action="/signout"`, `value="`+back+`"`, testEmail)
	member.page("/me")
	wantRedirect(t, member.post("/signout", url.Values{"rd": {back}}), back)
	wantRedirect(t, member.get("/me"), "/signin")
	// A hostile rd on the sign-out page is dropped, and the POST does not
	// follow one either (it signs out to the sign-in page).
	wantNoText(t, member.page("/signout?rd="+url.QueryEscape("https://evil.example/")), "evil.example")
	wantRedirect(t, member.post("/signout", url.Values{"rd": {"https://evil.example/"}}), "/signin")

	// Sent by the proxy without a session: the sign-in page, then back.
	wantText(t, member.page("/signin?rd="+url.QueryEscape("https://app.example.com/after")), `name="password"`)
	wantRedirect(t, member.post("/signin", url.Values{"email": {testEmail}, "password": {testPassword}}), "https://app.example.com/after")
	// An app that requires 2FA: enrollment first, then back to the app.
	wantRedirect(t, member.get("/signin?rd="+url.QueryEscape("https://secure.example.com/z")), "/me/two-factor/enable")
	member.enableTwoFactorThen("https://secure.example.com/z")
	// Plain sign-in afterwards: My info (the rd was used up).
	wantRedirect(t, member.post("/signout", nil), "/signin")
	member.page("/signin")
	member.signIn("/signin/two-factor")
}

// enableTwoFactorThen enables 2FA on the setup page and wants to be sent
// to want; the clock then moves on a step.
func (b *browser) enableTwoFactorThen(want string) {
	b.t.Helper()
	setup := b.page("/me/two-factor/enable")
	secret := strings.ReplaceAll(shownSecret(b.t, setup), " ", "")
	wantRedirect(b.t, b.post("/me/two-factor/enable", url.Values{"code": {b.site.env.Code(b.t, secret)}}), want)
}
