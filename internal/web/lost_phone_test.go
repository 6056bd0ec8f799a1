package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/account"
)

func textMessages(p *account.Policy) { p.TextMessages = true }

var webTextedCode = regexp.MustCompile(`verification code: (\d{6})\.`)

// textedCode reads the code of the newest verification text to phone
// from the outbox (newest first), as the SMS sender would send it.
func textedCode(t *testing.T, s *site, phone string) string {
	t.Helper()
	msgs, err := s.env.Store.Notifications(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Channel == account.ChannelSMS && m.Recipient == phone {
			if c := webTextedCode.FindStringSubmatch(m.Body); c != nil {
				return c[1]
			}
		}
	}
	t.Fatalf("no verification text to %s in the outbox", phone)
	return ""
}

func wrongCode(code string) string {
	if code == "111111" {
		return "222222"
	}
	return "111111"
}

// lostPhoneSite is a site that can text, with an administrator (ada) and
// ana, enrolled with a phone, half-signed-in at the code step.
func lostPhoneSite(t *testing.T) (s *site, ada, ana *browser, anaID int64) {
	t.Helper()
	s = newSiteWith(t, Options{}, textMessages)
	ada = adminBrowser(t, s)
	ana = s.browser(t)
	ana.signUp(testPhone)
	ana.enableTwoFactor()
	// A full session has nothing to do with the lost-phone page.
	wantRedirect(t, ana.get("/signin/lost-phone"), "/me")
	if res := ana.post("/signin/lost-phone", url.Values{"message": {"hi"}}); res.status != http.StatusSeeOther || res.location() != "/me" {
		t.Errorf("POST /signin/lost-phone with a full session = %d to %q; want 303 to /me", res.status, res.location())
	}
	wantRedirect(t, ana.post("/signout", nil), "/signin")
	ana.signIn("/signin/two-factor")
	u, err := s.env.Store.UserByEmail(t.Context(), testEmail)
	if err != nil {
		t.Fatal(err)
	}
	return s, ada, ana, u.ID
}

