package account_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

func TestAMRAndACR(t *testing.T) {
	t.Parallel()
	tests := []struct {
		secondFactor string
		amr          []string
		acr          string
	}{
		{"", []string{"pwd"}, "aal1"},
		{account.SecondFactorTOTP, []string{"pwd", "otp", "mfa"}, "aal2"},
		{account.SecondFactorBackupCode, []string{"pwd", "mfa", "twofold_backup_code"}, "aal2"},
		{account.SecondFactorDevice, []string{"pwd", "mfa", "twofold_remembered_device"}, "aal2"},
	}
	for _, tt := range tests {
		amr := account.AMRFor(tt.secondFactor)
		if !slices.Equal(amr, tt.amr) || account.ACRFor(amr) != tt.acr {
			t.Errorf("AMRFor(%q) = %v, acr %q; want %v, %q", tt.secondFactor, amr, account.ACRFor(amr), tt.amr, tt.acr)
		}
	}
}

// DecideOIDC: what a complete session still lacks for an app's request.
func TestDecideOIDC(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	now := env.Clock.Now()
	withTOTP := &account.User{ID: 1, TOTP: &account.TOTPState{}}
	without := &account.User{ID: 2}
	request := &account.OIDCAuthRequest{CreatedAt: now}
	seconds := func(n uint) *uint { return &n }
	tests := []struct {
		name   string
		user   *account.User
		second string
		authAt time.Time
		client account.OIDCClient
		params account.OIDCParams
		policy account.Settings
		want   account.OIDCOutcome
	}{
		{"password only, nothing asked", without, "", now.Add(-time.Hour), account.OIDCClient{}, account.OIDCParams{}, account.Settings{}, account.OIDCAllow},
		{"with the code, aal2 asked", withTOTP, account.SecondFactorTOTP, now.Add(-time.Hour), account.OIDCClient{}, account.OIDCParams{ACRValues: []string{"aal2"}}, account.Settings{}, account.OIDCAllow},
		{"a remembered device, aal2 asked", withTOTP, account.SecondFactorDevice, now.Add(-time.Hour), account.OIDCClient{}, account.OIDCParams{ACRValues: []string{"aal2"}}, account.Settings{}, account.OIDCAllow},
		{"no 2FA, aal2 asked: enroll", without, "", now.Add(-time.Hour), account.OIDCClient{}, account.OIDCParams{ACRValues: []string{"aal2"}}, account.Settings{}, account.OIDCEnroll},
		{"no 2FA, the app requires it: enroll", without, "", now.Add(-time.Hour), account.OIDCClient{RequireTwoFactor: true}, account.OIDCParams{}, account.Settings{}, account.OIDCEnroll},
		{"2FA on but not used by this sign-in, aal2 asked: again", withTOTP, "", now.Add(-time.Hour), account.OIDCClient{}, account.OIDCParams{ACRValues: []string{"aal2"}}, account.Settings{}, account.OIDCSignInAgain},
		{"aal1 or aal2 asked: either", without, "", now.Add(-time.Hour), account.OIDCClient{}, account.OIDCParams{ACRValues: []string{"aal1", "aal2"}}, account.Settings{}, account.OIDCAllow},
		{"max_age passed: again", withTOTP, account.SecondFactorTOTP, now.Add(-time.Hour), account.OIDCClient{}, account.OIDCParams{MaxAge: seconds(600)}, account.Settings{}, account.OIDCSignInAgain},
		{"max_age not passed", withTOTP, account.SecondFactorTOTP, now.Add(-5 * time.Minute), account.OIDCClient{}, account.OIDCParams{MaxAge: seconds(600)}, account.Settings{}, account.OIDCAllow},
		{"prompt=login (max_age 0) before the request: again", withTOTP, account.SecondFactorTOTP, now.Add(-time.Second), account.OIDCClient{}, account.OIDCParams{MaxAge: seconds(0)}, account.Settings{}, account.OIDCSignInAgain},
		{"prompt=login, signed in after the request", withTOTP, account.SecondFactorTOTP, now, account.OIDCClient{}, account.OIDCParams{MaxAge: seconds(0)}, account.Settings{}, account.OIDCAllow},
		{"a remembered device, aal2 and prompt=login, signed in after the request: again, with the code", withTOTP, account.SecondFactorDevice, now, account.OIDCClient{}, account.OIDCParams{ACRValues: []string{"aal2"}, MaxAge: seconds(0)}, account.Settings{}, account.OIDCSignInAgain},
		{"a remembered device, the app requires 2FA, max_age: again, with the code", withTOTP, account.SecondFactorDevice, now, account.OIDCClient{RequireTwoFactor: true}, account.OIDCParams{MaxAge: seconds(600)}, account.Settings{}, account.OIDCSignInAgain},
		{"the code typed, aal2 and prompt=login, signed in after the request", withTOTP, account.SecondFactorTOTP, now, account.OIDCClient{}, account.OIDCParams{ACRValues: []string{"aal2"}, MaxAge: seconds(0)}, account.Settings{}, account.OIDCAllow},
		{"a remembered device, prompt=login without aal2", withTOTP, account.SecondFactorDevice, now, account.OIDCClient{}, account.OIDCParams{MaxAge: seconds(0)}, account.Settings{}, account.OIDCAllow},
		{"2FA required for all, overdue: enroll", without, "", now, account.OIDCClient{}, account.OIDCParams{},
			account.Settings{RequireTwoFactor: true, RequiredSince: now.Add(-48 * time.Hour), GracePeriodDays: 1}, account.OIDCEnroll},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess := &account.Session{Stage: account.StageComplete, SecondFactor: tt.second, AuthenticatedAt: tt.authAt,
				Profile: &account.Profile{User: tt.user, Settings: tt.policy}}
			if got := env.Service.DecideOIDC(sess, request, &tt.params, &tt.client); got != tt.want {
				t.Errorf("DecideOIDC = %v; want %v", got, tt.want)
			}
		})
	}
}

