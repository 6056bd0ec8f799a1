package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/httpauth"
)

// textMessages is the policy of a server with an SMS sender.
func textMessages(p *account.Policy) { p.TextMessages = true }

const anaPhone = "+61412345678"

// apiAdmin returns a client signed in as the first administrator, through
// the setup link.
func apiAdmin(t *testing.T, env *accounttest.Env, srv *httptest.Server) *apiClient {
	t.Helper()
	link, err := env.Service.CreateSetupLink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	token, ok := accounttest.LinkToken(link)
	if !ok {
		t.Fatalf("no token in the setup link %q", link)
	}
	c := newClient(t, srv)
	body := jsonBody(t, map[string]string{"token": token, "email": "ada@example.com", "name": "Ada", "password": anaPassword})
	wantJSON(t, "accept the setup link", c.send("POST", "/api/v1/invitations/accept", body), 201, nil)
	return c
}

var apiTextedCode = regexp.MustCompile(`verification code: (\d{6})\.`)

// textedCode is the code of the newest verification text to phone in the
// outbox (newest first).
func textedCode(t *testing.T, env *accounttest.Env, phone string) string {
	t.Helper()
	for _, m := range outbox(t, env) {
		if m.Channel == account.ChannelSMS && m.Recipient == phone {
			if c := apiTextedCode.FindStringSubmatch(m.Body); c != nil {
				return c[1]
			}
		}
	}
	t.Fatalf("no verification text to %s in the outbox", phone)
	return ""
}

// otherCode is a 6-digit code that is not code.
func otherCode(code string) string {
	if code == "111111" {
		return "222222"
	}
	return "111111"
}

