package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/httpauth"
)

// Who a fuzzed form is posted as.
const (
	formAsNobody      = iota // no cookie
	formAsPlain              // signed in, 2FA off, a setup pending
	formAsTwoFA              // signed in, 2FA on
	formAsPending            // password done, code pending
	formAsUnknown            // a cookie no session has
	formAsSuspended          // password done, authenticator suspended after wrong codes
	formAsOwnPassword        // signed in, an account of its own whose password changes
)

type formRoute struct {
	method, path string
	as           int
}

// formRoutes is every page that takes a form (and the GET pages that read
// the query), each as a client it does something for.
var formRoutes = []formRoute{
	{"POST", "/signup", formAsNobody},
	{"POST", "/signin", formAsNobody},
	{"POST", "/signin/two-factor", formAsPending},
	{"POST", "/signout", formAsNobody},
	{"POST", "/me", formAsPlain},
	{"POST", "/me", formAsTwoFA},
	{"POST", "/me/two-factor/enable", formAsPlain},
	{"POST", "/me/two-factor/disable", formAsTwoFA},
	{"POST", "/me/backup-codes", formAsTwoFA},
	{"POST", "/confirm-password", formAsPlain},
	{"GET", "/confirm-password", formAsPlain},
	{"GET", "/signin/two-factor", formAsPending},
	{"POST", "/signin/two-factor", formAsNobody},
	{"POST", "/me", formAsUnknown},
	{"POST", "/no-such-page", formAsPlain},
	{"POST", "/signin/two-factor", formAsSuspended},
	{"GET", "/signup/confirm", formAsNobody},
	{"POST", "/signup/confirm", formAsNobody},
	{"POST", "/me/password", formAsOwnPassword},
}

const (
	fuzzFormPassword = "correct horse battery"
	// fuzzCanary marks input that must never come back as markup.
	fuzzCanary = "x-fuzz"
	// fuzzPendingLink in a query or body becomes the token of a sign-up
	// link that works, so the fuzzer reaches the pages behind one.
	fuzzPendingLink = "PENDING-LINK"
)

