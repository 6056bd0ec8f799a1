package web

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

var (
	recoveryTextCode = regexp.MustCompile(`recovery code: (\d{6})\.`)
	recoveryCancel   = regexp.MustCompile(regexp.QuoteMeta(accounttest.CancelBase) + `\?token=(\S+)`)
)

func (s *site) newestMatch(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	messages, err := s.env.Store.Notifications(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range messages {
		if c := re.FindStringSubmatch(m.Body); c != nil {
			return c[1]
		}
	}
	t.Fatalf("no message matches %v", re)
	return ""
}

// The self-recovery pages: offered on "Lost your phone?" once an
// administrator sets a delay; the texted code starts it; the emailed link
// asks before it cancels; after the delay the password alone signs in and
// leads to enrollment.
func TestSelfRecoveryPages(t *testing.T) {
	s := newSiteWith(t, Options{}, func(p *account.Policy) { p.TextMessages = true })
	ana := s.browser(t)
	ana.signUp(testPhone)
	ana.enableTwoFactor()
	wantRedirect(t, ana.post("/signout", nil), "/signin")
	ana.signIn("/signin/two-factor")
	wantText(t, ana.page("/signin/two-factor"), `href="/signin/lost-phone"`, "Lost your phone?")
	wantNoText(t, ana.page("/signin/lost-phone"), "Recover it yourself")

	ada := adminBrowser(t, s)
	res := ada.post("/admin/settings", url.Values{"grace_period_days": {"0"}, "recovery_delay_hours": {"999"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if got := fieldError(t, res, "recovery_delay_hours"); got == "" {
		t.Error("a delay of 999 hours: no message next to the field")
	}
	wantRedirect(t, ada.post("/admin/settings", url.Values{"grace_period_days": {"0"}, "recovery_delay_hours": {"72"}}), "/admin/users")

	wantText(t, ana.page("/signin/lost-phone"), "Recover it yourself, in 72 hours", "Text me a code")
	wantRedirect(t, ana.post("/signin/recovery/sms", nil), "/signin/recovery")
	wantText(t, ana.page("/signin/recovery"), "Code from the text message", "Start the recovery")
	res = ana.post("/signin/recovery", url.Values{"sms_code": {"12"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	code := s.newestMatch(t, recoveryTextCode)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	res = ana.post("/signin/recovery", url.Values{"sms_code": {wrong}})
	if got := fieldError(t, res, "sms_code"); got != "That is not the code of the text message. Check it and type it again." {
		t.Errorf("a wrong code: %q", got)
	}
	res = ana.post("/signin/recovery", url.Values{"sms_code": {code}})
	wantStatus(t, res, http.StatusOK)
	wantText(t, res, "Recovery started", "sign in with your email and password")
	wantText(t, ana.page("/signin/lost-phone"), "Your recovery is under way.")
	wantText(t, ada.page("/admin/users/1/reset-two-factor"), "A self-recovery is pending.", "Cancel the recovery")

	// The emailed link: GET asks, POST cancels.
	token := s.newestMatch(t, recoveryCancel)
	stranger := s.browser(t)
	confirm := stranger.page("/recovery/cancel?token=" + url.QueryEscape(token))
	wantText(t, confirm, "Cancel this recovery", `name="token"`)
	if _, err := s.env.Service.PendingRecoveryOf(t.Context(), 1); err != nil {
		t.Fatal("GET of the cancel link changed something: the recovery is gone")
	}
	wantText(t, stranger.post("/recovery/cancel", url.Values{"token": {token}}), "The recovery is cancelled")
	wantStatus(t, stranger.post("/recovery/cancel", url.Values{"token": {token}}), http.StatusGone)

	// Again, and this time the delay passes.
	s.env.Clock.Advance(time.Hour)
	ana2 := s.browser(t)
	ana2.signIn("/signin/two-factor")
	wantRedirect(t, ana2.post("/signin/recovery/sms", nil), "/signin/recovery")
	wantStatus(t, ana2.post("/signin/recovery", url.Values{"sms_code": {s.newestMatch(t, recoveryTextCode)}}), http.StatusOK)
	s.env.Clock.Advance(72 * time.Hour)
	ana3 := s.browser(t)
	ana3.signIn("/me/two-factor/enable")
	wantText(t, ana3.page("/me/two-factor/enable"), "Your recovery is complete: 2 factor authentication is off.")
}