func userID(t *testing.T, env *accounttest.Env, email string) int64 {
	t.Helper()
	u, err := env.Store.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func (c *apiClient) helpRequests(what string) []helpRequestResponse {
	c.t.Helper()
	var list helpRequestsResponse
	wantJSON(c.t, what, c.send("GET", "/api/v1/admin/help-requests", ""), 200, &list)
	return list.HelpRequests
}

// "Lost your phone?" through the API: a half-signed-in session asks for
// help (202, once while open; 401 without a session, 409 for a full one);
// the administrator lists it, texts a code to the number on file (202;
// 3 an hour, then 429), checks the code read back (422 not 6 digits, 401
// wrong, 410 once tried 5 times wrongly or used, 200 right), and resets
// without a reason only after a right code (409 phone_not_verified
// before): the sessions end, the request is resolved, the audit log names
// the administrator and how the phone was checked. Members get 403
// everywhere, half-signed-in sessions 401.
func TestLostPhoneThroughTheAPI(t *testing.T) {
	env, srv := newServer(t, textMessages)
	ada := apiAdmin(t, env, srv)
	pending := halfSignedIn(t, env, srv, anaEmail) // ana, 2FA on, phone +61412345678
	ana := userID(t, env, anaEmail)
	bo := signedUp(t, env, srv, "bo@example.com", "") // a member, no phone
	boID := userID(t, env, "bo@example.com")
	anon := newClient(t, srv)

	// The person asks.
	wantProblem(t, "help request without a session", anon.send("POST", "/api/v1/session/help-request", `{"message":"hi"}`), 401, "unauthenticated")
	wantProblem(t, "help request of a full session", bo.send("POST", "/api/v1/session/help-request", `{"message":"hi"}`), 409, "already_authenticated")
	wantProblem(t, "help request, message too long", pending.send("POST", "/api/v1/session/help-request",
		jsonBody(t, map[string]string{"message": strings.Repeat("x", 501)})), 422, "validation_failed")
	var st statusOnly
	wantJSON(t, "help request", pending.send("POST", "/api/v1/session/help-request", `{"message":"Lost it on the train"}`), 202, &st)
	if st.Status != "help_requested" {
		t.Errorf("help request: status %q; want help_requested", st.Status)
	}
	wantJSON(t, "help request again", pending.send("POST", "/api/v1/session/help-request", `{}`), 202, &st)

	// The administrator sees it; nobody else does.
	reqs := ada.helpRequests("help requests")
	if len(reqs) != 1 || reqs[0].UserID != ana || reqs[0].Email != anaEmail || reqs[0].Name != "Test User" ||
		reqs[0].Message != "Lost it on the train" || reqs[0].IP == "" || reqs[0].CreatedAt == "" {
		t.Fatalf("help requests = %+v; want ana's one request with its message", reqs)
	}

	path := fmt.Sprintf("/api/v1/admin/users/%d/", ana)
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/v1/admin/help-requests", ""},
		{"POST", path + "phone-verification", ""},
		{"POST", path + "phone-verification/check", `{"code":"123456"}`},
		{"POST", path + "reset-two-factor", `{}`},
		{"POST", path + "two-factor/reset", `{"reason":"I know her"}`},
	} {
		wantProblem(t, "member: "+r.method+" "+r.path, bo.send(r.method, r.path, r.body), 403, "forbidden")
		wantProblem(t, "half-signed-in: "+r.method+" "+r.path, pending.send(r.method, r.path, r.body), 401, "two_factor_required")
		wantProblem(t, "no session: "+r.method+" "+r.path, anon.send(r.method, r.path, r.body), 401, "unauthenticated")
	}
	if n := len(outbox(t, env)); n == 0 {
		t.Fatal("outbox empty")
	}
	for _, m := range outbox(t, env) {
		if m.Channel == account.ChannelSMS {
			t.Fatalf("a text was queued by a refused request: %+v", m)
		}
	}

	wantProblem(t, "send to an account without a phone", ada.send("POST", fmt.Sprintf("/api/v1/admin/users/%d/phone-verification", boID), ""), 409, "no_mobile_phone")
	wantProblem(t, "send to no such account", ada.send("POST", "/api/v1/admin/users/9999/phone-verification", ""), 404, "not_found")
	wantProblem(t, "send with a body", ada.send("POST", path+"phone-verification", `{"to":"+15555550100"}`), 400, "invalid_request")

	// A first code: not digits, five wrong codes, then even the right one is too late.
	var sent phoneVerificationResponse
	wantJSON(t, "send a code", ada.send("POST", path+"phone-verification", ""), 202, &sent)
	if sent.Status != "code_sent" || sent.SentTo != anaPhone {
		t.Errorf("send a code = %+v; want code_sent to %s", sent, anaPhone)
	}
	if at, err := time.Parse(time.RFC3339, sent.ExpiresAt); err != nil || !at.Equal(env.Clock.Now().Add(10*time.Minute)) {
		t.Errorf("expires_at %q; want 10 minutes from now (%v)", sent.ExpiresAt, env.Clock.Now().Add(10*time.Minute))
	}
	code := textedCode(t, env, anaPhone)
	check := func(code string) *result {
		return ada.send("POST", path+"phone-verification/check", jsonBody(t, map[string]string{"code": code}))
	}
	p := wantProblem(t, "check non-digits", check("12ab56"), 422, "validation_failed")
	if p.Errors["code"] == "" {
		t.Errorf("check non-digits: errors = %v; want a message for code", p.Errors)
	}
	wantProblem(t, "check without a code", ada.send("POST", path+"phone-verification/check", `{}`), 422, "validation_failed")
	for i := 1; i <= 5; i++ {
		wantProblem(t, fmt.Sprintf("wrong code #%d", i), check(otherCode(code)), 401, "invalid_code")
	}
	wantProblem(t, "the right code after 5 wrong ones", check(code), 410, "phone_code_expired")
	wantProblem(t, "reset without a verification or a reason", ada.send("POST", path+"reset-two-factor", `{}`), 409, "phone_not_verified")

	// A second code, read back right.
	wantJSON(t, "send a second code", ada.send("POST", path+"phone-verification", `{}`), 202, nil)
	second := textedCode(t, env, anaPhone)
	wantProblem(t, "the first code", check(code), 401, "invalid_code")
	var verified verifiedResponse
	wantJSON(t, "the right code, with spaces", check(second[:3]+" "+second[3:]), 200, &verified)
	if !verified.Verified {
		t.Errorf("check = %+v; want verified", verified)
	}
	wantProblem(t, "the right code again", check(second), 410, "phone_code_expired")

	// The reset, on that verification.
	var reset adminUserResponse
	wantJSON(t, "reset after the verification", ada.send("POST", path+"reset-two-factor", `{}`), 200, &reset)
	if reset.ID != ana || reset.TwoFactorEnabled {
		t.Errorf("reset = %+v; want ana with 2FA off", reset)
	}
	wantProblem(t, "ana's half-signed-in session after the reset", pending.send("POST", "/api/v1/session/help-request", `{}`), 401, "unauthenticated")
	if reqs := ada.helpRequests("help requests after the reset"); len(reqs) != 0 {
		t.Errorf("help requests after the reset = %+v; want none", reqs)
	}
	after := newClient(t, srv)
	signIn(t, after, anaEmail, anaPassword, account.StageComplete)
	// Her activity says who reset it, and how her phone was checked.
	var events eventsResponse
	wantJSON(t, "ana's events", after.send("GET", "/api/v1/me/events", ""), 200, &events)
	kinds := map[account.EventKind]string{}
	for _, e := range events.Events {
		kinds[e.Kind] = e.Detail
	}
	if d := kinds[account.EventTwoFactorReset]; d != "by ada@example.com: phone verified by text message" {
		t.Errorf("ana's reset event detail = %q; want it to name ada and the phone check (events %+v)", d, events.Events)
	}
	mails := map[string]int{}
	for _, m := range outbox(t, env) {
		if m.Channel == account.ChannelEmail {
			mails[string(m.Kind)+" to "+m.Recipient]++
		}
	}
	if mails[string(account.EventHelpRequested)+" to ada@example.com"] != 1 || mails[string(account.EventTwoFactorReset)+" to "+anaEmail] != 1 {
		t.Errorf("mails = %v; want one help request to ada and one reset notice to ana", mails)
	}
	if _, ok := kinds[account.EventHelpRequested]; !ok {
		t.Errorf("ana's events = %+v; want her help request among them", events.Events)
	}

	var audit auditResponse
	wantJSON(t, "audit", ada.send("GET", "/api/v1/admin/audit", ""), 200, &audit)
	var found bool
	for _, e := range audit.Entries {
		if e.Target == anaEmail && e.Actor == "ada@example.com" && e.Detail == "phone verified by text message" {
			found = true
		}
	}
	if !found {
		t.Errorf("audit = %+v; want ana's reset by ada@example.com, phone verified by text message", audit.Entries)
	}

	// The third text this hour is the last one; and a code sent after a
	// verification replaces it.
	wantJSON(t, "a third code", ada.send("POST", path+"phone-verification", ""), 202, nil)
	res := ada.send("POST", path+"phone-verification", "")
	wantProblem(t, "a fourth code within the hour", res, 429, "throttled")
	if res.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}

	// The verification was used up: a second reset of a re-enrolled ana needs a new one.
	c := newClient(t, srv)
	signIn(t, c, anaEmail, anaPassword, account.StageComplete)
	var setup setupResponse
	wantJSON(t, "setup again", c.send("POST", "/api/v1/me/two-factor/setup", ""), 200, &setup)
	wantJSON(t, "enable again", c.send("POST", "/api/v1/me/two-factor/enable", jsonBody(t, map[string]string{"code": env.Code(t, setup.Secret)})), 200, nil)
	wantProblem(t, "a second reset on the same verification", ada.send("POST", path+"reset-two-factor", `{}`), 409, "phone_not_verified")
	// The old path, with a reason: no verification needed.
	wantProblem(t, "the old path without a reason", ada.send("POST", path+"two-factor/reset", `{}`), 409, "phone_not_verified")
	wantProblem(t, "a reason too short", ada.send("POST", path+"two-factor/reset", `{"reason":"ok"}`), 422, "validation_failed")
	wantJSON(t, "the old path with a reason", ada.send("POST", path+"two-factor/reset", `{"reason":"Checked her passport in person"}`), 200, &reset)
	if reset.TwoFactorEnabled {
		t.Errorf("reset with a reason = %+v; want 2FA off", reset)
	}
	wantJSON(t, "audit", ada.send("GET", "/api/v1/admin/audit", ""), 200, &audit)
	if e := audit.Entries[0]; e.Detail != "without phone verification: Checked her passport in person" || e.Actor != "ada@example.com" {
		t.Errorf("newest audit entry = %+v; want the reset with its reason", e)
	}
	wantProblem(t, "reset of an account without 2FA", ada.send("POST", path+"reset-two-factor", `{"reason":"again, why not"}`), 409, "two_factor_not_enabled")
}

