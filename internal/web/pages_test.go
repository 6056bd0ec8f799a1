package web

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/requestid"
	"github.com/twofold/twofold/internal/totp"
)

// Every validation message of sign-up is shown next to its field, with a
// 422, and the typed values (not the password) are kept.
func TestSignUpValidation(t *testing.T) {
	_, emailMsg := account.NormalizeEmail("ana@")
	_, phoneMsg := account.NormalizeMobilePhone("+61 2 9876 5432", "")
	_, noPlusMsg := account.NormalizeMobilePhone("0412 345 678", "")
	valid := url.Values{"name": {testName}, "email": {testEmail}, "password": {testPassword}, "mobile_phone": {testPhone}}
	tests := []struct {
		name   string
		change url.Values
		field  string
		want   string // "" means any message
	}{
		{"no name", url.Values{"name": {"  "}}, "name", ""},
		{"bad email", url.Values{"email": {"ana@"}}, "email", emailMsg},
		{"short password", url.Values{"password": {"short"}}, "password", ""},
		{"landline", url.Values{"mobile_phone": {"+61 2 9876 5432"}}, "mobile_phone", phoneMsg},
		{"no country code", url.Values{"mobile_phone": {"0412 345 678"}}, "mobile_phone", noPlusMsg},
	}
	s := newSite(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range valid {
				form[k] = v
			}
			for k, v := range tt.change {
				form[k] = v
			}
			r := s.browser(t).post("/signup", form)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			got := fieldError(t, r, tt.field)
			if got == "" || (tt.want != "" && got != tt.want) {
				t.Errorf("message next to %s: got %q; want %q", tt.field, got, tt.want)
			}
			if tt.field != "email" {
				wantText(t, r, `value="`+testEmail+`"`)
			}
			wantNoText(t, r, testPassword)
		})
	}
}

func TestUpdateProfileValidation(t *testing.T) {
	_, phoneMsg := account.NormalizeMobilePhone("+61 2 9876 5432", "")
	tests := []struct {
		name, field string
		form        url.Values
		want        string
	}{
		{"landline", "mobile_phone", url.Values{"name": {testName}, "mobile_phone": {"+61 2 9876 5432"}}, phoneMsg},
		{"empty name", "name", url.Values{"name": {""}, "mobile_phone": {testPhone}}, ""},
	}
	s := newSite(t)
	b := s.browser(t)
	b.signUp("")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.post("/me", tt.form)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			got := fieldError(t, r, tt.field)
			if got == "" || (tt.want != "" && got != tt.want) {
				t.Errorf("message next to %s: got %q; want %q", tt.field, got, tt.want)
			}
			wantText(t, r, "My info", "Recent security activity", `value="`+tt.form.Get("mobile_phone")+`"`)
		})
	}

	t.Run("phone cannot be removed while 2FA is on", func(t *testing.T) {
		wantRedirect(t, b.post("/me", url.Values{"name": {testName}, "mobile_phone": {testPhone}}), "/me")
		b.enableTwoFactor()
		r := b.post("/me", url.Values{"name": {testName}, "mobile_phone": {""}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if got := fieldError(t, r, "mobile_phone"); !strings.Contains(got, "Disable it") {
			t.Errorf("message next to mobile_phone: got %q", got)
		}
	})
}

// A half-signed-in session reaches the code step and sign-out only.
func TestPendingSessionReachesOnlyCodeStep(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	b.enableTwoFactor()
	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/signin/two-factor")

	for _, tt := range []struct{ method, path string }{
		{"GET", "/"},
		{"GET", "/me"},
		{"POST", "/me"},
		{"GET", "/me/two-factor/enable"},
		{"POST", "/me/two-factor/enable"},
		{"GET", "/me/two-factor/disable"},
		{"POST", "/me/two-factor/disable"},
		{"POST", "/me/backup-codes"},
		{"GET", "/me/password"},
		{"POST", "/me/password"},
		{"GET", "/confirm-password?next=/me"},
		{"POST", "/confirm-password"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			form := url.Values{"name": {"Mallory"}, "password": {testPassword}, "code": {"123456"},
				"current_password": {testPassword}, "new_password": {"mallory's password"}}
			if tt.method == "GET" {
				form = nil
			}
			wantRedirect(t, b.do(tt.method, tt.path, form), "/signin/two-factor")
		})
	}
	wantStatus(t, b.get("/signin/two-factor"), http.StatusOK)
	wantRedirect(t, b.post("/signout", nil), "/signin")
	wantRedirect(t, b.get("/signin/two-factor"), "/signin")
}

