package web

import (
	"encoding/base64"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/qr/qrtest"
	"github.com/twofold/twofold/internal/totp"
)

const (
	testName     = "Ana Lima"
	testEmail    = "ana@example.com"
	testPassword = "correct horse battery"
	testPhone    = "+61412345678"
)

// site is the pages handler on a real test server, backed by a real
// account service (SQLite in a temp dir, fake clock).
type site struct {
	env  *accounttest.Env
	srv  *httptest.Server
	logs *accounttest.LogBuffer
}

func newSite(t *testing.T) *site {
	t.Helper()
	return newSiteWith(t, Options{})
}

// newSiteWith is newSite with opts (its Logger is replaced by the site's)
// and the service's policy changed by policy.
func newSiteWith(t *testing.T, opts Options, policy ...func(*account.Policy)) *site {
	t.Helper()
	env := accounttest.New(t, policy...)
	logs := &accounttest.LogBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	h, err := New(env.Service, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &site{env: env, srv: srv, logs: logs}
}

// browser is one person's browser: a cookie jar, redirects not followed so
// that each step can be checked, and every HTML page it was shown.
type browser struct {
	t      *testing.T
	site   *site
	client *http.Client
	pages  []*response
}

func (s *site) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, site: s, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

type response struct {
	method, path string
	status       int
	header       http.Header
	body         string
}

// location is the redirect target as a local path (with query and fragment).
func (r *response) location() string {
	return r.header.Get("Location")
}

// text is the body with HTML entities decoded, for looking for sentences.
func (r *response) text() string { return html.UnescapeString(r.body) }

func (b *browser) do(method, path string, form url.Values) *response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.site.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	r := &response{method: method, path: path, status: res.StatusCode, header: res.Header, body: string(raw)}
	if res.StatusCode/100 != 3 && strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		b.pages = append(b.pages, r)
	}
	return r
}

func (b *browser) get(path string) *response { b.t.Helper(); return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) *response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return b.do("POST", path, form)
}

// page GETs path and wants a 200.
func (b *browser) page(path string) *response {
	b.t.Helper()
	r := b.get(path)
	if r.status != http.StatusOK {
		b.t.Fatalf("GET %s: status %d (Location %q); want 200", path, r.status, r.location())
	}
	return r
}

// wantRedirect checks that r is a 303 to want.
func wantRedirect(t *testing.T, r *response, want string) {
	t.Helper()
	if r.status != http.StatusSeeOther || r.location() != want {
		t.Fatalf("%s %s: got status %d to %q; want 303 to %q\n%s", r.method, r.path, r.status, r.location(), want, excerpt(r.body))
	}
}

func wantStatus(t *testing.T, r *response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s %s: got status %d (Location %q); want %d\n%s", r.method, r.path, r.status, r.location(), want, excerpt(r.body))
	}
}

func wantText(t *testing.T, r *response, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(r.text(), s) {
			t.Errorf("%s %s: page does not contain %q\n%s", r.method, r.path, s, excerpt(r.body))
		}
	}
}

func wantNoText(t *testing.T, r *response, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(r.text(), s) {
			t.Errorf("%s %s: page contains %q; want it absent", r.method, r.path, s)
		}
	}
}

func excerpt(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	if len(body) > 3000 {
		body = body[:3000] + "…"
	}
	return body
}

// fieldError returns the message shown next to a field, checking that the
// input (or textarea) points at it with aria-describedby and is marked
// aria-invalid.
func fieldError(t *testing.T, r *response, field string) string {
	t.Helper()
	input := regexp.MustCompile(`<(?:input|textarea) id="` + regexp.QuoteMeta(field) + `"[^>]*>`).FindString(r.body)
	if input == "" {
		t.Fatalf("%s %s: no input with id %q", r.method, r.path, field)
	}
	if !strings.Contains(input, `aria-invalid="true"`) {
		t.Errorf("%s %s: input %q is not aria-invalid: %s", r.method, r.path, field, input)
	}
	describedBy := regexp.MustCompile(`aria-describedby="([^"]*)"`).FindStringSubmatch(input)
	if describedBy == nil || !strings.Contains(" "+describedBy[1]+" ", " "+field+"-error ") {
		t.Errorf("%s %s: input %q is not described by %s-error: %s", r.method, r.path, field, field, input)
	}
	m := regexp.MustCompile(`<p class="field-error" id="` + regexp.QuoteMeta(field) + `-error">([^<]*)</p>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("%s %s: no message next to field %q\n%s", r.method, r.path, field, excerpt(r.body))
	}
	return html.UnescapeString(m[1])
}

var (
	qrPattern     = regexp.MustCompile(`<img src="data:image/png;base64,([^"]+)"`)
	secretPattern = regexp.MustCompile(`<code class="secret" id="secret"[^>]*>([^<]+)</code>`)
	codePattern   = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
	hrefPattern   = regexp.MustCompile(`download="twofold-backup-codes.txt" href="([^"]+)"`)
)

// decodeQR reads the QR code image of the setup page with an independent
// decoder and returns the text it encodes.
func decodeQR(t *testing.T, r *response) string {
	t.Helper()
	m := qrPattern.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("%s %s: no QR data-URI image\n%s", r.method, r.path, excerpt(r.body))
	}
	raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatalf("QR data URI is not base64: %v", err)
	}
	return qrtest.Decode(t, raw)
}

// shownSecret is the setup key as the page shows it for manual entry.
func shownSecret(t *testing.T, r *response) string {
	t.Helper()
	m := secretPattern.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("%s %s: no setup key shown", r.method, r.path)
	}
	return html.UnescapeString(m[1])
}

// signUp creates the test account (with a phone when phone != "") the way
// a person does, through the mailed link, and leaves b signed in.
func (b *browser) signUp(phone string) {
	b.t.Helper()
	r := b.post("/signup", url.Values{"name": {testName}, "email": {testEmail}, "password": {testPassword}, "mobile_phone": {phone}})
	wantStatus(b.t, r, http.StatusOK)
	wantText(b.t, r, "<h1>"+titleAskOperator+"</h1>")
	confirm := b.page(signUpConfirmPath + "?token=" + url.QueryEscape(b.site.env.SignUpLink(b.t, testEmail)))
	wantRedirect(b.t, b.post(signUpConfirmPath, url.Values{"token": {hiddenToken(b.t, confirm)}, "password": {testPassword}}), "/me")
}

var hiddenTokenPattern = regexp.MustCompile(`<input type="hidden" name="token" value="([^"]*)">`)

// hiddenToken is the token the page that finishes a sign-up posts back.
func hiddenToken(t *testing.T, r *response) string {
	t.Helper()
	m := hiddenTokenPattern.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("%s %s: no hidden token field\n%s", r.method, r.path, excerpt(r.body))
	}
	return html.UnescapeString(m[1])
}

// enableTwoFactor goes through the setup page and returns the secret. The
// clock is then moved to the next step so that a fresh code exists.
func (b *browser) enableTwoFactor() string {
	b.t.Helper()
	setup := b.page("/me/two-factor/enable")
	secret := strings.ReplaceAll(shownSecret(b.t, setup), " ", "")
	wantRedirect(b.t, b.post("/me/two-factor/enable", url.Values{"code": {b.site.env.Code(b.t, secret)}}), "/me")
	b.site.env.Clock.Advance(totp.Period)
	return secret
}

// signIn does the password step and wants to be sent to want.
func (b *browser) signIn(want string) {
	b.t.Helper()
	wantRedirect(b.t, b.post("/signin", url.Values{"email": {testEmail}, "password": {testPassword}}), want)
}