// Without an SMS sender, sending a code is 409 sms_unavailable (and a
// number missing is still said first), and a reset needs a reason.
func TestLostPhoneWithoutTexts(t *testing.T) {
	env, srv := newServer(t)
	ada := apiAdmin(t, env, srv)
	halfSignedIn(t, env, srv, anaEmail)
	signedUp(t, env, srv, "bo@example.com", "")
	path := fmt.Sprintf("/api/v1/admin/users/%d/", userID(t, env, anaEmail))
	wantProblem(t, "send without texts", ada.send("POST", path+"phone-verification", ""), 409, "sms_unavailable")
	wantProblem(t, "send without texts, nor a phone", ada.send("POST", fmt.Sprintf("/api/v1/admin/users/%d/phone-verification", userID(t, env, "bo@example.com")), ""), 409, "no_mobile_phone")
	wantProblem(t, "check without a code sent", ada.send("POST", path+"phone-verification/check", `{"code":"123456"}`), 410, "phone_code_expired")
	wantProblem(t, "reset without a reason", ada.send("POST", path+"reset-two-factor", `{}`), 409, "phone_not_verified")
	wantJSON(t, "reset with a reason", ada.send("POST", path+"reset-two-factor", `{"reason":"Video call, she showed her badge"}`), 200, nil)
}

