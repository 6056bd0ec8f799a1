package web

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/totp"
)

// The code page tells a person whose phone's clock is 3 minutes behind
// what is wrong and what to do, next to the field.
func TestClockDriftMessage(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	secret := b.enableTwoFactor()
	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/signin/two-factor")
	key, err := totp.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := b.post("/signin/two-factor", url.Values{"code": {totp.Code(key, s.env.Clock.Now().Add(-3*time.Minute))}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	want := "This code was right about 3 minutes ago: your phone's clock is behind. Set it to automatic date and time, then type the next code."
	if got := fieldError(t, r, "code"); got != want {
		t.Errorf("code field message = %q; want %q", got, want)
	}
	r = b.post("/signin/two-factor", url.Values{"code": {s.env.WrongCode(t, secret)}})
	if got := fieldError(t, r, "code"); got != msgWrongCode {
		t.Errorf("a plain wrong code: message %q; want %q", got, msgWrongCode)
	}
}
