package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var autofocusInput = regexp.MustCompile(`<(?:input|textarea) id="([a-z_]+)"[^>]*\sautofocus[\s>]`)

// autofocused returns the ids of the inputs that carry autofocus.
func autofocused(r *response) []string {
	var ids []string
	for _, m := range autofocusInput.FindAllStringSubmatch(r.body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// Focus lands on the first field with a problem (the autofocus attribute,
// no script needed), on the one field of a single-purpose page, and
// nowhere on other pages.
func TestAutofocus(t *testing.T) {
	s := newSite(t)
	valid := url.Values{"name": {testName}, "email": {testEmail}, "password": {testPassword}, "mobile_phone": {testPhone}}
	with := func(change url.Values) url.Values {
		form := url.Values{}
		for k, v := range valid {
			form[k] = v
		}
		for k, v := range change {
			form[k] = v
		}
		return form
	}

	anon := s.browser(t)
	const focusEmail = "focus@example.com"
	tests := []struct {
		name string
		do   func() *response
		want string // "" means no field
	}{
		{"sign-up page", func() *response { return anon.get("/signup") }, ""},
		{"sign-up, two problems", func() *response {
			return anon.post("/signup", with(url.Values{"name": {" "}, "mobile_phone": {"+61 2 9876 5432"}}))
		}, "name"},
		{"sign-up, phone only", func() *response {
			return anon.post("/signup", with(url.Values{"mobile_phone": {"+61 2 9876 5432"}}))
		}, "mobile_phone"},
		{"sign-in page", func() *response { return anon.get("/signin") }, ""},
		{"check your inbox", func() *response {
			return anon.post("/signup", with(url.Values{"email": {focusEmail}}))
		}, ""},
		{"finish signing up", func() *response {
			return anon.get(signUpConfirmPath + "?token=" + url.QueryEscape(s.env.SignUpLink(t, focusEmail)))
		}, "password"},
		{"finish signing up, wrong password", func() *response {
			return anon.post(signUpConfirmPath, url.Values{"token": {s.env.SignUpLink(t, focusEmail)}, "password": {"not it at all"}})
		}, "password"},
		{"finish signing up, no password", func() *response {
			return anon.post(signUpConfirmPath, url.Values{"token": {s.env.SignUpLink(t, focusEmail)}, "password": {""}})
		}, "password"},
		{"link expired", func() *response { return anon.get(signUpConfirmPath + "?token=nope") }, ""},
	}

	b := s.browser(t)
	b.signUp(testPhone)
	tests = append(tests, []struct {
		name string
		do   func() *response
		want string
	}{
		{"My info", func() *response { return b.get("/me") }, ""},
		{"My info, bad phone", func() *response {
			return b.post("/me", url.Values{"name": {testName}, "mobile_phone": {"0412"}})
		}, "mobile_phone"},
		{"setup page", func() *response { return b.get("/me/two-factor/enable") }, ""},
		{"setup page, wrong code", func() *response {
			return b.post("/me/two-factor/enable", url.Values{"code": {"12"}})
		}, "code"},
		{"confirm password", func() *response { return b.get("/confirm-password?next=/me") }, "password"},
		{"change password", func() *response { return b.get("/me/password") }, ""},
		{"change password, nothing", func() *response {
			return b.post("/me/password", url.Values{"current_password": {""}, "new_password": {""}})
		}, "current_password"},
		{"change password, short new password", func() *response {
			return b.post("/me/password", url.Values{"current_password": {testPassword}, "new_password": {"short"}})
		}, "new_password"},
		{"change password, wrong current password", func() *response {
			return b.post("/me/password", url.Values{"current_password": {"not it at all"}, "new_password": {"a new long password"}})
		}, "current_password"},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(autofocused(tt.do()), " ")
			if got != tt.want {
				t.Errorf("autofocus on %q; want %q", got, tt.want)
			}
		})
	}

	secret := b.enableTwoFactor()
	wantRedirect(t, b.post("/signout", nil), "/signin")

	wrong := b.post("/signin", url.Values{"email": {testEmail}, "password": {"not it at all"}})
	wantStatus(t, wrong, http.StatusUnauthorized)
	if got := strings.Join(autofocused(wrong), " "); got != "password" {
		t.Errorf("after a wrong password, autofocus on %q; want %q (the email is kept)", got, "password")
	}
	b.signIn("/signin/two-factor")
	for _, path := range []string{"/signin/two-factor", "/signin/two-factor?method=backup"} {
		if got := strings.Join(autofocused(b.page(path)), " "); got != "code" {
			t.Errorf("GET %s: autofocus on %q; want %q", path, got, "code")
		}
	}
	r := b.post("/signin/two-factor", url.Values{"code": {s.env.WrongCode(t, secret)}})
	if got := strings.Join(autofocused(r), " "); got != "code" {
		t.Errorf("wrong code: autofocus on %q; want %q", got, "code")
	}
}

// Generating backup codes says so on the page that shows them, and says
// that the old ones stopped working when there were old ones.
func TestBackupCodesFlash(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	b.enableTwoFactor()
	first := b.post("/me/backup-codes", nil)
	wantStatus(t, first, http.StatusOK)
	wantText(t, first, `<div class="flash flash-success" role="status">`, "<strong>Backup codes generated</strong>")
	again := b.post("/me/backup-codes", nil)
	wantText(t, again, "<strong>New backup codes generated — the old ones no longer work</strong>")
}