// The people who lose a phone are often the ones whose authenticator is
// suspended after wrong codes: their half-signed-in session can still ask
// for help, and the administrators see it.
func TestHelpRequestFromASuspendedSignIn(t *testing.T) {
	// No throttles: the wrong codes reach the suspension (30), not the
	// code throttle (10) first.
	env, srv := newServer(t, textMessages, accounttest.NoThrottles)
	ada := apiAdmin(t, env, srv)
	s := env.SessionsInEveryState(t, anaPassword, account.Client{})
	c := newClient(t, srv)
	c.http.Jar.SetCookies(mustURL(t, srv.URL), []*http.Cookie{{Name: httpauth.CookieName, Value: s.Suspended}})
	wantProblem(t, "a code while suspended", c.send("POST", "/api/v1/session/two-factor", `{"code":"123456"}`), 401, "authenticator_suspended")
	wantJSON(t, "help request while suspended", c.send("POST", "/api/v1/session/help-request", `{"message":"locked out"}`), 202, nil)
	if reqs := ada.helpRequests("help requests"); len(reqs) != 1 || reqs[0].Email != "suspended@example.com" {
		t.Errorf("help requests = %+v; want the suspended account's", reqs)
	}
}

// A texted code works for 10 minutes; a right one allows a reset without
// a reason for 15 minutes after it was read back, not at 15 minutes.
func TestPhoneVerificationTimes(t *testing.T) {
	env, srv := newServer(t, textMessages)
	ada := apiAdmin(t, env, srv)
	halfSignedIn(t, env, srv, anaEmail)
	path := fmt.Sprintf("/api/v1/admin/users/%d/", userID(t, env, anaEmail))
	check := func(code string) *result {
		return ada.send("POST", path+"phone-verification/check", jsonBody(t, map[string]string{"code": code}))
	}
	// The admin's password was typed at the setup link: keep within its
	// 10 minutes by confirming it again after each wait.
	reauth := func() {
		t.Helper()
		wantJSON(t, "confirm password", ada.send("POST", "/api/v1/session/confirm-password", jsonBody(t, map[string]string{"password": anaPassword})), 200, nil)
	}

	wantJSON(t, "send", ada.send("POST", path+"phone-verification", ""), 202, nil)
	env.Clock.Advance(10 * time.Minute)
	reauth()
	wantProblem(t, "the right code after 10 minutes", check(textedCode(t, env, anaPhone)), 410, "phone_code_expired")

	wantJSON(t, "send again", ada.send("POST", path+"phone-verification", ""), 202, nil)
	env.Clock.Advance(10*time.Minute - time.Second)
	reauth()
	wantJSON(t, "the right code a second before it expires", check(textedCode(t, env, anaPhone)), 200, nil)
	env.Clock.Advance(15 * time.Minute)
	reauth()
	wantProblem(t, "a reset 15 minutes after the verification", ada.send("POST", path+"reset-two-factor", `{}`), 409, "phone_not_verified")
}
