package api

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

// Signing up answers the same whether or not the email has an account, so
// the answer tells nobody which emails do (SECURITY.md promise 3). Only the
// mail differs: a link for a new email, a warning to an existing owner.
func TestSignUpAnswersAlikeForNewAndExistingEmails(t *testing.T) {
	env, srv := newServer(t)
	env.SignUp(t, account.SignUpInput{Email: "owner@example.com", Password: anaPassword, Name: "Owner"}, account.Client{IP: "192.0.2.1"})
	// An email with a sign-up started but not confirmed: still no account.
	if err := env.Service.StartSignUp(context.Background(), account.SignUpInput{Email: "pending@example.com", Password: anaPassword, Name: "Pending"}, account.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, email string
		mailed      account.EventKind // the newest message to the email
	}{
		{"new email", "new@example.com", account.NotificationSignUpLink},
		{"existing account", "owner@example.com", account.EventSignUpAttempt},
		{"existing account, other case", "OWNER@Example.com", account.EventSignUpAttempt},
		{"pending sign-up", "pending@example.com", account.NotificationSignUpLink},
	}
	var first *result
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := outbox(t, env)
			res := newClient(t, srv).send("POST", "/api/v1/signup", jsonBody(t, map[string]string{
				"email": tc.email, "password": "another long password", "name": "Someone",
			}))
			var body signUpResponse
			wantJSON(t, "sign up "+tc.email, res, http.StatusAccepted, &body)
			if body.Status != "confirmation_sent" {
				t.Errorf("status member = %q; want %q", body.Status, "confirmation_sent")
			}
			if sc := res.header.Values("Set-Cookie"); len(sc) > 0 {
				t.Errorf("Set-Cookie %q; want none before the link is used", sc)
			}
			if first == nil {
				first = res
			} else {
				if res.status != first.status || !bytes.Equal(res.body, first.body) {
					t.Errorf("answer %d %q; want the same as for %s: %d %q", res.status, res.body, tests[0].email, first.status, first.body)
				}
				if got, want := comparableHeader(res.header), comparableHeader(first.header); !maps.EqualFunc(got, want, slices.Equal) {
					t.Errorf("headers %v; want the same as for %s: %v", got, tests[0].email, want)
				}
			}

			added := newMessages(before, outbox(t, env))
			if len(added) != 1 {
				t.Fatalf("sign up queued %d messages; want 1: %v", len(added), added)
			}
			if n := added[0]; !strings.EqualFold(n.Recipient, tc.email) || n.Kind != tc.mailed {
				t.Errorf("queued %q to %q; want %q to %q", n.Kind, n.Recipient, tc.mailed, strings.ToLower(tc.email))
			}
		})
	}
}

// comparableHeader is the response header without the members that differ
// per request anyway.
func comparableHeader(h http.Header) http.Header {
	out := h.Clone()
	out.Del("Date")
	out.Del("X-Request-Id")
	return out
}