// oidcGrant signs the fixture's account in with its code and takes an
// app's request from satisfied to exchanged: the tokens, with a refresh
// token.
func (f *fixture) oidcGrant(app *account.OIDCClient) (*account.OIDCAuthRequest, *account.OIDCTokens) {
	f.t.Helper()
	r, code := f.oidcCode(app)
	tokens, err := f.Service.ExchangeOIDCCode(ctx, r, code, true)
	if err != nil {
		f.t.Fatalf("ExchangeOIDCCode = %v", err)
	}
	return r, tokens
}

// oidcCode is oidcGrant up to the code, handed out but not exchanged.
func (f *fixture) oidcCode(app *account.OIDCClient) (*account.OIDCAuthRequest, string) {
	f.t.Helper()
	r, err := f.Service.StartOIDCAuthRequest(ctx, app, &account.OIDCParams{RedirectURI: app.RedirectURIs[0],
		Scopes: []string{"openid", "offline_access"}, ResponseType: "code"}, client)
	if err != nil {
		f.t.Fatalf("StartOIDCAuthRequest = %v", err)
	}
	pending := f.signInPassword()
	res, err := f.Service.VerifySecondFactor(ctx, pending, account.SecondFactorInput{Code: f.Code(f.t, f.secret)}, client2)
	if err != nil {
		f.t.Fatalf("VerifySecondFactor = %v", err)
	}
	f.Clock.Advance(30 * time.Second)
	sess, err := f.Service.Authenticate(ctx, res.Token)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.Service.SatisfyOIDCAuthRequest(ctx, sess, r.ID); err != nil {
		f.t.Fatalf("SatisfyOIDCAuthRequest = %v", err)
	}
	if err := f.Service.SatisfyOIDCAuthRequest(ctx, sess, r.ID); !errors.Is(err, account.ErrOIDCRequestNotFound) {
		f.t.Fatalf("SatisfyOIDCAuthRequest again = %v; want ErrOIDCRequestNotFound (once per request)", err)
	}
	code := "code-" + r.ID
	if err := f.Service.SetOIDCAuthCode(ctx, r.ID, code); err != nil {
		f.t.Fatalf("SetOIDCAuthCode = %v", err)
	}
	got, err := f.Service.OIDCAuthRequestByCode(ctx, code)
	if err != nil {
		f.t.Fatalf("OIDCAuthRequestByCode = %v", err)
	}
	if !slices.Equal(got.AMR, []string{"pwd", "otp", "mfa"}) {
		f.t.Fatalf("the satisfied request's amr = %v; want pwd otp mfa", got.AMR)
	}
	return got, code
}

var client2 = account.Client{IP: "192.0.2.8", UserAgent: "test"}

