package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// Starting a sign-up answers with the same page, byte for byte, whether or
// not the email has an account, and signs nobody in: the page cannot be
// used to learn which emails have accounts.
func TestSignUpAnswerSameForAnyEmail(t *testing.T) {
	s := newSite(t)
	form := func(email, password string) url.Values {
		return url.Values{"name": {testName}, "email": {email}, "password": {password}, "mobile_phone": {testPhone}}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) // run before the post
		form  url.Values
	}{
		{"new email", func(*testing.T) {}, form(testEmail, testPassword)},
		{"existing email", func(t *testing.T) {
			s.env.SignUp(t, account.SignUpInput{Name: testName, Email: testEmail, Password: testPassword}, account.Client{IP: "192.0.2.1"})
		}, form(testEmail, "another long password")},
		{"existing email typed differently", func(*testing.T) {}, form("  ANA@Example.com ", testPassword)},
	}
	var first *response
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup(t)
			r := s.browser(t).post("/signup", tt.form)
			wantStatus(t, r, http.StatusOK)
			// No SMTP server in this site: the message waits for the operator.
			wantText(t, r, "<title>Ask for your sign-up link — twofold</title>", "<h1>Ask for your sign-up link</h1>",
				"the message for <strong>"+testEmail+"</strong> is not in your inbox: it is waiting for the operator of this server.",
				"<code>twofold outbox list</code>", "<code>twofold outbox show ID</code>",
				"Open the link in the message within 1 hour to finish signing up.",
				`Typed the wrong address? <a href="/signup">Sign up again</a>.`)
			wantNoText(t, r, "Check your inbox", "We sent")
			if c := r.header.Values("Set-Cookie"); len(c) != 0 {
				t.Errorf("Set-Cookie %q; want none", c)
			}
			wantNoText(t, r, testPassword, "already", `class="flash`)
			if first == nil {
				first = r
				return
			}
			if r.status != first.status || r.body != first.body {
				t.Errorf("answer differs from the one for a new email:\n%s\nwant:\n%s", excerpt(r.body), excerpt(first.body))
			}
		})
	}
	checkPages(t, []*response{first})

	// Only the new email got a link (and the one env.SignUp used): the
	// owner of an existing one is told of the attempt instead.
	msgs, err := s.env.Store.Notifications(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	links := 0
	for _, n := range msgs {
		if n.Kind == account.NotificationSignUpLink {
			links++
		}
	}
	if links != 2 {
		t.Errorf("%d sign-up links queued; want 2", links)
	}
}

// With an SMTP server the page after a sign-up says the link was mailed,
// and does not send the person to the operator.
func TestSignUpAnswerWhenMailed(t *testing.T) {
	s := newSiteWith(t, Options{SendsEmail: true})
	r := s.browser(t).post("/signup", url.Values{"name": {testName}, "email": {testEmail}, "password": {testPassword}})
	wantStatus(t, r, http.StatusOK)
	wantText(t, r, "<title>Check your inbox — twofold</title>", "<h1>Check your inbox</h1>",
		"We sent a link to <strong>"+testEmail+"</strong>. Open it within 1 hour to finish signing up.",
		`Didn't get it? Check your spam folder, or <a href="/signup">sign up again</a>.`)
	wantNoText(t, r, "operator", "outbox")
	checkPages(t, []*response{r})
}

// The page a mailed link opens asks for the password chosen at sign-up; a
// wrong one keeps the person there, and the link works until it is used.
func TestSignUpConfirm(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	wantStatus(t, b.post("/signup", url.Values{"name": {testName}, "email": {testEmail}, "password": {testPassword}}), http.StatusOK)
	token := s.env.SignUpLink(t, testEmail)
	path := signUpConfirmPath + "?token=" + url.QueryEscape(token)

	page := b.page(path)
	wantText(t, page, "<title>Finish signing up — twofold</title>", "<h1>Finish signing up</h1>",
		"Signing up as <strong>"+testEmail+"</strong>", `<label for="password">Password</label>`,
		"Enter the password you chose when you signed up.", `<button type="submit">Finish signing up</button>`,
		`<form method="post" action="/signup/confirm"`)
	if got := hiddenToken(t, page); got != token {
		t.Errorf("hidden token %q; want the link's %q", got, token)
	}
	input := regexp.MustCompile(`<input id="password"[^>]*>`).FindString(page.body)
	for _, attr := range []string{`type="password"`, `autocomplete="current-password"`, `aria-describedby="password-hint"`} {
		if !strings.Contains(input, attr) {
			t.Errorf("password input %s lacks %s", input, attr)
		}
	}
	if got := page.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q; want no-store", got)
	}

	// A wrong password is like a wrong sign-in (401); an empty one is a
	// field to fill in (422).
	for _, tt := range []struct {
		password, msg string
		status        int
	}{
		{"not the password", msgWrongSignUpPassword, http.StatusUnauthorized},
		{"", "Enter your password.", http.StatusUnprocessableEntity},
	} {
		r := b.post(signUpConfirmPath, url.Values{"token": {token}, "password": {tt.password}})
		wantStatus(t, r, tt.status)
		if got := fieldError(t, r, "password"); got != tt.msg {
			t.Errorf("password %q: message %q; want %q", tt.password, got, tt.msg)
		}
		wantText(t, r, "<h1>Finish signing up</h1>", "Signing up as <strong>"+testEmail+"</strong>")
		if got := hiddenToken(t, r); got != token {
			t.Errorf("password %q: hidden token %q; want %q", tt.password, got, token)
		}
		if c := r.header.Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("password %q: Set-Cookie %q; want none", tt.password, c)
		}
	}
	wantRedirect(t, b.get("/me"), "/signin")

	wantText(t, b.page(path), "Signing up as") // the link still works
	wantRedirect(t, b.post(signUpConfirmPath, url.Values{"token": {token}, "password": {testPassword}}), "/me")
	me := b.page("/me")
	wantText(t, me, "My info — twofold", testName, testEmail, "Your account is ready.", "Account created")

	// Used: the link is gone, and signing in works with that password.
	wantStatus(t, b.get(path), http.StatusGone)
	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/me")
	checkPages(t, b.pages)
}

