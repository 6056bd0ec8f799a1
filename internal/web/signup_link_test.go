package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

// The link SignUpLink writes is served by the page that finishes a
// sign-up: routes.go spells the path out, and this keeps the two together.
func TestSignUpLinkServed(t *testing.T) {
	env := accounttest.New(t)
	h, err := New(env.Service, Options{})
	if err != nil {
		t.Fatal(err)
	}
	get := func(t *testing.T, token string) *httptest.ResponseRecorder {
		t.Helper()
		link := SignUpLink("http://x")(token)
		u, err := url.Parse(link)
		if err != nil {
			t.Fatalf("SignUpLink(%q) = %q: %v", token, link, err)
		}
		if u.Path != signUpConfirmPath {
			t.Errorf("SignUpLink path %q; want %q", u.Path, signUpConfirmPath)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", u.RequestURI(), nil))
		return w
	}

	w := get(t, "garbage")
	if w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "<h1>This link has expired</h1>") {
		t.Errorf("GET of a garbage link: status %d; want 410 and the expired page\n%s", w.Code, w.Body)
	}

	if err := env.Service.StartSignUp(t.Context(), account.SignUpInput{Name: testName, Email: testEmail, Password: testPassword}, account.Client{IP: "192.0.2.3"}); err != nil {
		t.Fatalf("StartSignUp = %v", err)
	}
	w = get(t, env.SignUpLink(t, testEmail))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<h1>Finish signing up</h1>") {
		t.Errorf("GET of a working link: status %d; want 200 and the page that finishes signing up\n%s", w.Code, w.Body)
	}
}