func TestNotSignedInGoesToSignIn(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	for _, tt := range []struct{ method, path string }{
		{"GET", "/"},
		{"GET", "/me"},
		{"POST", "/me"},
		{"GET", "/me/two-factor/enable"},
		{"POST", "/me/two-factor/enable"},
		{"GET", "/me/two-factor/disable"},
		{"POST", "/me/backup-codes"},
		{"GET", "/me/password"},
		{"POST", "/me/password"},
		{"GET", "/confirm-password"},
		{"GET", "/signin/two-factor"},
		{"POST", "/signin/two-factor"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var form url.Values
			if tt.method == "POST" {
				form = url.Values{"code": {"123456"}, "current_password": {testPassword}, "new_password": {"mallory's password"}}
			}
			wantRedirect(t, b.do(tt.method, tt.path, form), "/signin")
		})
	}
}

// An expired pending sign-in that submits a code goes back to sign-in too.
func TestPendingSignInExpiresOnSubmit(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	secret := b.enableTwoFactor()
	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/signin/two-factor")
	s.env.Clock.Advance(6 * time.Minute)
	wantRedirect(t, b.post("/signin/two-factor", url.Values{"code": {s.env.Code(t, secret)}}), "/signin")
	wantText(t, b.page("/signin"), "Your sign-in took too long. Sign in again.")
}

func TestSafeNext(t *testing.T) {
	for _, tt := range []struct{ next, want string }{
		{"/me/two-factor/enable", "/me/two-factor/enable"},
		{"/me?tab=1#two-factor", "/me?tab=1#two-factor"},
		{"", "/me"},
		{"me", "/me"},
		{"//evil.example/", "/me"},
		{"/\\evil.example", "/me"},
		{"\\\\evil.example", "/me"},
		{"https://evil.example/me", "/me"},
		{"javascript:alert(1)", "/me"},
		{"/\t/evil.example", "/me"},
		{"/%0a/evil", "/%0a/evil"}, // stays a path on this site
	} {
		if got := safeNext(tt.next); got != tt.want {
			t.Errorf("safeNext(%q) = %q; want %q", tt.next, got, tt.want)
		}
	}
}

// Sensitive pages ask for the password again after 10 minutes, then return;
// a foreign next is never followed.
func TestConfirmPassword(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	s.env.Clock.Advance(11 * time.Minute)

	wantRedirect(t, b.get("/me/two-factor/enable"), "/confirm-password?next=%2Fme%2Ftwo-factor%2Fenable")
	page := b.page("/confirm-password?next=%2Fme%2Ftwo-factor%2Fenable")
	wantText(t, page, "Confirm your password — twofold", `name="next" value="/me/two-factor/enable"`)

	wrong := b.post("/confirm-password", url.Values{"next": {"/me/two-factor/enable"}, "password": {"not it at all"}})
	wantStatus(t, wrong, http.StatusUnprocessableEntity)
	if got, want := fieldError(t, wrong, "password"), "That password is not right."; got != want {
		t.Errorf("wrong password message %q; want %q", got, want)
	}
	wantText(t, wrong, `name="next" value="/me/two-factor/enable"`)

	wantRedirect(t, b.post("/confirm-password", url.Values{"next": {"/me/two-factor/enable"}, "password": {testPassword}}), "/me/two-factor/enable")
	wantStatus(t, b.get("/me/two-factor/enable"), http.StatusOK)

	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		t.Run(next, func(t *testing.T) {
			wantText(t, b.page("/confirm-password?next="+url.QueryEscape(next)), `name="next" value="/me"`)
			wantRedirect(t, b.post("/confirm-password", url.Values{"next": {next}, "password": {testPassword}}), "/me")
			wantRedirect(t, b.post("/confirm-password?next="+url.QueryEscape(next), url.Values{"password": {testPassword}}), "/me")
		})
	}
	checkPages(t, b.pages)
}

func TestBackupCodesNeedRecentPassword(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	b.enableTwoFactor()
	s.env.Clock.Advance(11 * time.Minute)
	wantRedirect(t, b.post("/me/backup-codes", nil), "/confirm-password?next=%2Fme")
	wantRedirect(t, b.post("/confirm-password", url.Values{"next": {"/me"}, "password": {testPassword}}), "/me")
	wantStatus(t, b.post("/me/backup-codes", nil), http.StatusOK)
}

func TestBackupCodesNeedTwoFactor(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	wantRedirect(t, b.post("/me/backup-codes", nil), "/me")
	wantText(t, b.page("/me"), "Enable it first.")
	wantRedirect(t, b.get("/me/two-factor/disable"), "/me")
}

