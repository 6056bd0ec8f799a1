package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/httpauth"
)

// fuzzBodyLimit is the documented limit on API request bodies (docs/api.md),
// written out here so that the test notices a change to it.
const fuzzBodyLimit = 64 << 10

// Who a fuzzed request is sent as.
const (
	asNobody    = iota // no cookie
	asPlain            // signed in, 2FA off, a setup pending
	asTwoFA            // signed in, 2FA on
	asPending          // password done, code pending
	asSuspended        // password done, authenticator suspended after wrong codes
)

// How an endpoint treats its body.
const (
	bodyIgnored  = iota // never read (no such route, GET, DELETE /session)
	bodyRequired        // decodeBody: a JSON object is required
	bodyEmpty           // decodeEmptyBody: nothing, or {}
)

type fuzzRoute struct {
	method, path string
	as           int
	body         int
	fields       []string // JSON members the endpoint takes
	pointers     bool     // the members are *string (null means "leave unchanged")
	flags        []string // JSON members the endpoint takes that are booleans
}

// fuzzRoutes is every endpoint, each as a client it does something for,
// plus a path that does not exist and a method a path lacks.
var fuzzRoutes = []fuzzRoute{
	{"POST", "/api/v1/signup", asNobody, bodyRequired, []string{"email", "password", "name", "mobile_phone"}, false, nil},
	{"POST", "/api/v1/session", asNobody, bodyRequired, []string{"email", "password"}, false, nil},
	{"POST", "/api/v1/session/two-factor", asPending, bodyRequired, []string{"code"}, false, []string{"remember_device"}},
	{"DELETE", "/api/v1/session", asNobody, bodyIgnored, nil, false, nil},
	{"POST", "/api/v1/session/confirm-password", asPlain, bodyRequired, []string{"password"}, false, nil},
	{"GET", "/api/v1/me", asPlain, bodyIgnored, nil, false, nil},
	{"PATCH", "/api/v1/me", asPlain, bodyRequired, []string{"name", "mobile_phone"}, true, nil},
	{"PATCH", "/api/v1/me", asTwoFA, bodyRequired, []string{"name", "mobile_phone"}, true, nil},
	{"GET", "/api/v1/me/events", asTwoFA, bodyIgnored, nil, false, nil},
	{"POST", "/api/v1/me/two-factor/setup", asPlain, bodyEmpty, nil, false, nil},
	{"POST", "/api/v1/me/two-factor/enable", asPlain, bodyRequired, []string{"code"}, false, nil},
	{"POST", "/api/v1/me/two-factor/disable", asTwoFA, bodyRequired, []string{"password", "code"}, false, nil},
	{"POST", "/api/v1/me/backup-codes", asTwoFA, bodyEmpty, nil, false, nil},
	{"POST", "/api/v1/session/two-factor", asNobody, bodyRequired, []string{"code"}, false, []string{"remember_device"}},
	{"PUT", "/api/v1/me", asPlain, bodyIgnored, nil, false, nil},
	{"POST", "/api/v1/no-such-endpoint", asNobody, bodyIgnored, nil, false, nil},
	{"POST", "/api/v1/session/two-factor", asSuspended, bodyRequired, []string{"code"}, false, []string{"remember_device"}},
	{"POST", "/api/v1/signup/confirm", asNobody, bodyRequired, []string{"token", "password"}, false, nil},
	// New routes go at the end: the committed corpus (testdata/fuzz)
	// names routes by their index here.
	{"POST", "/api/v1/me/password", asPlain, bodyRequired, []string{"current_password", "new_password"}, false, nil},
	{"GET", "/api/v1/me/devices", asTwoFA, bodyIgnored, nil, false, nil},
	{"DELETE", "/api/v1/me/devices", asTwoFA, bodyIgnored, nil, false, nil},
	{"POST", "/api/v1/session/help-request", asPending, bodyRequired, []string{"message"}, false, nil},
	// Not yet here: the /admin routes (phone-verification, its check,
	// reset-two-factor, help-requests, …) need a session kind of an
	// administrator, which the fixture does not have.
}