func outbox(t *testing.T, env *accounttest.Env) []*account.Notification {
	t.Helper()
	msgs, err := env.Store.Notifications(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// newMessages is what after holds that before did not.
func newMessages(before, after []*account.Notification) []*account.Notification {
	seen := map[int64]bool{}
	for _, n := range before {
		seen[n.ID] = true
	}
	var added []*account.Notification
	for _, n := range after {
		if !seen[n.ID] {
			added = append(added, n)
		}
	}
	return added
}

// theLink stands for the token of the link mailed at sign-up.
const theLink = "(the mailed link)"

type confirmStep struct {
	advance  time.Duration // the clock moves this much first
	token    string
	password string
	status   int
	code     string // problem code when status >= 400
}

// Confirming a sign-up: the link and the password chosen at sign-up create
// the account and sign it in; a link is used once, for an hour, and takes
// a few wrong passwords only. The link is checked before the password, and
// an empty password is a slip, not a guess.
func TestConfirmSignUp(t *testing.T) {
	const wrong = "not the password"
	right := func(adv time.Duration) confirmStep {
		return confirmStep{advance: adv, token: theLink, password: anaPassword, status: http.StatusCreated}
	}
	gone := confirmStep{token: theLink, password: anaPassword, status: http.StatusGone, code: "signup_link_invalid"}
	wrongPassword := confirmStep{token: theLink, password: wrong, status: http.StatusUnauthorized, code: "invalid_credentials"}
	tests := []struct {
		name  string
		steps []confirmStep
	}{
		{"right password", []confirmStep{right(0)}},
		{"wrong password, then the right one", []confirmStep{wrongPassword, right(0)}},
		{"used twice", []confirmStep{right(0), gone}},
		{"just before the hour is up", []confirmStep{right(time.Hour - time.Second)}},
		{"expired", []confirmStep{{advance: time.Hour + time.Second, token: theLink, password: anaPassword, status: http.StatusGone, code: "signup_link_invalid"}}},
		{"garbage token, then the real one", []confirmStep{
			{token: "garbage", password: anaPassword, status: http.StatusGone, code: "signup_link_invalid"},
			right(0),
		}},
		{"empty token", []confirmStep{{token: "", password: anaPassword, status: http.StatusGone, code: "signup_link_invalid"}}},
		{"token too long", []confirmStep{{token: strings.Repeat("A", 200), password: anaPassword, status: http.StatusGone, code: "signup_link_invalid"}}},
		{"empty password is not a guess", []confirmStep{
			{token: theLink, password: "", status: http.StatusUnprocessableEntity, code: "validation_failed"},
			wrongPassword, wrongPassword, wrongPassword, wrongPassword, right(0),
		}},
		{"empty password after a wrong one is not a guess either", []confirmStep{
			wrongPassword,
			{token: theLink, password: "", status: http.StatusUnprocessableEntity, code: "validation_failed"},
			{token: theLink, password: "", status: http.StatusUnprocessableEntity, code: "validation_failed"},
			wrongPassword, wrongPassword, wrongPassword, right(0),
		}},
		{"invalid link with an empty password", []confirmStep{
			{token: "garbage", password: "", status: http.StatusGone, code: "signup_link_invalid"},
			right(0),
		}},
		{"expired link with an empty password", []confirmStep{
			{advance: time.Hour + time.Second, token: theLink, password: "", status: http.StatusGone, code: "signup_link_invalid"},
		}},
		// The link's wrong passwords used up, it never works again: gone,
		// not a 429 that waiting could not cure.
		{"five wrong passwords spend the link", []confirmStep{
			wrongPassword, wrongPassword, wrongPassword, wrongPassword, wrongPassword,
			gone,
			{token: theLink, password: wrong, status: http.StatusGone, code: "signup_link_invalid"},
		}},
		{"used link with an empty password", []confirmStep{
			right(0),
			{token: theLink, password: "", status: http.StatusGone, code: "signup_link_invalid"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, srv := newServer(t)
			c := newClient(t, srv)
			wantJSON(t, "sign up", c.send("POST", "/api/v1/signup", jsonBody(t, map[string]string{
				"email": anaEmail, "password": anaPassword, "name": "Ana", "mobile_phone": "+61412345678",
			})), http.StatusAccepted, nil)
			link := env.SignUpLink(t, anaEmail)

			created := false
			for i, step := range tc.steps {
				env.Clock.Advance(step.advance)
				token := step.token
				if token == theLink {
					token = link
				}
				what := "confirm #" + strconv.Itoa(i+1)
				res := c.send("POST", "/api/v1/signup/confirm", jsonBody(t, map[string]string{"token": token, "password": step.password}))
				if step.status >= 400 {
					wantProblem(t, what, res, step.status, step.code)
					continue
				}
				var me meResponse
				wantJSON(t, what, res, step.status, &me)
				if want := (meResponse{Email: anaEmail, Name: "Ana", MobilePhone: "+61412345678", Role: "member"}); me != want {
					t.Errorf("%s: body %+v; want %+v", what, me, want)
				}
				if loc := res.header.Get("Location"); loc != "/api/v1/me" {
					t.Errorf("%s: Location %q; want /api/v1/me", what, loc)
				}
				wantJSON(t, "GET /me after "+what, c.send("GET", "/api/v1/me", ""), http.StatusOK, nil)
				created = true
			}

			// The account exists exactly when a confirmation succeeded.
			signIn := newClient(t, srv).send("POST", "/api/v1/session", jsonBody(t, map[string]string{"email": anaEmail, "password": anaPassword}))
			if got := signIn.status == http.StatusOK; got != created {
				t.Errorf("sign in afterwards = %d %s; want an account only if a confirmation succeeded (%v)", signIn.status, signIn.body, created)
			}
			if !created && c.token() != "" {
				t.Errorf("session cookie %q without a successful confirmation", c.token())
			}
		})
	}
}

// Two sign-ups for one email mail two links; once one is used, the other
// finds the email taken and is no longer valid.
func TestConfirmSignUpOtherLinkOfTheSameEmail(t *testing.T) {
	env, srv := newServer(t)
	c := newClient(t, srv)
	body := jsonBody(t, map[string]string{"email": anaEmail, "password": anaPassword, "name": "Ana"})
	wantJSON(t, "first sign up", c.send("POST", "/api/v1/signup", body), http.StatusAccepted, nil)
	older := env.SignUpLink(t, anaEmail)
	wantJSON(t, "second sign up", c.send("POST", "/api/v1/signup", body), http.StatusAccepted, nil)
	newer := env.SignUpLink(t, anaEmail)
	if newer == older {
		t.Fatalf("both sign-ups mailed the token %q", older)
	}
	wantJSON(t, "confirm the newer link", c.send("POST", "/api/v1/signup/confirm", jsonBody(t, map[string]string{"token": newer, "password": anaPassword})), http.StatusCreated, nil)
	wantProblem(t, "confirm the older link", newClient(t, srv).send("POST", "/api/v1/signup/confirm", jsonBody(t, map[string]string{"token": older, "password": anaPassword})), http.StatusGone, "signup_link_invalid")
}

// Confirming while holding another session ends that session: the client
// is now the new account only.
func TestConfirmSignUpEndsPreviousSession(t *testing.T) {
	env, srv := newServer(t)
	c := signedUp(t, env, srv, "bob@example.com", "")
	before := c.token()
	res := c.signUp(env, map[string]string{"email": anaEmail, "password": anaPassword, "name": "Ana"})
	var me meResponse
	wantJSON(t, "confirm while signed in", res, http.StatusCreated, &me)
	if me.Email != anaEmail {
		t.Errorf("confirm body email %q; want %q", me.Email, anaEmail)
	}
	if after := c.token(); after == "" || after == before {
		t.Errorf("token after confirm = %q; want a new one (was %q)", after, before)
	}
	if _, err := env.Service.Session(context.Background(), before); err == nil {
		t.Error("the previous session is still valid after confirming a sign-up")
	}
}

// Past 3 messages to one address within the hour, sign-ups for it mail
// nothing more, and the answer stays the same 202: signing up cannot flood
// an inbox, nor tell that the cap was reached.
func TestSignUpCapsMessagesPerAddress(t *testing.T) {
	env, srv := newServer(t)
	body := jsonBody(t, map[string]string{"email": anaEmail, "password": anaPassword, "name": "Ana"})
	var first *result
	for i := range 5 {
		res := newClient(t, srv).send("POST", "/api/v1/signup", body)
		wantJSON(t, "sign up #"+strconv.Itoa(i+1), res, http.StatusAccepted, nil)
		if first == nil {
			first = res
		} else if !bytes.Equal(res.body, first.body) || !maps.EqualFunc(comparableHeader(res.header), comparableHeader(first.header), slices.Equal) {
			t.Errorf("sign up #%d answered %q %v; want the same as the first: %q %v", i+1, res.body, res.header, first.body, first.header)
		}
	}
	if n := len(outbox(t, env)); n != 3 {
		t.Errorf("outbox holds %d messages; want 3", n)
	}
	// The links that were mailed still work.
	wantJSON(t, "confirm", newClient(t, srv).send("POST", "/api/v1/signup/confirm", jsonBody(t, map[string]string{
		"token": env.SignUpLink(t, anaEmail), "password": anaPassword,
	})), http.StatusCreated, nil)
}