func TestDisableTwoFactor(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	secret := b.enableTwoFactor()

	page := b.page("/me/two-factor/disable")
	wantText(t, page, "Disable 2 factor authentication — twofold", "Code from your authenticator app, or a backup code")

	tests := []struct {
		name, password, code, field, want string
	}{
		{"nothing", "", "", "password", "Enter your password."},
		{"no code", testPassword, "", "code", ""},
		{"wrong password", "not it at all", s.env.Code(t, secret), "password", "That password is not right."},
		{"wrong code", testPassword, s.env.WrongCode(t, secret), "code", msgWrongEitherCode},
		{"malformed code", testPassword, "12", "code", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.post("/me/two-factor/disable", url.Values{"password": {tt.password}, "code": {tt.code}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			got := fieldError(t, r, tt.field)
			if got == "" || (tt.want != "" && got != tt.want) {
				t.Errorf("message next to %s: got %q; want %q", tt.field, got, tt.want)
			}
			if tt.password != "" {
				wantNoText(t, r, `value="`+tt.password+`"`)
			}
		})
	}

	s.env.Clock.Advance(totp.Period)
	wantRedirect(t, b.post("/me/two-factor/disable", url.Values{"password": {testPassword}, "code": {s.env.Code(t, secret)}}), "/me")
	wantText(t, b.page("/me"), "2 factor authentication is off", "2 factor authentication disabled")
	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/me")
	checkPages(t, b.pages)
}

func TestSecondFactorThrottled(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	secret := b.enableTwoFactor()
	wantRedirect(t, b.post("/signout", nil), "/signin")
	b.signIn("/signin/two-factor")

	wrong := s.env.WrongCode(t, secret)
	for range account.DefaultPolicy().CodeAttempts {
		wantStatus(t, b.post("/signin/two-factor", url.Values{"code": {wrong}}), http.StatusUnprocessableEntity)
	}
	r := b.post("/signin/two-factor", url.Values{"code": {s.env.Code(t, secret)}})
	wantStatus(t, r, http.StatusTooManyRequests)
	wantText(t, r, "Too many attempts. Wait 15 minutes, then try again.")
	if got := r.header.Get("Retry-After"); got != "900" {
		t.Errorf("Retry-After %q; want %q", got, "900")
	}
}

func TestMalformedCodeMessage(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	b.page("/me/two-factor/enable")
	r := b.post("/me/two-factor/enable", url.Values{"code": {"12ab"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if got := fieldError(t, r, "code"); got == "" {
		t.Errorf("no message next to the code field")
	}
	if decodeQR(t, r) == "" {
		t.Errorf("setup page lost its QR code")
	}
}

// An internal error is a plain apology with a reference, and the detail is
// logged under the same reference.
func TestInternalErrorApology(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp("")
	if err := s.env.Store.Close(); err != nil {
		t.Fatal(err)
	}
	r := b.get("/me")
	wantStatus(t, r, http.StatusInternalServerError)
	wantText(t, r, "Sorry, something went wrong", "Request id: ")
	ref := strings.TrimSpace(strings.SplitN(strings.SplitN(r.text(), "Request id: <code>", 2)[1], "<", 2)[0])
	if logs := s.logs.String(); ref == "" || !strings.Contains(logs, "request_id="+ref) || !strings.Contains(logs, "err=") {
		t.Errorf("log does not carry reference %q with the error:\n%s", ref, logs)
	}
	wantNoText(t, r, "sql", "database")

	// Behind the server, the reference is the request id of the access log.
	req := httptest.NewRequest("GET", "/me", nil)
	req = req.WithContext(requestid.With(req.Context(), "req-4242"))
	u, _ := url.Parse(s.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	s.srv.Config.Handler.ServeHTTP(w, req)
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "<code>req-4242</code>") {
		t.Errorf("GET /me behind the server: status %d; want 500 showing request id req-4242", w.Code)
	}
	if !strings.Contains(s.logs.String(), "request_id=req-4242") {
		t.Errorf("log does not carry the request id req-4242")
	}
}

func TestStaticAndNotFound(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	signin := b.page("/signin")
	for _, name := range []string{"style.css", "app.js"} {
		t.Run(name, func(t *testing.T) {
			path, err := (&staticFiles{hashes: mustStatic(t).hashes}).url(name)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(signin.body, `"`+path+`"`) {
				t.Errorf("pages do not link %s", path)
			}
			r := b.get(path)
			wantStatus(t, r, http.StatusOK)
			if got := r.header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
				t.Errorf("GET %s Cache-Control %q; want long-lived immutable", path, got)
			}
			if r.body == "" {
				t.Errorf("GET %s: empty", path)
			}
			if got := b.get("/static/" + name).header.Get("Cache-Control"); strings.Contains(got, "immutable") {
				t.Errorf("unversioned GET Cache-Control %q; want short-lived", got)
			}
		})
	}
	for _, path := range []string{"/static/", "/static/nope.css", "/static/%2e%2e/web.go"} {
		if r := b.get(path); r.status != http.StatusNotFound {
			t.Errorf("GET %s: status %d; want 404", path, r.status)
		}
	}
	r := b.get("/no/such/page")
	wantStatus(t, r, http.StatusNotFound)
	wantText(t, r, "Page not found — twofold")
}

func mustStatic(t *testing.T) *staticFiles {
	t.Helper()
	s, err := newStaticFiles()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Cookies carry Secure when the base URL is https; the flash cookie holds
// a key, is HttpOnly and SameSite=Lax. Starting a sign-up sets none.
func TestCookies(t *testing.T) {
	env := accounttest.New(t)
	h, err := New(env.Service, Options{Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "https://twofold.example"+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	w := post("/signup", url.Values{"name": {testName}, "email": {testEmail}, "password": {testPassword}})
	if w.Code != http.StatusOK || len(w.Result().Cookies()) != 0 {
		t.Fatalf("POST /signup: status %d, cookies %v; want 200 and no cookie", w.Code, w.Result().Cookies())
	}
	w = post(signUpConfirmPath, url.Values{"token": {env.SignUpLink(t, testEmail)}, "password": {testPassword}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("POST %s: status %d; want 303", signUpConfirmPath, w.Code)
	}
	cookies := map[string]*http.Cookie{}
	for _, c := range w.Result().Cookies() {
		cookies[c.Name] = c
	}
	for _, name := range []string{"twofold_session", flashCookie} {
		c := cookies[name]
		if c == nil {
			t.Fatalf("no %s cookie", name)
		}
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("%s cookie Secure=%v HttpOnly=%v SameSite=%v; want Secure, HttpOnly, Lax", name, c.Secure, c.HttpOnly, c.SameSite)
		}
	}
	if got := cookies[flashCookie].Value; got != flashWelcome {
		t.Errorf("flash cookie value %q; want the key %q", got, flashWelcome)
	}

	// An unknown flash key shows nothing and is cleared.
	req := httptest.NewRequest("GET", "https://twofold.example/signin", nil)
	req.AddCookie(&http.Cookie{Name: flashCookie, Value: "<script>"})
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if strings.Contains(w.Body.String(), "class=\"flash") {
		t.Errorf("unknown flash key rendered a message")
	}
	if got := w.Header().Get("Set-Cookie"); !strings.Contains(got, flashCookie+"=;") {
		t.Errorf("flash cookie not cleared: Set-Cookie %q", got)
	}
}

func TestNewNeedsService(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Errorf("New(nil) = nil error; want an error")
	}
}

func TestWaitFor(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{time.Second, "1 second"},
		{1500 * time.Millisecond, "2 seconds"},
		{59 * time.Second, "59 seconds"},
		{time.Minute, "1 minute"},
		{14*time.Minute + time.Second, "15 minutes"},
	} {
		if got := waitFor(tt.d); got != tt.want {
			t.Errorf("waitFor(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}

// My info tells "no backup codes generated yet" (just after enabling, and
// after enabling again, since disabling deletes them) from "all used", and
// warns when few are left.
func TestBackupCodesState(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	secret := b.enableTwoFactor()
	notYet := "You have not generated backup codes yet."
	me := b.page("/me")
	wantText(t, me, notYet)
	wantNoText(t, me, "remaining.", "used all your backup codes")

	page := b.post("/me/backup-codes", nil)
	wantStatus(t, page, http.StatusOK)
	var codes []string
	for _, m := range codePattern.FindAllStringSubmatch(page.body, -1) {
		codes = append(codes, html.UnescapeString(m[1]))
	}
	if len(codes) != 10 {
		t.Fatalf("backup codes page shows %d codes; want 10", len(codes))
	}
	for i, code := range codes {
		wantRedirect(t, b.post("/signout", nil), "/signin")
		b.signIn("/signin/two-factor")
		wantRedirect(t, b.post("/signin/two-factor", url.Values{"method": {"backup"}, "code": {code}}), "/me")
		me := b.page("/me")
		left := len(codes) - i - 1
		wantText(t, me, plural(left, "backup code", "backup codes")+" remaining.", "Generating backup codes replaces all earlier ones.")
		wantNoText(t, me, notYet)
		switch {
		case left == 0:
			wantText(t, me, "You have used all your backup codes.")
		case left <= 2:
			wantText(t, me, "Only "+plural(left, "backup code is", "backup codes are")+" left.")
		default:
			wantNoText(t, me, "used all your backup codes", "Only ")
		}
	}

	wantRedirect(t, b.post("/me/two-factor/disable", url.Values{"password": {testPassword}, "code": {s.env.Code(t, secret)}}), "/me")
	b.enableTwoFactor()
	me = b.page("/me")
	wantText(t, me, notYet)
	wantNoText(t, me, "remaining.", "used all your backup codes")
	checkPages(t, b.pages)
}
