package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/httpauth"
)

// newServer serves the API over real HTTP on a real service, on SQLite or,
// with TWOFOLD_TEST_STORE=postgres, on PostgreSQL; policy changes the
// service's policy (textMessages: a server that can text).
func newServer(t *testing.T, policy ...func(*account.Policy)) (*accounttest.Env, *httptest.Server) {
	t.Helper()
	env := accounttest.NewFromEnv(t, policy...)
	logger := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	srv := httptest.NewServer(New(env.Service, Options{Logger: logger}))
	t.Cleanup(srv.Close)
	return env, srv
}

// testWriter sends the handler's logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// apiClient is one browser-like client: it keeps the session cookie in a jar.
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, srv *httptest.Server) *apiClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &apiClient{t: t, base: srv.URL, http: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

type result struct {
	status int
	header http.Header
	body   []byte
}

// send makes a request; a non-empty body goes as application/json.
func (c *apiClient) send(method, path, body string) *result {
	c.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return c.sendRaw(method, path, ct, []byte(body))
}

func (c *apiClient) sendRaw(method, path, contentType string, body []byte) *result {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &result{status: resp.StatusCode, header: resp.Header, body: b}
}

// signUp signs up the way a person does: POST /signup (202), the link
// mailed to the email, then POST /signup/confirm with the same password. It
// returns the answer to the confirmation.
func (c *apiClient) signUp(env *accounttest.Env, body map[string]string) *result {
	c.t.Helper()
	wantJSON(c.t, "sign up "+body["email"], c.send("POST", "/api/v1/signup", jsonBody(c.t, body)), 202, nil)
	token := env.SignUpLink(c.t, body["email"])
	return c.send("POST", "/api/v1/signup/confirm", jsonBody(c.t, map[string]string{"token": token, "password": body["password"]}))
}

// token is the session cookie the jar holds, or "".
func (c *apiClient) token() string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == httpauth.CookieName {
			return ck.Value
		}
	}
	return ""
}

// jsonBody marshals v for send.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantJSON checks the status and decodes a JSON success body into v.
func wantJSON(t *testing.T, what string, res *result, status int, v any) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: status %d; want %d (body %s)", what, res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q; want %q", what, ct, "application/json")
	}
	if v == nil {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: decode %s: %v", what, res.body, err)
	}
}

type problemBody struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail"`
	Code   string            `json:"code"`
	Errors map[string]string `json:"errors"`
	// ClockOffsetSeconds comes with some invalid_code problems.
	ClockOffsetSeconds *int `json:"clock_offset_seconds"`
}

// wantProblem checks that res is a problem+json with this status and code.
func wantProblem(t *testing.T, what string, res *result, status int, code string) problemBody {
	t.Helper()
	var p problemBody
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q; want %q (body %s)", what, ct, "application/problem+json", res.body)
	}
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: body %q is not a problem: %v", what, res.body, err)
	}
	if res.status != status || p.Status != status {
		t.Errorf("%s: status %d (body says %d); want %d (body %s)", what, res.status, p.Status, status, res.body)
	}
	if p.Code != code {
		t.Errorf("%s: code %q; want %q (detail %q)", what, p.Code, code, p.Detail)
	}
	if p.Type == "" || p.Title == "" || p.Detail == "" {
		t.Errorf("%s: problem lacks type, title or detail: %s", what, res.body)
	}
	if bytes.Contains(res.body, []byte("goroutine")) || bytes.Contains(res.body, []byte(".go:")) {
		t.Errorf("%s: body looks like a stack trace: %s", what, res.body)
	}
	return p
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
