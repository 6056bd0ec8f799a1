package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// The link DisavowLink writes is served by the "This wasn't me" page.
func TestDisavowLinkPath(t *testing.T) {
	u, err := url.Parse(DisavowLink("https://x.test")("tok-en_1"))
	if err != nil || u.Path != disavowPath || u.Query().Get("token") != "tok-en_1" {
		t.Errorf("DisavowLink = %v, %v; want path %s with the token", u, err, disavowPath)
	}
}

// A security email's link opens a page that says which email it came in
// and asks for the password, changing nothing; the password signs every
// session out (this browser's and another's) and the page says so, with a
// way to sign in; a wrong password is said next to the field; a used or
// unknown link gets a 410 page.
func TestDisavowPage(t *testing.T) {
	s := newSite(t)
	a := s.browser(t)
	a.signUp(testPhone)
	secret := a.enableTwoFactor()
	other := s.browser(t)
	other.signIn("/signin/two-factor")
	wantRedirect(t, other.post("/signin/two-factor", url.Values{"code": {s.env.Code(t, secret)}}), "/me")

	token := s.env.DisavowLink(t, testEmail, account.EventTwoFactorEnabled)
	link := disavowPath + "?token=" + url.QueryEscape(token)

	page := a.page(link)
	wantText(t, page, "<h1>This wasn't me</h1>", "2 factor authentication is on", `name="password"`, "Sign out everywhere")
	if got := hiddenToken(t, page); got != token {
		t.Errorf("hidden token = %q; want the link's", got)
	}
	if cc := page.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", cc)
	}
	a.page("/me") // the GET changed nothing
	other.page("/me")

	wrong := a.post(disavowPath, url.Values{"token": {token}, "password": {"not the password"}})
	wantStatus(t, wrong, http.StatusUnauthorized)
	if msg := fieldError(t, wrong, "password"); msg != msgWrongDisavowPassword {
		t.Errorf("wrong password: field error %q; want %q", msg, msgWrongDisavowPassword)
	}
	a.page("/me") // still signed in

	done := a.post(disavowPath, url.Values{"token": {token}, "password": {testPassword}})
	wantStatus(t, done, http.StatusOK)
	wantText(t, done, "<h1>You are signed out everywhere</h1>", "change your password", `href="/signin"`)
	if c := cookieNamed(done.header, httpauth.CookieName); c == nil || c.MaxAge >= 0 {
		t.Errorf("session cookie after the link: %v; want it cleared", c)
	}
	wantRedirect(t, a.get("/me"), "/signin")
	wantRedirect(t, other.get("/me"), "/signin")

	again := other.post(disavowPath, url.Values{"token": {token}, "password": {testPassword}})
	wantStatus(t, again, http.StatusGone)
	wantText(t, again, "<h1>This link cannot be used</h1>", "Nothing was changed")
	wantStatus(t, other.get(link), http.StatusGone)
	wantStatus(t, other.get(disavowPath+"?token=garbage"), http.StatusGone)
	if strings.Contains(s.logs.String(), token) {
		t.Error("the link's token was logged")
	}
}

func cookieNamed(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