func registered(t *testing.T, f *fixture) *account.OIDCClient {
	t.Helper()
	c, secret, err := f.Service.RegisterOIDCClient(ctx, nil, account.OIDCClientInput{Name: "App", RedirectURIs: []string{"https://app.example.com/cb"}}, client)
	if err != nil {
		t.Fatalf("RegisterOIDCClient = %v", err)
	}
	if err := f.Service.CheckOIDCClientSecret(ctx, c.ID, secret); err != nil {
		t.Fatalf("CheckOIDCClientSecret(the secret) = %v", err)
	}
	if err := f.Service.CheckOIDCClientSecret(ctx, c.ID, secret+"x"); err == nil {
		t.Fatal("CheckOIDCClientSecret(a wrong secret) = nil")
	}
	return c
}

// A code is exchanged once, even by two requests at the same time.
func TestOIDCCodeOnceUnderRace(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	c := registered(t, f)
	r, code := f.oidcCode(c)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = f.Service.ExchangeOIDCCode(ctx, r, code, true) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, account.ErrOIDCCodeUsed):
			t.Errorf("a losing exchange = %v; want ErrOIDCCodeUsed", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d exchanges of one code succeeded; want 1", won)
	}
}

// A refresh token is exchanged once: the second time, with a copy or in
// a race, the whole grant ends and the account's activity says so.
func TestOIDCRefreshReuseRevokesTheGrant(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	c := registered(t, f)
	_, tokens := f.oidcGrant(c)
	h, err := f.Service.OIDCRefreshGrant(ctx, tokens.RefreshToken)
	if err != nil {
		t.Fatalf("OIDCRefreshGrant = %v", err)
	}
	next, err := f.Service.RefreshOIDC(ctx, h, tokens.RefreshToken)
	if err != nil {
		t.Fatalf("RefreshOIDC = %v", err)
	}
	if _, err := f.Service.OIDCAccessGrant(ctx, next.AccessTokenID); err != nil {
		t.Fatalf("the refreshed access token: %v", err)
	}
	// The old token again, as a race loser would present it.
	if _, err := f.Service.RefreshOIDC(ctx, h, tokens.RefreshToken); !errors.Is(err, account.ErrOIDCRefreshReused) {
		t.Fatalf("RefreshOIDC with a used token = %v; want ErrOIDCRefreshReused", err)
	}
	if _, err := f.Service.OIDCRefreshGrant(ctx, next.RefreshToken); !errors.Is(err, account.ErrOIDCGrantEnded) {
		t.Errorf("the newer refresh token after reuse = %v; want ErrOIDCGrantEnded", err)
	}
	if _, err := f.Service.OIDCAccessGrant(ctx, next.AccessTokenID); !errors.Is(err, account.ErrOIDCGrantEnded) {
		t.Errorf("the newer access token after reuse = %v; want ErrOIDCGrantEnded", err)
	}
	if _, ok := kindsOf(t, f.Env, f.session().UserID)[account.EventOIDCTokenReused]; !ok {
		t.Error("the reuse is not in the account's activity")
	}
}

// Concurrent refreshes of one token: at most one new token, and the
// grant ends.
func TestOIDCRefreshRace(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	c := registered(t, f)
	_, tokens := f.oidcGrant(c)
	h, err := f.Service.OIDCRefreshGrant(ctx, tokens.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]*account.OIDCTokens, 6)
	errs := make([]error, len(results))
	for i := range results {
		wg.Go(func() { results[i], errs[i] = f.Service.RefreshOIDC(ctx, h, tokens.RefreshToken) })
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			if _, err := f.Service.OIDCRefreshGrant(ctx, results[i].RefreshToken); !errors.Is(err, account.ErrOIDCGrantEnded) {
				t.Errorf("the winner's refresh token after the race = %v; want ErrOIDCGrantEnded (the grant was revoked)", err)
			}
		case !errors.Is(err, account.ErrOIDCRefreshReused):
			t.Errorf("a losing refresh = %v; want ErrOIDCRefreshReused", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d refreshes of one token succeeded; want exactly 1", won)
	}
}