// Content types whose verdict is known; any other the fuzzer makes up is
// only held to "4xx, never 5xx".
var (
	jsonTypes    = []string{"application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON"}
	notJSONTypes = []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
		"application/json; charset=latin1", "application/merge-patch+json", "text/json", "application/json; charset=utf-8; v=2"}
)

// FuzzAPI sends arbitrary bodies to every endpoint of the API, as the kind
// of client each endpoint serves, on a real account service. Properties:
// nothing is ever 5xx; every error is application/problem+json with a
// status that matches the response and a non-empty code, title and detail;
// every success is JSON; and, for endpoints that read a body, an
// independent reading of the request decides the answer: more than 64 KiB
// is 413, a non-JSON content type 415, and an empty body, invalid UTF-8,
// invalid JSON, a non-object, an unknown member, a member of the wrong type
// or a NUL in a string is 400 invalid_request, while a body that is none of
// these is never refused as malformed.
//
// grow repeats the byte before a position many times (long strings, deep
// nesting, big whitespace) so that bodies near and over the limit are
// within reach of the fuzzer.
func FuzzAPI(f *testing.F) {
	seeds := []struct {
		route int
		ct    string
		body  string
	}{
		{0, "application/json", `{"email":"new@example.com","password":"long enough pw","name":"New","mobile_phone":"+61 412 345 678"}`},
		{0, "application/json", `{"email":"x@example.com","password":"long enough pw","name":"X","extra":1}`},
		{0, "application/json", `{"email":1,"password":true,"name":null,"mobile_phone":[]}`},
		{0, "application/json", `{"email":"a\u0000@example.com","password":"long enough pw","name":"A"}`},
		{0, "application/json", `{"EMAIL":"upper@example.com","Password":"long enough pw","NAME":"Up"}`},
		{0, "application/json", "{\"email\":\"\xff@example.com\"}"},
		{0, "text/plain", `{"email":"t@example.com"}`},
		{0, "application/json", `{"email":"d@example.com","email":"\u0000"}`},
		{1, "application/json", `{"email":"plain@example.com","password":"wrong password"}`},
		{1, "application/json", `{"email":"plain@example.com"}`},
		{1, "application/json", `["email"]`},
		{1, "application/json", `null`},
		{1, "application/json", `{"email":"a@b.c"} {"x":1}`},
		{1, "application/json", `{"email":"a@b.c"`},
		{1, "application/json", "   "},
		{1, "application/json; charset=latin1", `{}`},
		{2, "application/json", `{"code":"123456"}`},
		{2, "application/json", `{"code":"abcde-12345"}`},
		{2, "application/json", `{"code":123456}`},
		{2, "application/json", `{"code":"12\u00003456"}`},
		{2, "application/json", `{"code":"` + strings.Repeat("9", 70000) + `"}`},
		{3, "application/json", `garbage`},
		{4, "application/json", `{"password":""}`},
		{4, "application/json", `{"password":{"a":"b"}}`},
		{5, "", ""},
		{6, "application/json", `{"name":"Renamed","mobile_phone":null}`},
		{6, "application/json", `{"mobile_phone":""}`},
		{6, "application/json", `{"mobile_phone":"+1 (415) 555-2671 ext. 7"}`},
		{7, "application/json", `{"mobile_phone":""}`},
		{7, "application/json", `{"name":"\u202eevil","mobile_phone":"0412 345 678"}`},
		{8, "", ""},
		{9, "application/json", `{}`},
		{9, "", ""},
		{9, "application/json", `{"issuer":"evil"}`},
		{10, "application/json", `{"code":"000000"}`},
		{10, "application/json", `{"code":"12 34 56"}`},
		{11, "application/json", `{"password":"wrong password","code":"000000"}`},
		{11, "application/json", `{"password":"wrong password","code":"abcde-12345"}`},
		{12, "application/json", `{}`},
		{12, "application/json", `[]`},
		{13, "application/json", `{"code":"123456"}`},
		{14, "application/json", `{}`},
		{15, "application/json", `{}`},
		{16, "application/json", `{"code":"123456"}`},
		{16, "application/json", `{"code":"abcde-12345"}`},
		{17, "application/json", `{"token":"no-such-token","password":"long enough pw"}`},
		{17, "application/json", `{"token":"","password":""}`},
		{17, "application/json", `{"token":null,"password":"x","Token":"y"}`},
		{17, "application/json", `{"token":"` + strings.Repeat("A", 101) + `","password":"long enough pw"}`},
		{18, "application/json", `{"current_password":"wrong password","new_password":"long enough pw"}`},
		{18, "application/json", `{"current_password":"","new_password":"short"}`},
		{18, "application/json", `{"current_password":null,"new_password":"long enough pw","Current_Password":"x"}`},
		{18, "application/json", `{"current_password":"wrong password","new_password":"long enough pw","password":"x"}`},
		{18, "application/json", `{"current_password":"wrong password","new_password":"\u0000"}`},
		{18, "text/plain", `{"current_password":"wrong password","new_password":"long enough pw"}`},
		{18, "application/json", `{"new_password":"` + strings.Repeat("p", 129) + `"}`},
	}
	for _, s := range seeds {
		f.Add(uint8(s.route), s.ct, []byte(s.body), uint32(0), "")
	}
	fx := newAPIFuzzFixture(f)
	// The fixture's unused sign-up link: a wrong password, then the right
	// one (201 the first time it runs, 410 after).
	for _, pw := range []string{"wrong password", fuzzPassword} {
		f.Add(uint8(17), "application/json", []byte(`{"token":"`+fx.signUpToken+`","password":"`+pw+`"}`), uint32(0), "")
	}
	// A right current password: 204 the first time it runs (the other
	// sessions of the account end; its own fixture session stays), 401 after.
	f.Add(uint8(18), "application/json", []byte(`{"current_password":"`+fuzzPassword+`","new_password":"a brand new passphrase"}`), uint32(0), "")
	// Bodies at and over 64 KiB: whitespace after the object, a long string.
	f.Add(uint8(1), "application/json", []byte(`{"email":"plain@example.com"} `), uint32(fuzzBodyLimit-30)+(30<<17), "")
	f.Add(uint8(1), "application/json", []byte(`{"email":"plain@example.com"} `), uint32(fuzzBodyLimit-29)+(30<<17), "")
	f.Add(uint8(0), "application/json", []byte(`{"name":"aa"}`), uint32(1<<20-1)+(10<<17), "")
	f.Add(uint8(6), "application/json", []byte(`{"name":[[]]}`), uint32(20000)+(9<<17), "")
	// User agents are stored with sessions and events: cut at 200 bytes
	// (here inside a two-byte character), not UTF-8, or markup.
	signUp := []byte(`{"email":"agent@example.com","password":"long enough pw","name":"Agent"}`)
	f.Add(uint8(0), "application/json", signUp, uint32(0), strings.Repeat("a", 199)+"é")
	f.Add(uint8(0), "application/json", bytes.Replace(signUp, []byte("agent@"), []byte("agent2@"), 1), uint32(0), "\xff\xfe")
	f.Add(uint8(2), "application/json", []byte(`{"code":"000000"}`), uint32(0), "<script>\u202e")
	// "Lost your phone?" (route 21): a message with lines, one too long,
	// one with a control character.
	f.Add(uint8(21), "application/json", []byte(`{"message":"Lost it.\nCall me on +61 400 000 001"}`), uint32(0), "")
	f.Add(uint8(21), "application/json", []byte(`{"message":"`+strings.Repeat("x", 501)+`"}`), uint32(0), "")
	f.Add(uint8(21), "application/json", []byte(`{"message":"bell\u0007"}`), uint32(0), "")

	f.Fuzz(func(t *testing.T, routeIndex uint8, contentType string, body []byte, grow uint32, userAgent string) {
		route := fuzzRoutes[int(routeIndex)%len(fuzzRoutes)]
		body = growBody(body, grow)
		userAgent = headerSafe(userAgent)
		res, logs := fx.do(route, contentType, userAgent, body)
		checkAPIAnswer(t, route, contentType, userAgent, body, res, logs)
	})
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

// growBody inserts, at the position grow>>17 selects, n = grow&(1<<17-1)
// copies of the byte before it (a space at the start).
func growBody(body []byte, grow uint32) []byte {
	n := int(grow & (1<<17 - 1))
	if n == 0 {
		return body
	}
	pos := int(grow>>17) % (len(body) + 1)
	c := byte(' ')
	if pos > 0 {
		c = body[pos-1]
	}
	out := make([]byte, 0, len(body)+n)
	out = append(out, body[:pos]...)
	out = append(out, bytes.Repeat([]byte{c}, n)...)
	return append(out, body[pos:]...)
}

type apiFuzzFixture struct {
	handler     http.Handler
	tokens      map[int]string
	signUpToken string // a sign-up link's token, not yet used
	logs        *accounttest.LogBuffer
}

// fuzzPassword is every fixture account's password.
const fuzzPassword = "correct horse battery"

// newAPIFuzzFixture builds a real service with four signed-in clients and
// a sign-up link waiting to be used. Throttles are lifted so that the
// fuzzer keeps reaching the code behind them; suspension after wrong codes
// keeps its default, so that state is reached too.
func newAPIFuzzFixture(f *testing.F) *apiFuzzFixture {
	env := accounttest.NewFromEnv(f, accounttest.NoThrottles)
	svc := env.Service
	logs := &accounttest.LogBuffer{}
	fx := &apiFuzzFixture{
		handler: New(svc, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))}),
		tokens:  map[int]string{},
		logs:    logs,
	}
	ctx := context.Background()
	client := account.Client{IP: "192.0.2.10", UserAgent: "fuzz"}
	if err := svc.StartSignUp(ctx, account.SignUpInput{Email: "link@example.com", Password: fuzzPassword, Name: "Link"}, client); err != nil {
		f.Fatalf("StartSignUp = %v", err)
	}
	fx.signUpToken = env.SignUpLink(f, "link@example.com")

	s := env.SessionsInEveryState(f, fuzzPassword, client)
	fx.tokens[asPlain], fx.tokens[asTwoFA], fx.tokens[asPending], fx.tokens[asSuspended] = s.Plain, s.TwoFA, s.Pending, s.Suspended
	sess, err := svc.Authenticate(ctx, s.TwoFA)
	if err != nil {
		f.Fatalf("Authenticate = %v", err)
	}
	if _, err := svc.GenerateBackupCodes(ctx, sess, client); err != nil {
		f.Fatalf("GenerateBackupCodes = %v", err)
	}
	return fx
}