// The lost-phone way back in the pages: the code page links "Lost your
// phone?"; the page explains the two ways and sends the request; the
// administrator sees it on Users with a badge, opens the account's reset
// page, texts a code, types a wrong one (the message next to the field)
// then the right one, and resets without a reason; the person's session
// has ended and the password alone signs them in.
func TestLostPhonePages(t *testing.T) {
	s, ada, ana, id := lostPhoneSite(t)
	reset := resetPath(id)

	wantText(t, ana.page("/signin/two-factor"), `<a href="/signin/lost-phone">Lost your phone?</a>`)
	anon := s.browser(t)
	for _, res := range []*response{anon.get("/signin/lost-phone"), anon.post("/signin/lost-phone", url.Values{"message": {"hi"}})} {
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location(), "/signin") {
			t.Errorf("%s /signin/lost-phone without a session = %d to %q; want 303 to the sign-in page", res.method, res.status, res.location())
		}
	}
	lost := ana.page("/signin/lost-phone")
	wantText(t, lost, "<h1>Lost your phone?</h1>", "A backup code.", `href="/signin/two-factor?method=backup"`,
		"Ask an administrator.", `action="/signin/lost-phone"`, "Ask an administrator for help")
	res := ana.post("/signin/lost-phone", url.Values{"message": {strings.Repeat("x", 501)}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg := fieldError(t, res, "message"); !strings.Contains(msg, "500") {
		t.Errorf("a 501-character message: %q next to the field; want the limit", msg)
	}
	res = ana.post("/signin/lost-phone", url.Values{"message": {"Lost it on the train"}})
	wantStatus(t, res, http.StatusOK)
	wantText(t, res, "<h1>Your request was sent</h1>", "The administrators were emailed")
	wantNoText(t, res, "Ask an administrator for help")

	users := ada.page("/admin/users")
	wantText(t, users, "Asking for help", `<span class="badge">1</span>`, `<span class="badge">asked for help</span>`,
		"Lost it on the train", `href="`+reset+`"`, "Check and reset")

	page := ada.page(reset)
	wantText(t, page, "<h1>Reset 2FA for "+testName+"</h1>", "Asked for help on", "Lost it on the train",
		"+61 412 345 678", "Send a verification code", "Reason, since the phone is not verified")
	wantNoText(t, page, "Code they read back")

	// Without a verification, a reset needs the reason: said next to it.
	res = ada.post(reset, url.Values{})
	wantStatus(t, res, http.StatusConflict)
	if msg := fieldError(t, res, "reason"); msg == "" {
		t.Error("a reset without a verification or a reason: no message next to the reason")
	}

	wantRedirect(t, ada.post(reset[:strings.LastIndex(reset, "/")]+"/phone-verification", nil), reset)
	page = ada.page(reset)
	wantText(t, page, "A code was texted to the number on file.", "Code they read back", "Check code", "Send a new code")
	code := textedCode(t, s, testPhone)

	check := reset[:strings.LastIndex(reset, "/")] + "/phone-verification/check"
	res = ada.post(check, url.Values{"code": {"12ab56"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg := fieldError(t, res, "code"); !strings.Contains(msg, "6 digits") {
		t.Errorf("a code with letters: %q next to the field; want the 6 digits asked for", msg)
	}
	res = ada.post(check, url.Values{"code": {wrongCode(code)}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg := fieldError(t, res, "code"); !strings.Contains(msg, "not the code") {
		t.Errorf("a wrong code: %q next to the field; want it called wrong", msg)
	}
	wantText(t, res, `value="`+wrongCode(code)+`"`) // kept to correct
	wantRedirect(t, ada.post(check, url.Values{"code": {code}}), reset)
	page = ada.page(reset)
	wantText(t, page, "The phone is verified.", "Phone verified at", "allows one reset until", "Reset 2FA for "+testEmail)
	wantNoText(t, page, "Reason, since the phone is not verified", "Send a verification code")

	wantRedirect(t, ada.post(reset, url.Values{}), "/admin/users")
	users = ada.page("/admin/users")
	wantText(t, users, "2 factor authentication is reset for the account.")
	wantNoText(t, users, "Asking for help", "asked for help")
	wantText(t, ada.page(reset), "2 factor authentication is off for this account")

	// The person: the half-signed-in session is gone; the password alone signs in.
	wantRedirect(t, ana.get("/signin/lost-phone"), "/signin")
	ana.signIn("/me")
}

// Each code the person reads back wrongly is said so, up to the fifth,
// after which a new code must be sent; the administrator is told so on
// the page at the fifth already.
func TestLostPhoneFifthWrongCode(t *testing.T) {
	s, ada, _, id := lostPhoneSite(t)
	base := usersPath + "/" + strconv.FormatInt(id, 10)
	wantRedirect(t, ada.post(base+"/phone-verification", nil), resetPath(id))
	wrong := wrongCode(textedCode(t, s, testPhone))
	for i := 1; i <= 4; i++ {
		res := ada.post(base+"/phone-verification/check", url.Values{"code": {wrong}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		fieldError(t, res, "code")
	}
	// The fifth: the field is gone (the code is spent), so the message
	// is the page's.
	res := ada.post(base+"/phone-verification/check", url.Values{"code": {wrong}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantText(t, res, `role="alert"`, "not the code that was texted", "Send a new one", "Send a verification code")
	wantNoText(t, res, "Code they read back")
	res = ada.post(base+"/phone-verification/check", url.Values{"code": {wrong}})
	wantStatus(t, res, http.StatusGone)
	wantText(t, res, "That code expired or was tried 5 times. Send a new one.")
}

// Members get 403 on every administrator's lost-phone route, and nothing
// is texted; without texts the page offers the reason only.
func TestLostPhoneAdminOnly(t *testing.T) {
	s, _, _, id := lostPhoneSite(t)
	if _, _, err := s.env.Service.SignIn(t.Context(), account.SignInInput{Email: testEmail, Password: testPassword}, account.Client{}); err != nil {
		t.Fatal(err)
	}
	bo := s.browser(t)
	s.env.SignUp(t, account.SignUpInput{Email: "bo@example.com", Password: testPassword, Name: "Bo", MobilePhone: "+61412345679"}, account.Client{})
	wantRedirect(t, bo.post("/signin", url.Values{"email": {"bo@example.com"}, "password": {testPassword}}), "/me")
	base := usersPath + "/" + strconv.FormatInt(id, 10)
	for _, r := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", resetPath(id), nil},
		{"POST", base + "/phone-verification", url.Values{}},
		{"POST", base + "/phone-verification/check", url.Values{"code": {"123456"}}},
		{"POST", resetPath(id), url.Values{"reason": {"I know her well"}}},
	} {
		if res := bo.do(r.method, r.path, r.form); res.status != http.StatusForbidden {
			t.Errorf("member: %s %s = %d; want 403", r.method, r.path, res.status)
		}
	}
	msgs, err := s.env.Store.Notifications(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Channel == account.ChannelSMS {
			t.Errorf("a member's request texted %s", m.Recipient)
		}
	}
	if u, _ := s.env.Store.UserByEmail(t.Context(), testEmail); !u.TwoFactorEnabled() {
		t.Error("a member's reset turned 2FA off")
	}
}

// Without an SMS sender the page says so, and a reason resets.
func TestLostPhonePageWithoutTexts(t *testing.T) {
	s := newSiteWith(t, Options{})
	ada := adminBrowser(t, s)
	ana := s.browser(t)
	ana.signUp(testPhone)
	ana.enableTwoFactor()
	u, _ := s.env.Store.UserByEmail(t.Context(), testEmail)
	page := ada.page(resetPath(u.ID))
	wantText(t, page, "Text messages are not set up on this server", "Reason, since the phone is not verified")
	wantNoText(t, page, "Send a verification code")
	res := ada.post(usersPath+"/"+strconv.FormatInt(u.ID, 10)+"/phone-verification", url.Values{})
	wantStatus(t, res, http.StatusConflict)
	wantText(t, res, "Text messages are not set up on this server.")
	res = ada.post(resetPath(u.ID), url.Values{"reason": {"ok"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg := fieldError(t, res, "reason"); !strings.Contains(msg, "3 to 500") {
		t.Errorf("a 2-character reason: %q next to the field", msg)
	}
	wantText(t, res, `value="ok"`)
	wantRedirect(t, ada.post(resetPath(u.ID), url.Values{"reason": {"Saw her badge in person"}}), "/admin/users")
	if u, _ := s.env.Store.UserByEmail(t.Context(), testEmail); u.TwoFactorEnabled() {
		t.Error("2FA is still on after a reset with a reason")
	}
}

// An administrator dismisses a help request from Users: it leaves the
// list, and 2FA stays as it was.
func TestDismissHelpRequestPage(t *testing.T) {
	_, ada, ana, id := lostPhoneSite(t)
	wantStatus(t, ana.post("/signin/lost-phone", url.Values{"message": {"found a backup code"}}), http.StatusOK)
	wantText(t, ada.page("/admin/users"), "Asking for help", `action="/admin/users/`+strconv.FormatInt(id, 10)+`/help-request/dismiss"`)
	wantRedirect(t, ada.post("/admin/users/"+strconv.FormatInt(id, 10)+"/help-request/dismiss", nil), "/admin/users")
	users := ada.page("/admin/users")
	wantText(t, users, "The help request is dismissed.")
	wantNoText(t, users, "Asking for help", "asked for help")
	// Again (another tab): the same answer, not an error.
	wantRedirect(t, ada.post("/admin/users/"+strconv.FormatInt(id, 10)+"/help-request/dismiss", nil), "/admin/users")
}