// A password change ends an app's grant, and a code not yet exchanged.
func TestOIDCGrantEndsWithThePassword(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	c := registered(t, f)
	_, tokens := f.oidcGrant(c)
	r, code := f.oidcCode(c)
	sess, err := f.Service.Authenticate(ctx, f.token)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Service.ChangePassword(ctx, sess, pw, "a new password that is long enough", client); err != nil {
		t.Fatalf("ChangePassword = %v", err)
	}
	if _, err := f.Service.OIDCRefreshGrant(ctx, tokens.RefreshToken); !errors.Is(err, account.ErrOIDCGrantEnded) {
		t.Errorf("refresh after a password change = %v; want ErrOIDCGrantEnded", err)
	}
	if _, err := f.Service.OIDCAccessGrant(ctx, tokens.AccessTokenID); !errors.Is(err, account.ErrOIDCGrantEnded) {
		t.Errorf("access token after a password change = %v; want ErrOIDCGrantEnded", err)
	}
	if _, err := f.Service.ExchangeOIDCCode(ctx, r, code, false); !errors.Is(err, account.ErrOIDCGrantEnded) {
		t.Errorf("a code exchanged after a password change = %v; want ErrOIDCGrantEnded", err)
	}
}

func TestOIDCClientValidation(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	tests := []struct {
		name  string
		in    account.OIDCClientInput
		field string
	}{
		{"no name", account.OIDCClientInput{RedirectURIs: []string{"https://a.example/cb"}}, "name"},
		{"no redirect", account.OIDCClientInput{Name: "A"}, "redirect_uris"},
		{"plain http", account.OIDCClientInput{Name: "A", RedirectURIs: []string{"http://app.example.com/cb"}}, "redirect_uris"},
		{"relative", account.OIDCClientInput{Name: "A", RedirectURIs: []string{"/cb"}}, "redirect_uris"},
		{"fragment", account.OIDCClientInput{Name: "A", RedirectURIs: []string{"https://a.example/cb#x"}}, "redirect_uris"},
		{"custom scheme", account.OIDCClientInput{Name: "A", RedirectURIs: []string{"javascript:alert(1)"}}, "redirect_uris"},
		{"userinfo", account.OIDCClientInput{Name: "A", RedirectURIs: []string{"https://user@a.example/cb"}}, "redirect_uris"},
		{"bad logout", account.OIDCClientInput{Name: "A", RedirectURIs: []string{"https://a.example/cb"}, PostLogoutRedirectURIs: []string{"http://a.example/"}}, "post_logout_redirect_uris"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := env.Service.RegisterOIDCClient(ctx, nil, tt.in, client)
			var invalid *account.ValidationError
			if !errors.As(err, &invalid) || invalid.Fields[tt.field] == "" {
				t.Errorf("RegisterOIDCClient(%+v) = %v; want a message for %s", tt.in, err, tt.field)
			}
		})
	}
	for _, ok := range []string{"https://app.example.com/cb", "http://localhost:8080/cb", "http://127.0.0.1/cb", "http://[::1]:9/cb"} {
		if _, _, err := env.Service.RegisterOIDCClient(ctx, nil, account.OIDCClientInput{Name: "A", RedirectURIs: []string{ok}}, client); err != nil {
			t.Errorf("RegisterOIDCClient(%q) = %v; want it accepted", ok, err)
		}
	}
	// PKCE: only S256, and a public client must use it.
	public, _, err := env.Service.RegisterOIDCClient(ctx, nil, account.OIDCClientInput{Name: "CLI", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}}, client)
	if err != nil {
		t.Fatal(err)
	}
	challenge := strings.Repeat("a", 43)
	for _, p := range []account.OIDCParams{
		{ResponseType: "code"},
		{ResponseType: "code", CodeChallenge: challenge, CodeChallengeMethod: "plain"},
		{ResponseType: "token", CodeChallenge: challenge, CodeChallengeMethod: "S256"},
		{ResponseType: "code", CodeChallenge: "abc", CodeChallengeMethod: "S256"},
		{ResponseType: "code", CodeChallenge: challenge, CodeChallengeMethod: "S256", Nonce: strings.Repeat("n", 2049)},
		{ResponseType: "code", CodeChallenge: challenge, CodeChallengeMethod: "S256", State: strings.Repeat("s", 2049)},
		{ResponseType: "code", CodeChallenge: challenge, CodeChallengeMethod: "S256", ACRValues: make([]string, 11)},
		{ResponseType: "code", CodeChallenge: challenge, CodeChallengeMethod: "S256", ResponseMode: "form_post"},
	} {
		if _, err := env.Service.StartOIDCAuthRequest(ctx, public, &p, client); err == nil {
			t.Errorf("StartOIDCAuthRequest(public, %+v) = nil; want refused", p)
		}
	}
}