// do sends one request straight to the handler and returns the answer with
// what the handler logged meanwhile.
func (fx *apiFuzzFixture) do(route fuzzRoute, contentType, userAgent string, body []byte) (*httptest.ResponseRecorder, string) {
	req := httptest.NewRequest(route.method, route.path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", userAgent)
	if token := fx.tokens[route.as]; token != "" {
		req.AddCookie(&http.Cookie{Name: httpauth.CookieName, Value: token})
	}
	fx.logs.Reset()
	rec := httptest.NewRecorder()
	fx.handler.ServeHTTP(rec, req)
	return rec, fx.logs.String()
}

func checkAPIAnswer(t *testing.T, route fuzzRoute, contentType, userAgent string, body []byte, res *httptest.ResponseRecorder, logs string) {
	t.Helper()
	what := route.method + " " + route.path
	show := func() string {
		b := string(body)
		if len(b) > 300 {
			b = b[:300] + "…"
		}
		return fmt.Sprintf("Content-Type %q, User-Agent %q, body (%d bytes) %q", contentType, userAgent, len(body), b)
	}
	status := res.Code
	if status >= 500 {
		t.Fatalf("%s with %s: status %d; want 4xx at worst\nresponse: %s\nlogs: %s", what, show(), status, res.Body, logs)
	}
	if status >= 300 && status < 400 {
		t.Fatalf("%s with %s: status %d; the API never redirects", what, show(), status)
	}

	var p problemBody
	if status >= 400 {
		if ct := res.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s with %s: status %d with Content-Type %q; want application/problem+json", what, show(), status, ct)
		}
		dec := json.NewDecoder(bytes.NewReader(res.Body.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("%s with %s: status %d, body %q is not a problem: %v", what, show(), status, res.Body, err)
		}
		if p.Status != status || p.Code == "" || p.Detail == "" || p.Type != "about:blank" || p.Title != http.StatusText(status) {
			t.Fatalf("%s with %s: status %d with problem %+v; want that status, its title, a code and a detail", what, show(), status, p)
		}
		for field, msg := range p.Errors {
			if field == "" || msg == "" {
				t.Fatalf("%s with %s: problem errors %v has an empty field or message", what, show(), p.Errors)
			}
		}
		if strings.Contains(res.Body.String(), "goroutine") || strings.Contains(res.Body.String(), ".go:") {
			t.Fatalf("%s with %s: the problem looks like a stack trace: %s", what, show(), res.Body)
		}
		switch {
		case status == http.StatusMethodNotAllowed && res.Header().Get("Allow") == "":
			t.Fatalf("%s with %s: 405 without Allow", what, show())
		case (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && res.Header().Get("Retry-After") == "":
			t.Fatalf("%s with %s: %d without Retry-After", what, show(), status)
		}
	} else if status != http.StatusNoContent {
		if ct := res.Header().Get("Content-Type"); ct != "application/json" || !json.Valid(res.Body.Bytes()) {
			t.Fatalf("%s with %s: status %d with Content-Type %q and body %q; want JSON", what, show(), status, ct, res.Body)
		}
	}

	if route.body == bodyIgnored {
		return
	}
	wantStatus, wantCode, decodes := expectDecode(route, contentType, body)
	switch {
	case wantStatus != 0 && (status != wantStatus || p.Code != wantCode):
		t.Fatalf("%s with %s: status %d, code %q; want %d, %q (detail %q)", what, show(), status, p.Code, wantStatus, wantCode, p.Detail)
	case decodes && (p.Code == "invalid_request" || p.Code == "unsupported_media_type" || p.Code == "request_too_large"):
		t.Fatalf("%s with %s: refused as %q (%s); the body is a well-formed request", what, show(), p.Code, p.Detail)
	}
}

// expectDecode is an independent reading of the body rules in docs/api.md.
// It returns the status and code the request must get when the body is at
// fault, or decodes = true when the body is well-formed (so the answer,
// whatever it is, must not blame the body). With neither, the content type
// is one whose verdict this test does not claim to know.
func expectDecode(route fuzzRoute, contentType string, body []byte) (status int, code string, decodes bool) {
	if len(body) > fuzzBodyLimit {
		return http.StatusRequestEntityTooLarge, "request_too_large", false
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		if route.body == bodyRequired {
			return http.StatusBadRequest, "invalid_request", false
		}
		return 0, "", true
	}
	switch {
	case contains(notJSONTypes, contentType):
		return http.StatusUnsupportedMediaType, "unsupported_media_type", false
	case !contains(jsonTypes, contentType):
		return 0, "", false
	}
	if !utf8.Valid(trimmed) || !json.Valid(trimmed) || trimmed[0] != '{' {
		return http.StatusBadRequest, "invalid_request", false
	}
	// Walk the members in order, as encoding/json assigns them: names
	// match case-insensitively, the last one wins, and null leaves a string
	// as it was but resets a pointer.
	values := map[string]*string{}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		panic(err) // json.Valid said yes
	}
	for dec.More() {
		key, _ := dec.Token()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			panic(err)
		}
		field := ""
		for _, name := range route.fields {
			if strings.EqualFold(key.(string), name) {
				field = name
			}
		}
		if slices.ContainsFunc(route.flags, func(name string) bool { return strings.EqualFold(key.(string), name) }) {
			var b *bool
			if err := json.Unmarshal(raw, &b); err != nil {
				return http.StatusBadRequest, "invalid_request", false
			}
			continue
		}
		if field == "" {
			return http.StatusBadRequest, "invalid_request", false
		}
		var v *string
		if err := json.Unmarshal(raw, &v); err != nil {
			return http.StatusBadRequest, "invalid_request", false
		}
		if v != nil || route.pointers {
			values[field] = v
		}
	}
	for _, v := range values {
		if v != nil && strings.ContainsRune(*v, 0) {
			return http.StatusBadRequest, "invalid_request", false
		}
	}
	return 0, "", true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
