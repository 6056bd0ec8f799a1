package main_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/twofold/twofold/internal/store/postgres/pgtest"
	"github.com/twofold/twofold/internal/totp"
)

// idClaims are the ID token's claims the tests look at.
type idClaims struct {
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Nonce    string   `json:"nonce"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
	Groups   []string `json:"groups"`
}

// relyingParty is an app signing people in through twofold with the
// standard client libraries: coreos/go-oidc and x/oauth2.
type relyingParty struct {
	t        *testing.T
	provider *oidc.Provider
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newRelyingParty(t *testing.T, issuer, clientID, secret, redirect string) *relyingParty {
	t.Helper()
	provider, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery at %s: %v", issuer, err)
	}
	return &relyingParty{t: t, provider: provider,
		conf: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
			Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}},
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
	}
}

// oidcBrowser follows no redirects, so each step is seen.
type oidcBrowser struct {
	t *testing.T
	c *http.Client
}

func newOIDCBrowser(t *testing.T) *oidcBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &oidcBrowser{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *oidcBrowser) do(method, u string, form url.Values) page {
	b.t.Helper()
	var req *http.Request
	var err error
	if form != nil {
		req, err = http.NewRequest(method, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, err = http.NewRequest(method, u, nil)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: sb.String()}
}

// follow GETs u and every redirect on twofold (base), and returns the
// first answer that is not a redirect to twofold: the redirect to the
// app, or a page.
func (b *oidcBrowser) follow(base, u string) (page, string) {
	b.t.Helper()
	for range 10 {
		if strings.HasPrefix(u, "/") {
			u = base + u
		}
		p := b.do("GET", u, nil)
		if p.status < 300 || p.status >= 400 {
			return p, u
		}
		next := p.location
		if !strings.HasPrefix(next, "/") && !strings.HasPrefix(next, base) {
			return p, u
		}
		u = next
	}
	b.t.Fatalf("more than 10 redirects from %s", u)
	return page{}, ""
}

func randomString(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize starts a sign-in at the app (with PKCE and a nonce) and
// returns the authorization URL with the state, nonce and verifier.
func (rp *relyingParty) authorize(extra ...oauth2.AuthCodeOption) (authURL, state, nonce, verifier string) {
	state, nonce, verifier = randomString(rp.t), randomString(rp.t), oauth2.GenerateVerifier()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)}, extra...)
	return rp.conf.AuthCodeURL(state, opts...), state, nonce, verifier
}

// codeFrom reads the code from the redirect to the app, checking state.
func (rp *relyingParty) codeFrom(p page, state string) string {
	rp.t.Helper()
	if p.status != http.StatusFound || !strings.HasPrefix(p.location, rp.conf.RedirectURL) {
		rp.t.Fatalf("want a 302 to the app's redirect URI; got %d %q %s", p.status, p.location, p.body)
	}
	u, err := url.Parse(p.location)
	if err != nil {
		rp.t.Fatal(err)
	}
	if got := u.Query().Get("state"); got != state {
		rp.t.Fatalf("state = %q; want %q", got, state)
	}
	code := u.Query().Get("code")
	if code == "" {
		rp.t.Fatalf("no code in %q", p.location)
	}
	return code
}

// exchange trades the code for tokens and verifies the ID token.
func (rp *relyingParty) exchange(code, verifier, nonce string) (*oauth2.Token, *oidc.IDToken, idClaims) {
	rp.t.Helper()
	tok, err := rp.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		rp.t.Fatalf("exchange the code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(context.Background(), raw)
	if err != nil {
		rp.t.Fatalf("verify the ID token: %v", err)
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		rp.t.Fatal(err)
	}
	if c.Nonce != nonce {
		rp.t.Fatalf("nonce = %q; want %q", c.Nonce, nonce)
	}
	return tok, idt, c
}

var clientLine = regexp.MustCompile(`(?m)^(client_id|client_secret): (\S+)$`)

// registerClient runs `twofold oidc client add` and returns what it printed.
func registerClient(t *testing.T, db []string, args ...string) (id, secret string) {
	t.Helper()
	out, err := exec.Command(binary, append(append([]string{"oidc", "client", "add"}, db...), args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("oidc client add: %v\n%s", err, out)
	}
	for _, m := range clientLine.FindAllStringSubmatch(string(out), -1) {
		if m[1] == "client_id" {
			id = m[2]
		} else {
			secret = m[2]
		}
	}
	if id == "" {
		t.Fatalf("oidc client add printed no client_id:\n%s", out)
	}
	return id, secret
}

// TestOpenIDConnectWithTwoFactor drives the provider through the real
// binary with real relying-party libraries: a client registered at the
// command line, a sign-in with the password and the code (amr otp, acr
// aal2), the code used once, userinfo, refresh with rotation and reuse
// detection, revocation, a step-up (acr_values=aal2) that sends a
// password-only account through enrollment and a fresh sign-in, key
// rotation that keeps earlier tokens verifiable, and logout.
func TestOpenIDConnectWithTwoFactor(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			var env, dbFlag []string
			if backend == "postgres" {
				db := pgtest.Database(t)
				env, dbFlag = []string{"TWOFOLD_DATABASE=" + db}, []string{"--database", db}
			}
			oidcJourney(t, start(t, data, env...), append([]string{"--data-dir", data}, dbFlag...))
		})
	}
}

// oidcJourney is TestOpenIDConnectWithTwoFactor on the instance p; db
// are the flags that point a command at its database.
func oidcJourney(t *testing.T, p *process, db []string) {
	const redirect = "http://127.0.0.1:9/callback"
	const afterLogout = "http://127.0.0.1:9/signed-out"
	clientID, secret := registerClient(t, db, "--name", "Grafana", "--redirect-uri", redirect, "--post-logout-redirect-uri", afterLogout)
	if secret == "" {
		t.Fatal("a confidential client got no client_secret")
	}
	rp := newRelyingParty(t, p.base, clientID, secret, redirect)

	// An account with 2FA, made through the API.
	email := "oidc@example.com"
	secretKey, used := twoFactorUser(t, p, email, "Olga Idc")
	var code string

	// The sign-in: the app's name on the page, the password, the code.
	b := newOIDCBrowser(t)
	authURL, state, nonce, verifier := rp.authorize()
	pg, at := b.follow(p.base, authURL)
	if pg.status != 200 || !strings.Contains(at, "/signin?oidc=") || !strings.Contains(pg.body, "Sign in to continue to <strong>Grafana</strong>") {
		t.Fatalf("the authorization request led to %s = %d; want the sign-in page naming the app\n%s", at, pg.status, pg.body)
	}
	if pg := b.do("POST", p.base+"/signin", url.Values{"email": {email}, "password": {racePassword}}); pg.status != http.StatusSeeOther || pg.location != "/signin/two-factor" {
		t.Fatalf("POST /signin = %d %q; want the code step", pg.status, pg.location)
	}
	// Half signed in, the app's request leads to the code step, not to a code.
	if pg, at := b.follow(p.base, authURL); pg.status != 200 || !strings.HasSuffix(at, "/signin/two-factor") || !strings.Contains(pg.body, "Signing in to <strong>Grafana</strong>") {
		t.Fatalf("the app's request half signed in led to %s = %d; want the code step naming the app", at, pg.status)
	}
	code, _ = freshCode(secretKey, used)
	pg = b.do("POST", p.base+"/signin/two-factor", url.Values{"code": {code}})
	if pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.location, "/oidc/continue?id=") {
		t.Fatalf("POST /signin/two-factor = %d %q; want back to the app's request", pg.status, pg.location)
	}
	pg, _ = b.follow(p.base, pg.location)
	authCode := rp.codeFrom(pg, state)
	tok, idt, claims := rp.exchange(authCode, verifier, nonce)
	if claims.ACR != "aal2" || !slices.Contains(claims.AMR, "otp") || !slices.Contains(claims.AMR, "mfa") || !slices.Contains(claims.AMR, "pwd") {
		t.Errorf("after the code: acr %q amr %v; want aal2 with pwd, otp and mfa", claims.ACR, claims.AMR)
	}
	if claims.Email != email || claims.Name != "Olga Idc" || !slices.Equal(claims.Groups, []string{"member"}) {
		t.Errorf("claims email %q name %q groups %v; want %q, Olga Idc, [member]", claims.Email, claims.Name, claims.Groups, email)
	}
	if idt.Subject == "" || strings.Trim(idt.Subject, "0123456789") == "" {
		t.Errorf("sub = %q; want an opaque id, not a row number", idt.Subject)
	}
	if since := time.Since(time.Unix(claims.AuthTime, 0)); since < 0 || since > 5*time.Minute {
		t.Errorf("auth_time %d is %v ago; want the sign-in just made", claims.AuthTime, since)
	}

	// The request's id travels in links, so it is no secret: a browser
	// other than the one that signed in for it never collects its code.
	attacker := newOIDCBrowser(t)
	authURL, state, _, _ = rp.authorize()
	pg = attacker.do("GET", authURL, nil)
	if pg.status != http.StatusFound || !strings.HasPrefix(pg.location, "/oidc/continue?id=") {
		t.Fatalf("the attacker's authorization request = %d %q; want a 302 to the continue page", pg.status, pg.location)
	}
	pg = b.do("GET", p.base+pg.location, nil) // the signed-in victim follows the attacker's link
	if pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.location, "/oauth2/authorize/callback?id=") {
		t.Fatalf("the victim at the attacker's continue link = %d %q; want 303 to the callback", pg.status, pg.location)
	}
	callbackURL := p.base + pg.location
	if stolen := attacker.do("GET", callbackURL, nil); strings.Contains(stolen.location, "code=") {
		t.Fatalf("another browser collected the victim's code: %d %q", stolen.status, stolen.location)
	}
	rp.codeFrom(b.do("GET", callbackURL, nil), state) // the browser that signed in still does

	// A code works once.
	if _, err := rp.conf.Exchange(context.Background(), authCode, oauth2.VerifierOption(verifier)); err == nil {
		t.Error("the same code was exchanged twice")
	}
	// Even by requests at the same time, on each store's real binary.
	authURL, state, _, verifier = rp.authorize()
	pg, _ = b.follow(p.base, authURL)
	if won := raceTokenRequests(t, p.base, clientID, secret, url.Values{"grant_type": {"authorization_code"},
		"code": {rp.codeFrom(pg, state)}, "redirect_uri": {redirect}, "code_verifier": {verifier}}); won != 1 {
		t.Errorf("%d of 8 concurrent exchanges of one code succeeded; want 1", won)
	}
	// The userinfo endpoint knows the access token.
	info, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if err != nil || info.Email != email || info.Subject != idt.Subject {
		t.Fatalf("userinfo = %+v, %v; want %s", info, err, email)
	}

	// Refresh: a new refresh token each time; the old one coming back
	// revokes the family (its newer tokens too).
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
	refreshed, err := rp.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh gave refresh token %q; want a new one", refreshed.RefreshToken)
	}
	if _, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(refreshed)); err != nil {
		t.Fatalf("userinfo with the refreshed access token: %v", err)
	}
	if _, err := rp.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatal("a used refresh token was accepted again")
	}
	// Concurrent refreshes of one token: one at most, and then none of
	// the family works.
	authURL, state, nonce, verifier = rp.authorize()
	pg, _ = b.follow(p.base, authURL)
	raced, _, _ := rp.exchange(rp.codeFrom(pg, state), verifier, nonce)
	if won := raceTokenRequests(t, p.base, clientID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {raced.RefreshToken}}); won > 1 {
		t.Errorf("%d of 8 concurrent refreshes of one token succeeded; want at most 1", won)
	}
	if _, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(raced)); err == nil {
		t.Error("after racing refreshes, the family's first access token still works")
	}
	if _, err := rp.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token(); err == nil {
		t.Error("after a refresh token's reuse, the newer one of its family still works")
	}
	if _, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(refreshed)); err == nil {
		t.Error("after a refresh token's reuse, the family's access token still works")
	}

	// A second sign-in of the same browser needs no page; its refresh
	// token, revoked by the app, stops working.
	authURL, state, nonce, verifier = rp.authorize()
	pg, _ = b.follow(p.base, authURL)
	tok2, idt2, _ := rp.exchange(rp.codeFrom(pg, state), verifier, nonce)
	if idt2.Subject != idt.Subject {
		t.Errorf("sub changed between sign-ins: %q then %q", idt.Subject, idt2.Subject)
	}
	revoke := url.Values{"token": {tok2.RefreshToken}, "token_type_hint": {"refresh_token"}}
	req, _ := http.NewRequest("POST", p.base+"/oauth2/revoke", strings.NewReader(revoke.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke = %v %v; want 200", resp, err)
	}
	resp.Body.Close()
	if _, err := rp.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); err == nil {
		t.Error("a revoked refresh token still works")
	}

	// Key rotation: the earlier ID token still verifies, and new ones are
	// signed with the new key.
	rawBefore, _ := tok2.Extra("id_token").(string)
	if out, err := exec.Command(binary, append([]string{"oidc", "keys", "rotate"}, db...)...).CombinedOutput(); err != nil {
		t.Fatalf("oidc keys rotate: %v\n%s", err, out)
	}
	if _, err := newRelyingParty(t, p.base, clientID, secret, redirect).verifier.Verify(context.Background(), rawBefore); err != nil {
		t.Errorf("an ID token signed before the rotation no longer verifies: %v", err)
	}
	authURL, state, nonce, verifier = rp.authorize()
	pg, _ = b.follow(p.base, authURL)
	tok3, _, _ := rp.exchange(rp.codeFrom(pg, state), verifier, nonce)
	if kidOf(t, rawBefore) == kidOf(t, tok3.Extra("id_token").(string)) {
		t.Error("after the rotation, ID tokens are signed with the same key")
	}

	// prompt=login: signed in, the browser is asked to sign in again.
	authURL, _, _, _ = rp.authorize(oauth2.SetAuthURLParam("prompt", "login"))
	pg, at = b.follow(p.base, authURL)
	if pg.status != 200 || !strings.Contains(at, "again=1") || !strings.Contains(pg.body, `name="password"`) {
		t.Errorf("prompt=login led to %s = %d; want the sign-in form again", at, pg.status)
	}

	// Logout from the app, with its ID token: the session ends and the
	// browser goes where the app asked.
	endURL := p.base + "/oauth2/end_session?" + url.Values{"id_token_hint": {tok3.Extra("id_token").(string)},
		"post_logout_redirect_uri": {afterLogout}, "state": {"bye"}}.Encode()
	if pg := b.do("GET", endURL, nil); pg.status != http.StatusFound || pg.location != afterLogout+"?state=bye" {
		t.Fatalf("end_session = %d %q; want 302 to %s?state=bye", pg.status, pg.location, afterLogout)
	}
	if pg := b.do("GET", p.base+"/me", nil); pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.location, "/signin") {
		t.Errorf("GET /me after the app's logout = %d %q; want to the sign-in page", pg.status, pg.location)
	}
	// Signed out, prompt=none shows no page: the app hears that a sign-in
	// is needed.
	authURL, state, _, _ = rp.authorize(oauth2.SetAuthURLParam("prompt", "none"))
	pg, _ = b.follow(p.base, authURL)
	if u, err := url.Parse(pg.location); err != nil || pg.status != http.StatusFound || !strings.HasPrefix(pg.location, redirect) ||
		u.Query().Get("error") != "interaction_required" || u.Query().Get("state") != state {
		t.Errorf("prompt=none signed out = %d %q; want a 302 to the app with error=interaction_required and its state", pg.status, pg.location)
	}
	// A post-logout URI the app did not register is refused.
	bad := p.base + "/oauth2/end_session?" + url.Values{"id_token_hint": {tok3.Extra("id_token").(string)},
		"post_logout_redirect_uri": {"https://evil.example/"}}.Encode()
	if pg := b.do("GET", bad, nil); pg.status == http.StatusFound && strings.HasPrefix(pg.location, "https://evil.example") {
		t.Error("end_session redirected to an unregistered post_logout_redirect_uri")
	}

	stepUp(t, p, rp)
	racePasswordChange(t, p, rp, "race@example.com", false)
	racePasswordChange(t, p, rp, "race-code@example.com", true)

	// A remembered device skips the code for an app (aal2, with its own
	// amr value), but not when the app asks for a fresh sign-in with the
	// second factor: then the code is typed.
	strictID, strictSecret := registerClient(t, db, "--name", "Strict", "--redirect-uri", redirect, "--require-two-factor")
	strict := newRelyingParty(t, p.base, strictID, strictSecret, redirect)
	email = "device@example.com"
	secretKey, used = twoFactorUser(t, p, email, "Two Factor")
	b = newOIDCBrowser(t)
	b.do("POST", p.base+"/signin", url.Values{"email": {email}, "password": {racePassword}})
	code, used = freshCode(secretKey, used)
	if pg := b.do("POST", p.base+"/signin/two-factor", url.Values{"code": {code}, "remember_device": {"on"}}); pg.status != http.StatusSeeOther {
		t.Fatalf("the code step remembering the device = %d", pg.status)
	}
	b.do("POST", p.base+"/signout", url.Values{})
	authURL, state, nonce, verifier = strict.authorize()
	b.follow(p.base, authURL)
	pg = b.do("POST", p.base+"/signin", url.Values{"email": {email}, "password": {racePassword}})
	pg, _ = b.follow(p.base, pg.location)
	if _, _, claims := strict.exchange(strict.codeFrom(pg, state), verifier, nonce); claims.ACR != "aal2" || !slices.Contains(claims.AMR, "twofold_remembered_device") {
		t.Errorf("a remembered device's sign-in: acr %q amr %v; want aal2 with twofold_remembered_device", claims.ACR, claims.AMR)
	}
	authURL, state, nonce, verifier = strict.authorize(oauth2.SetAuthURLParam("prompt", "login"))
	if pg, at := b.follow(p.base, authURL); pg.status != 200 || !strings.Contains(at, "again=1") {
		t.Fatalf("prompt=login on a remembered device led to %s = %d; want the sign-in form", at, pg.status)
	}
	if pg := b.do("POST", p.base+"/signin", url.Values{"email": {email}, "password": {racePassword}}); pg.location != "/signin/two-factor" {
		t.Fatalf("the fresh sign-in an app asked for, on a remembered device = %d %q; want the code step", pg.status, pg.location)
	}
	code, _ = freshCode(secretKey, used)
	pg = b.do("POST", p.base+"/signin/two-factor", url.Values{"code": {code}})
	pg, _ = b.follow(p.base, pg.location)
	if _, _, claims := strict.exchange(strict.codeFrom(pg, state), verifier, nonce); !slices.Contains(claims.AMR, "otp") {
		t.Errorf("after the fresh sign-in: amr %v; want otp", claims.AMR)
	}

	// An app registered for ES256 gets ES256 ID tokens, verified against
	// the JWKS, which publishes both algorithms' keys.
	esID, esSecret := registerClient(t, db, "--name", "Wiki", "--redirect-uri", redirect, "--id-token-alg", "ES256")
	es := newRelyingParty(t, p.base, esID, esSecret, redirect)
	email = "es256@example.com"
	secretKey, used = twoFactorUser(t, p, email, "Two Factor")
	b = newOIDCBrowser(t)
	authURL, state, nonce, verifier = es.authorize()
	b.follow(p.base, authURL)
	b.do("POST", p.base+"/signin", url.Values{"email": {email}, "password": {racePassword}})
	code, _ = freshCode(secretKey, used)
	pg = b.do("POST", p.base+"/signin/two-factor", url.Values{"code": {code}})
	pg, _ = b.follow(p.base, pg.location)
	esTok, _, _ := es.exchange(es.codeFrom(pg, state), verifier, nonce)
	if alg := headerOf(t, esTok.Extra("id_token").(string), "alg"); alg != "ES256" {
		t.Errorf("the ES256 app's ID token is signed with %s", alg)
	}
	if alg := headerOf(t, tok3.Extra("id_token").(string), "alg"); alg != "RS256" {
		t.Errorf("the default app's ID token is signed with %s; want RS256", alg)
	}
}

// twoFactorUser signs up an account with 2FA through the API and returns
// its authenticator's secret and the step its enabling used. Each part of
// the journey has its own, so none waits for the next step of another's.
func twoFactorUser(t *testing.T, p *process, email, name string) ([]byte, int64) {
	t.Helper()
	c := newClient(t)
	token := mustSignUp(t, c, p.base, map[string]string{"email": email, "password": racePassword, "name": name, "mobile_phone": "+61412345670"})
	status, setup, _ := call(t, p.base, "POST", "/me/two-factor/setup", token, nil)
	if status != 200 {
		t.Fatalf("setup = %d %v", status, setup)
	}
	secret, err := totp.DecodeSecret(setup["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	code, used := freshCode(secret, 0)
	if status, body, _ := call(t, p.base, "POST", "/me/two-factor/enable", token, map[string]string{"code": code}); status != 200 {
		t.Fatalf("enable = %d %v", status, body)
	}
	return secret, used
}

// racePasswordChange: a token request of an app's sign-in races the
// account's password change, either the code's exchange (raceExchange) or,
// after it, a refresh. Whichever commits first, once the change has
// answered no token of that sign-in works: not one the exchange or the
// refresh was given, not one it had before, not their access tokens.
func racePasswordChange(t *testing.T, p *process, rp *relyingParty, email string, raceExchange bool) {
	key, used := twoFactorUser(t, p, email, "Race Change")
	b := newOIDCBrowser(t)
	authURL, state, nonce, verifier := rp.authorize()
	b.follow(p.base, authURL)
	b.do("POST", p.base+"/signin", url.Values{"email": {email}, "password": {racePassword}})
	code, _ := freshCode(key, used)
	pg := b.do("POST", p.base+"/signin/two-factor", url.Values{"code": {code}})
	pg, _ = b.follow(p.base, pg.location)
	authCode := rp.codeFrom(pg, state)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var tokens []*oauth2.Token
	got := func(tk *oauth2.Token, err error) {
		if err == nil {
			mu.Lock()
			tokens = append(tokens, tk)
			mu.Unlock()
		}
	}
	// One token request, not several: refreshes racing each other end
	// the family by reuse, which would hide what the password change does.
	request := func() { got(rp.conf.Exchange(context.Background(), authCode, oauth2.VerifierOption(verifier))) }
	if !raceExchange {
		tok, _, _ := rp.exchange(authCode, verifier, nonce)
		tokens = append(tokens, tok)
		request = func() {
			got(rp.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token())
		}
	}
	start := make(chan struct{})
	wg.Go(func() { <-start; request() })
	changed := make(chan page, 1)
	wg.Go(func() {
		<-start
		changed <- b.do("POST", p.base+"/me/password", url.Values{"current_password": {racePassword}, "new_password": {racePassword + " changed"}})
	})
	close(start)
	wg.Wait()
	if pg := <-changed; pg.status != http.StatusSeeOther {
		t.Fatalf("the password change = %d %q %s", pg.status, pg.location, pg.body)
	}
	t.Logf("password change raced with the %s: %d tokens given", map[bool]string{true: "code's exchange", false: "refresh"}[raceExchange], len(tokens))
	for i, tk := range tokens {
		if _, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tk)); err == nil {
			t.Errorf("token %d of %d: its access token works after the password change", i+1, len(tokens))
		}
		if _, err := rp.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tk.RefreshToken}).Token(); err == nil {
			t.Errorf("token %d of %d: its refresh token works after the password change", i+1, len(tokens))
		}
	}
}

// stepUp: an account without 2FA signs in with its password (aal1); an
// app asking acr_values=aal2 sends it through enrollment and a sign-in
// with the code before it gets a code, and the ID token says aal2.
func stepUp(t *testing.T, p *process, rp *relyingParty) {
	c := newClient(t)
	email := "stepup@example.com"
	mustSignUp(t, c, p.base, map[string]string{"email": email, "password": racePassword, "name": "Step Up", "mobile_phone": "+61412345679"})
	b := newOIDCBrowser(t)
	authURL, state, nonce, verifier := rp.authorize()
	b.follow(p.base, authURL)
	pg := b.do("POST", p.base+"/signin", url.Values{"email": {email}, "password": {racePassword}})
	pg, _ = b.follow(p.base, pg.location)
	_, _, claims := rp.exchange(rp.codeFrom(pg, state), verifier, nonce)
	if claims.ACR != "aal1" || !slices.Equal(claims.AMR, []string{"pwd"}) {
		t.Errorf("password only: acr %q amr %v; want aal1 [pwd]", claims.ACR, claims.AMR)
	}

	authURL, state, nonce, verifier = rp.authorize(oauth2.SetAuthURLParam("acr_values", "aal2"))
	pg, at := b.follow(p.base, authURL)
	if pg.status != 200 || !strings.HasSuffix(at, "/me/two-factor/enable") {
		t.Fatalf("acr_values=aal2 without 2FA led to %s = %d; want the enable page", at, pg.status)
	}
	m := regexp.MustCompile(`data-copy="([A-Z2-7]+)"`).FindStringSubmatch(pg.body)
	if m == nil {
		t.Fatalf("no setup key on the enable page:\n%s", pg.body)
	}
	key, err := totp.DecodeSecret(m[1])
	if err != nil {
		t.Fatal(err)
	}
	code, used := freshCode(key, 0)
	pg = b.do("POST", p.base+"/me/two-factor/enable", url.Values{"code": {code}})
	pg, at = b.follow(p.base, pg.location)
	if pg.status != 200 || !strings.Contains(at, "again=1") {
		t.Fatalf("after enabling, the app's request led to %s = %d; want a fresh sign-in", at, pg.status)
	}
	if pg := b.do("POST", p.base+"/signin", url.Values{"email": {email}, "password": {racePassword}}); pg.location != "/signin/two-factor" {
		t.Fatalf("POST /signin = %d %q; want the code step", pg.status, pg.location)
	}
	code, _ = freshCode(key, used)
	pg = b.do("POST", p.base+"/signin/two-factor", url.Values{"code": {code}})
	pg, _ = b.follow(p.base, pg.location)
	_, _, claims = rp.exchange(rp.codeFrom(pg, state), verifier, nonce)
	if claims.ACR != "aal2" || !slices.Contains(claims.AMR, "otp") {
		t.Errorf("after the step-up: acr %q amr %v; want aal2 with otp", claims.ACR, claims.AMR)
	}
}

// raceTokenRequests sends the same token request 8 times at once and
// counts the 200s.
func raceTokenRequests(t *testing.T, base, clientID, secret string, form url.Values) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	start := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", base+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(clientID, secret)
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("token request: %v", err)
				return
			}
			resp.Body.Close()
			switch {
			case resp.StatusCode == 200:
				mu.Lock()
				won++
				mu.Unlock()
			case resp.StatusCode != 400:
				t.Errorf("a racing token request = %d; want 200 or 400 invalid_grant", resp.StatusCode)
			}
		})
	}
	close(start)
	wg.Wait()
	return won
}

func kidOf(t *testing.T, raw string) string { return headerOf(t, raw, "kid") }

// headerOf reads a member of a JWT's header.
func headerOf(t *testing.T, raw, name string) string {
	t.Helper()
	header, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"` + name + `":"([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s in %s", name, b)
	}
	return string(m[1])
}