// An account without 2FA let through on the settings read with its
// session is not, when "Require 2FA for all users" was switched on
// between that read and the write.
func TestOIDCSatisfyRechecksTheSettings(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	c := registered(t, f)
	r, err := f.Service.StartOIDCAuthRequest(ctx, c, &account.OIDCParams{RedirectURI: c.RedirectURIs[0], Scopes: []string{"openid"}, ResponseType: "code"}, client)
	if err != nil {
		t.Fatal(err)
	}
	sess := f.session()
	was := sess.Profile.Settings
	next := was
	next.RequireTwoFactor, next.RequiredSince = true, f.Clock.Now().Add(-time.Hour)
	if err := f.Writes().UpdateSettings(ctx, was, next); err != nil {
		t.Fatal(err)
	}
	if err := f.Service.SatisfyOIDCAuthRequest(ctx, sess, r.ID); !errors.Is(err, account.ErrConflict) {
		t.Fatalf("SatisfyOIDCAuthRequest with settings changed since the read = %v; want ErrConflict", err)
	}
	if got := f.Service.DecideOIDC(f.session(), r, &account.OIDCParams{}, c); got != account.OIDCEnroll {
		t.Errorf("DecideOIDC on a fresh read = %v; want OIDCEnroll", got)
	}
}

// Only the browser whose session satisfied a request collects its code,
// and only while that session lasts: the request's id is no secret.
func TestOIDCCodeGoesOnlyToTheBrowserThatSignedIn(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	c := registered(t, f)
	r, err := f.Service.StartOIDCAuthRequest(ctx, c, &account.OIDCParams{RedirectURI: c.RedirectURIs[0], Scopes: []string{"openid"}, ResponseType: "code"}, client)
	if err != nil {
		t.Fatal(err)
	}
	// Unsatisfied, any browser may ask: the callback then hands out nothing.
	if _, err := f.Service.OIDCRequestForCallback(ctx, r.ID, ""); err != nil {
		t.Fatalf("OIDCRequestForCallback(unsatisfied) = %v", err)
	}
	if err := f.Service.SatisfyOIDCAuthRequest(ctx, f.session(), r.ID); err != nil {
		t.Fatal(err)
	}
	other := f.signInPassword() // the same account, another browser, half signed in
	for name, token := range map[string]string{"no session": "", "another session": other, "a made-up token": "x"} {
		if _, err := f.Service.OIDCRequestForCallback(ctx, r.ID, token); !errors.Is(err, account.ErrOIDCOtherBrowser) {
			t.Errorf("OIDCRequestForCallback(%s) = %v; want ErrOIDCOtherBrowser", name, err)
		}
	}
	if got, err := f.Service.OIDCRequestForCallback(ctx, r.ID, f.token); err != nil || got.ID != r.ID {
		t.Fatalf("OIDCRequestForCallback(the session that signed in) = %v, %v", got, err)
	}
	if err := f.Service.SignOut(ctx, f.token, client); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.OIDCRequestForCallback(ctx, r.ID, f.token); !errors.Is(err, account.ErrOIDCOtherBrowser) {
		t.Errorf("OIDCRequestForCallback(after that session signed out) = %v; want ErrOIDCOtherBrowser", err)
	}
}

// Anyone may start authorization requests, and each is stored until it
// expires: they are counted per client IP.
func TestOIDCRequestsAreThrottledPerIP(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	c, _, err := env.Service.RegisterOIDCClient(ctx, nil, account.OIDCClientInput{Name: "A", RedirectURIs: []string{"https://a.example/cb"}}, client)
	if err != nil {
		t.Fatal(err)
	}
	p := &account.OIDCParams{RedirectURI: "https://a.example/cb", Scopes: []string{"openid"}, ResponseType: "code"}
	for i := range 300 {
		if _, err := env.Service.StartOIDCAuthRequest(ctx, c, p, client); err != nil {
			t.Fatalf("request %d = %v", i+1, err)
		}
	}
	var throttled *account.ThrottledError
	if _, err := env.Service.StartOIDCAuthRequest(ctx, c, p, client); !errors.As(err, &throttled) {
		t.Fatalf("request 301 from one address = %v; want ThrottledError", err)
	}
	if _, err := env.Service.StartOIDCAuthRequest(ctx, c, p, client2); err != nil {
		t.Errorf("a request from another address = %v; want it started", err)
	}
	env.Clock.Advance(10 * time.Minute)
	if _, err := env.Service.StartOIDCAuthRequest(ctx, c, p, client); err != nil {
		t.Errorf("a request 10 minutes later = %v; want it started", err)
	}
}