// A link that is garbage, missing, used or expired gets the same 410 page,
// for showing the form and for posting it.
func TestSignUpLinkExpired(t *testing.T) {
	s := newSite(t)
	start := func(t *testing.T, email string) string {
		t.Helper()
		if err := s.env.Service.StartSignUp(t.Context(), account.SignUpInput{Name: testName, Email: email, Password: testPassword}, account.Client{IP: "192.0.2.2"}); err != nil {
			t.Fatalf("StartSignUp(%s) = %v", email, err)
		}
		return s.env.SignUpLink(t, email)
	}
	tests := []struct {
		name  string
		token func(t *testing.T) string
	}{
		{"garbage", func(*testing.T) string { return "not-a-token" }},
		{"missing", func(*testing.T) string { return "" }},
		{"too long", func(*testing.T) string { return strings.Repeat("A", 5000) }},
		{"markup", func(*testing.T) string { return `"><x-fuzz>` }},
		{"used", func(t *testing.T) string {
			token := start(t, "used@example.com")
			if _, _, err := s.env.Service.ConfirmSignUp(t.Context(), account.ConfirmSignUpInput{Token: token, Password: testPassword}, account.Client{IP: "192.0.2.2"}); err != nil {
				t.Fatalf("ConfirmSignUp = %v", err)
			}
			return token
		}},
		{"expired", func(t *testing.T) string {
			token := start(t, "late@example.com")
			s.env.Clock.Advance(time.Hour + time.Second)
			return token
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token(t)
			b := s.browser(t)
			for _, r := range []*response{
				b.get(signUpConfirmPath + "?token=" + url.QueryEscape(token)),
				b.post(signUpConfirmPath, url.Values{"token": {token}, "password": {testPassword}}),
			} {
				wantLinkExpired(t, r)
				wantNoText(t, r, "x-fuzz")
			}
			checkPages(t, b.pages)
		})
	}
}

// wantLinkExpired wants the 410 page of a link that no longer works, which
// sets no cookie and asks for no password.
func wantLinkExpired(t *testing.T, r *response) {
	t.Helper()
	wantStatus(t, r, http.StatusGone)
	wantText(t, r, "<title>This link has expired — twofold</title>", "<h1>This link has expired</h1>",
		"Sign-up links work for 1 hour, once, and for a few tries at the password. Sign up again to get a new link, or sign in if you already finished signing up.",
		`<a href="/signup">Sign up again</a>`, `<a href="/signin">Sign in</a>`)
	wantNoText(t, r, `name="password"`, "Go to the start page")
	if c := r.header.Values("Set-Cookie"); len(c) != 0 {
		t.Errorf("%s %s: Set-Cookie %q; want none", r.method, r.path, c)
	}
}

// Empty passwords on a link are not counted; once its wrong passwords are
// used up, the link is spent: even the right password then gets the 410
// page, and the sign-up form itself still works.
func TestSignUpLinkSpentOnWrongPasswords(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	wantStatus(t, b.post("/signup", url.Values{"name": {testName}, "email": {testEmail}, "password": {testPassword}}), http.StatusOK)
	token := s.env.SignUpLink(t, testEmail)
	attempts := account.DefaultPolicy().SignUpConfirmAttempts
	for range attempts + 1 {
		wantStatus(t, b.post(signUpConfirmPath, url.Values{"token": {token}, "password": {""}}), http.StatusUnprocessableEntity)
	}
	for range attempts {
		wantStatus(t, b.post(signUpConfirmPath, url.Values{"token": {token}, "password": {"not the password"}}), http.StatusUnauthorized)
	}
	// Spent at the last wrong password: opening the link says so at once.
	wantLinkExpired(t, b.get(signUpConfirmPath+"?token="+url.QueryEscape(token)))
	wantLinkExpired(t, b.post(signUpConfirmPath, url.Values{"token": {token}, "password": {testPassword}}))
	wantRedirect(t, b.get("/me"), "/signin")
	wantText(t, b.page("/signup"), "<h1>Create your account</h1>")
	checkPages(t, b.pages)
}

// Finishing a sign-up in a browser signed in to another account ends that
// session, as signing up always did.
func TestSignUpConfirmEndsPreviousSession(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp("")
	u, _ := url.Parse(s.srv.URL)
	var old string
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == httpauth.CookieName {
			old = c.Value
		}
	}
	if old == "" {
		t.Fatal("no session cookie after signing up")
	}
	const other = "other@example.com"
	wantStatus(t, b.post("/signup", url.Values{"name": {"Other"}, "email": {other}, "password": {testPassword}}), http.StatusOK)
	wantRedirect(t, b.post(signUpConfirmPath, url.Values{"token": {s.env.SignUpLink(t, other)}, "password": {testPassword}}), "/me")
	wantText(t, b.page("/me"), other)
	if _, err := s.env.Service.Authenticate(t.Context(), old); err == nil {
		t.Errorf("the previous session still works after another sign-up")
	}
}
