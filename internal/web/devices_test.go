package web

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/totp"
)

var forgetDeviceForm = regexp.MustCompile(`action="(/me/devices/\d+/forget)"`)

// The code page offers "Remember this device for 30 days"; ticked, the
// next sign-in from this browser goes straight to My info, which lists the
// device with Forget and Forget all; forgotten, the code is asked again.
func TestRememberDevicePages(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	secret := b.enableTwoFactor()
	wantRedirect(t, b.post("/signout", nil), "/signin")

	b.signIn("/signin/two-factor")
	code := b.page("/signin/two-factor")
	wantText(t, code, "Remember this device for 30 days", `name="remember_device" type="checkbox"`)
	wantText(t, b.page("/signin/two-factor?method=backup"), "Remember this device for 30 days")

	// A wrong code keeps the box as it was ticked.
	wrong := b.post("/signin/two-factor", url.Values{"code": {s.env.WrongCode(t, secret)}, "remember_device": {"on"}})
	wantStatus(t, wrong, http.StatusUnprocessableEntity)
	wantText(t, wrong, `name="remember_device" type="checkbox" checked`)

	wantRedirect(t, b.post("/signin/two-factor", url.Values{"code": {s.env.Code(t, secret)}, "remember_device": {"on"}}), "/me")
	s.env.Clock.Advance(totp.Period)
	me := b.page("/me")
	wantText(t, me, "Remembered devices", "(this browser)", "Forget all", "Device remembered")

	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/me")

	// Another browser is still asked for the code, and sees its device as not its own.
	other := s.browser(t)
	other.signIn("/signin/two-factor")
	wantRedirect(t, other.post("/signin/two-factor", url.Values{"code": {s.env.Code(t, secret)}}), "/me")
	s.env.Clock.Advance(totp.Period)
	otherMe := other.page("/me")
	wantText(t, otherMe, "Remembered devices", "Forget")
	wantNoText(t, otherMe, "(this browser)")

	m := forgetDeviceForm.FindStringSubmatch(b.page("/me").body)
	if m == nil {
		t.Fatal("My info has no Forget button for the device")
	}
	wantRedirect(t, b.post(m[1], nil), "/me#devices")
	wantText(t, b.page("/me"), "The device is forgotten.", "No device is remembered.")
	// Forgetting it again (another tab) says the same, not an error.
	wantRedirect(t, b.post(m[1], nil), "/me#devices")
	wantStatus(t, b.get("/me/devices/1/forget"), http.StatusNotFound) // no state change on GET
	wantStatus(t, b.post("/me/devices/abc/forget", nil), http.StatusNotFound)

	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/signin/two-factor")
	wantRedirect(t, b.post("/signin/two-factor", url.Values{"code": {s.env.Code(t, secret)}, "remember_device": {"on"}}), "/me")
	wantRedirect(t, b.post("/me/devices/forget", nil), "/me#devices")
	wantText(t, b.page("/me"), "Every remembered device is forgotten.")
	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/signin/two-factor")
}

// With --remember-device-days 0 the box is not offered, and ticking it
// anyway (a crafted form) remembers nothing.
func TestRememberDeviceOff(t *testing.T) {
	s := newSiteWith(t, Options{}, func(p *account.Policy) { p.RememberDevice = 0 })
	b := s.browser(t)
	b.signUp(testPhone)
	secret := b.enableTwoFactor()
	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/signin/two-factor")
	wantNoText(t, b.page("/signin/two-factor"), "Remember this device")
	wantRedirect(t, b.post("/signin/two-factor", url.Values{"code": {s.env.Code(t, secret)}, "remember_device": {"on"}}), "/me")
	wantNoText(t, b.page("/me"), "Remembered devices")
	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/signin/two-factor")
}