// FuzzForms posts arbitrary forms (any content type, any bytes, any query)
// to every page that takes one, on a real account service. Properties:
// nothing is ever 5xx; a redirect is a 303 to a path on this site (never
// //host, /\host or a URL with a scheme: no open redirect, in particular
// from /confirm-password?next=); any other answer is a whole HTML page; and
// input never comes back as markup (a canary tag or a quote that would end
// an attribute is always escaped).
func FuzzForms(f *testing.F) {
	form := func(kv ...string) []byte {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return []byte(v.Encode())
	}
	const urlencoded = "application/x-www-form-urlencoded"
	seeds := []struct {
		route int
		ct    string
		query string
		body  []byte
	}{
		{0, urlencoded, "", form("name", "New", "email", "new@example.com", "password", "long enough pw", "mobile_phone", "+61 412 345 678")},
		{0, urlencoded, "", form("name", "<x-fuzz>\"x-fuzz'x-fuzz", "email", "\"x-fuzz@example.com", "password", "x", "mobile_phone", "<x-fuzz>")},
		{0, urlencoded, "", form("name", "\x00\u202e", "email", "ana\u200b@example.com", "password", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "mobile_phone", "0412 345 678")},
		{0, urlencoded, "", []byte("name=%zz&email=%&password=%00%00%00%00%00%00%00%00;mobile_phone")},
		{0, "multipart/form-data; boundary=b", "", []byte("--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMulti\r\n--b--\r\n")},
		{0, "multipart/form-data", "", []byte("--b\r\n")},
		{0, "text/plain", "name=q", form("name", "Plain")},
		// An attribute that starts with the canary is the page's own quote.
		{0, "AppliCAtion/X-www-form-urlenCoded", "", []byte("mobile_phone=X-fuZZ0")},
		{1, urlencoded, "", form("email", "plain@example.com", "password", "wrong password")},
		{1, urlencoded, "", form("email", "plain@example.com", "password", fuzzFormPassword)},
		{1, urlencoded, "", form("email", "\xff", "password", "")},
		{2, urlencoded, "", form("code", "123456")},
		{2, urlencoded, "", form("code", "abcde-12345", "method", "backup")},
		{2, urlencoded, "", form("code", strings.Repeat("1", 5000))},
		{3, urlencoded, "", nil},
		{4, urlencoded, "", form("name", "Renamed", "mobile_phone", "")},
		{4, urlencoded, "", form("name", "", "mobile_phone", "+1 (415) 555-2671")},
		{5, urlencoded, "", form("name", "Two", "mobile_phone", "")},
		{6, urlencoded, "", form("code", "000000")},
		{6, urlencoded, "", form("code", "")},
		{7, urlencoded, "", form("password", "wrong password", "code", "000000")},
		{7, urlencoded, "", form("password", fuzzFormPassword, "code", "abcde-12345")},
		{8, urlencoded, "", nil},
		{9, urlencoded, "", form("password", fuzzFormPassword, "next", "/me/backup-codes")},
		{9, urlencoded, "", form("password", fuzzFormPassword, "next", "//evil.example/")},
		{9, urlencoded, "", form("password", fuzzFormPassword, "next", "/\\evil.example/")},
		{9, urlencoded, "", form("password", fuzzFormPassword, "next", "https://evil.example/")},
		{9, urlencoded, "", form("password", fuzzFormPassword, "next", "/..//evil.example/")},
		{9, urlencoded, "", form("password", fuzzFormPassword, "next", "/\t/evil.example/")},
		{9, urlencoded, "next=//evil.example", form("password", fuzzFormPassword)},
		{9, urlencoded, "next=%2F%2Fevil.example", form("password", "wrong password")},
		{10, "", "next=/me/two-factor/enable", nil},
		{10, "", "next=\"x-fuzz", nil},
		{10, "", "next=%zz", nil},
		{11, "", "method=backup", nil},
		{12, urlencoded, "", form("code", "123456")},
		{13, urlencoded, "", form("name", "Who")},
		{14, urlencoded, "", form("a", "b")},
		{15, urlencoded, "", form("code", "123456")},
		{15, urlencoded, "", form("code", "abcde-12345", "method", "backup")},
		{16, "", "token=" + fuzzPendingLink, nil},
		{16, "", "token=%zz", nil},
		{16, "", "token=\"x-fuzz", nil},
		{16, "", "token=" + strings.Repeat("A", 5000), nil},
		{17, urlencoded, "", form("token", fuzzPendingLink, "password", "wrong password")},
		{17, urlencoded, "token=" + fuzzPendingLink, form("password", fuzzFormPassword)},
		{17, urlencoded, "", form("token", "<x-fuzz>\"x-fuzz", "password", "x")},
		{17, urlencoded, "", form("token", "", "password", "")},
		{17, urlencoded, "", form("token", fuzzPendingLink, "password", fuzzFormPassword)},
		{18, urlencoded, "", form("current_password", fuzzFormPassword, "new_password", "a new long password")},
		{18, urlencoded, "", form("current_password", "wrong password", "new_password", "a new long password")},
		{18, urlencoded, "", form("current_password", "", "new_password", "short")},
		{18, urlencoded, "", form("current_password", fuzzFormPassword, "new_password", fuzzFormPassword)},
		{18, urlencoded, "", form("current_password", "<x-fuzz>\"x-fuzz", "new_password", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8")},
		{18, urlencoded, "", form("current_password", fuzzFormPassword, "new_password", "\x00\x00\x00\x00\x00\x00\x00\x00")},
		{18, urlencoded, "", form("current_password", fuzzFormPassword, "new_password", strings.Repeat("\u202e", 50))},
	}
	for _, s := range seeds {
		f.Add(uint8(s.route), s.ct, s.query, s.body, "")
	}
	// User agents are stored with sessions and events: cut at 200 bytes
	// (here inside a two-byte character), not UTF-8, or markup.
	f.Add(uint8(0), urlencoded, "", form("name", "Agent", "email", "agent@example.com", "password", "long enough pw"), strings.Repeat("a", 199)+"é")
	f.Add(uint8(0), urlencoded, "", form("name", "Agent", "email", "agent2@example.com", "password", "long enough pw"), "\xff\xfe")
	f.Add(uint8(1), urlencoded, "", form("email", "plain@example.com", "password", fuzzFormPassword), "<x-fuzz>\"x-fuzz")
	// A NUL in the email of a sign-in: it is not an address, but it is still
	// counted (and, on PostgreSQL, stored) for throttling.
	f.Add(uint8(1), urlencoded, "", form("email", "a\x00@example.com", "password", "wrong password"), "")

	fx := newFormFuzzFixture(f)

	f.Fuzz(func(t *testing.T, routeIndex uint8, contentType, query string, body []byte, userAgent string) {
		route := formRoutes[int(routeIndex)%len(formRoutes)]
		userAgent = headerSafe(userAgent)
		res, logs := fx.do(route, contentType, query, userAgent, body)
		if route.as == formAsOwnPassword {
			if err := fx.resetPassword(); err != nil {
				t.Fatalf("put the password back: %v", err)
			}
		}
		input := fmt.Sprintf("Content-Type %q, User-Agent %q, query %q, body %q", contentType, userAgent, query, body)
		checkPageAnswer(t, route, input, res, logs)
	})
}

type formFuzzFixture struct {
	handler     http.Handler
	tokens      map[int]string
	pendingLink string // the token of a sign-up link, until it is used
	logs        *accounttest.LogBuffer
	// resetPassword puts back the password of the formAsOwnPassword
	// account after a request, so that every input meets the same account.
	resetPassword func() error
}

// newFormFuzzFixture builds a real service with three signed-in browsers.
// Throttles are lifted so that the fuzzer keeps reaching the code behind
// them; suspension after wrong codes keeps its default.
func newFormFuzzFixture(f *testing.F) *formFuzzFixture {
	env := accounttest.NewFromEnv(f, accounttest.NoThrottles)
	svc := env.Service
	logs := &accounttest.LogBuffer{}
	h, err := New(svc, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		f.Fatalf("New: %v", err)
	}
	fx := &formFuzzFixture{handler: h, tokens: map[int]string{formAsUnknown: "no-such-session"}, logs: logs}

	ctx := context.Background()
	client := account.Client{IP: "192.0.2.20", UserAgent: "fuzz"}
	signIns := env.SessionsInEveryState(f, fuzzFormPassword, client)
	fx.tokens[formAsPlain], fx.tokens[formAsTwoFA], fx.tokens[formAsPending], fx.tokens[formAsSuspended] = signIns.Plain, signIns.TwoFA, signIns.Pending, signIns.Suspended

	// Its own account, so that a change of password ends no session of
	// the others and leaves their sign-in seeds working.
	u, token := env.SignUp(f, account.SignUpInput{Email: "password@example.com", Password: fuzzFormPassword, Name: "Fuzz", MobilePhone: "+61412345678"}, client)
	fx.tokens[formAsOwnPassword] = token
	fx.resetPassword = func() error {
		current, err := env.Store.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		return env.Writes().ChangePasswordHash(ctx, u.ID, current.SecurityVersion, u.PasswordHash)
	}

	if err := svc.StartSignUp(ctx, account.SignUpInput{Email: "link@example.com", Password: fuzzFormPassword, Name: "Link"}, client); err != nil {
		f.Fatalf("StartSignUp = %v", err)
	}
	fx.pendingLink = env.SignUpLink(f, "link@example.com")
	return fx
}

// do sends one request straight to the handler. The query goes in as a
// client could send it: bytes a request line cannot hold are escaped.
// fuzzPendingLink in the query or body is replaced by a working link token.
func (fx *formFuzzFixture) do(route formRoute, contentType, query, userAgent string, body []byte) (*httptest.ResponseRecorder, string) {
	body = bytes.ReplaceAll(body, []byte(fuzzPendingLink), []byte(fx.pendingLink))
	query = strings.ReplaceAll(query, fuzzPendingLink, fx.pendingLink)
	req := httptest.NewRequest(route.method, route.path, bytes.NewReader(body))
	req.URL.RawQuery = requestLineSafe(query)
	req.Header.Set("User-Agent", userAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token := fx.tokens[route.as]; token != "" {
		req.AddCookie(&http.Cookie{Name: httpauth.CookieName, Value: token})
	}
	fx.logs.Reset()
	rec := httptest.NewRecorder()
	fx.handler.ServeHTTP(rec, req)
	return rec, fx.logs.String()
}

// headerSafe drops the bytes that net/http refuses in a header value
// (controls other than tab); bytes over 0x7f pass, as they do over the wire.
func headerSafe(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c >= ' ' || c == '\t') && c != 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}

func requestLineSafe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func checkPageAnswer(t *testing.T, route formRoute, input string, res *httptest.ResponseRecorder, logs string) {
	t.Helper()
	what := route.method + " " + route.path
	status := res.Code
	switch {
	case status >= 500:
		t.Fatalf("%s with %s: status %d; want 4xx at worst\nlogs: %s", what, input, status, logs)
	case status >= 300 && status < 400:
		loc := res.Header().Get("Location")
		u, err := url.Parse(loc)
		if status != http.StatusSeeOther || err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
			!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
			t.Fatalf("%s with %s: status %d to %q; want 303 to a path on this site", what, input, status, loc)
		}
		return
	}
	body := res.Body.String()
	if ct := res.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" || !strings.Contains(body, "</html>") {
		t.Fatalf("%s with %s: status %d, Content-Type %q; want a whole HTML page\n%s", what, input, status, ct, pageExcerpt(body))
	}
	if raw := unescapedCanary(strings.ToLower(body)); raw != "" {
		t.Fatalf("%s with %s: the page holds %q unescaped\n%s", what, input, raw, pageExcerpt(body))
	}
}

// unescapedCanary finds input that became markup: the canary as a tag, or
// after a quote that ends an attribute value (a quote that opens one, after
// =, is the page's own).
func unescapedCanary(page string) string {
	if strings.Contains(page, "<"+fuzzCanary) {
		return "<" + fuzzCanary
	}
	for _, q := range []string{`"`, "'"} {
		for rest, i := page, 0; ; rest = rest[i+1:] {
			if i = strings.Index(rest, q+fuzzCanary); i < 0 {
				break
			}
			if i == 0 || rest[i-1] != '=' {
				return q + fuzzCanary
			}
		}
	}
	return ""
}

// pageExcerpt is the main part of a page, shortened for a failure message.
func pageExcerpt(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	if len(body) > 2000 {
		body = body[:2000] + "…"
	}
	return body
}
