// Package oidc makes twofold an OpenID Provider. The protocol (discovery,
// authorization, token, userinfo, revocation, end session, JWKS) is
// zitadel/oidc's op package; this package adapts it to the account
// service, which owns every rule: who may get a code, how a sign-in is
// described (amr, acr), what a refresh token allows, and when it ends.
//
// The sign-in itself is twofold's own pages: the provider sends the
// browser to ContinuePath, where the web package decides what the
// session still needs (the password, the code, enrollment, a fresh
// sign-in) and, once it is enough, sends the browser back to
// CallbackPath, from where the provider hands the app its code.
package oidc

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// The provider's paths, below the base URL (the issuer).
const (
	// Prefix is where the provider's endpoints live.
	Prefix = "/oauth2/"
	// DiscoveryPath is the OpenID configuration document.
	DiscoveryPath = "/.well-known/openid-configuration"
	// AuthorizePath is the authorization endpoint; CallbackPath is where
	// a satisfied request returns to hand out its code.
	AuthorizePath = "/oauth2/authorize"
	CallbackPath  = "/oauth2/authorize/callback"
	// ContinuePath is the page (web package) that signs the browser in
	// for a request: ?id=<request id>.
	ContinuePath = "/oidc/continue"
)

// Options configure the provider.
type Options struct {
	// Issuer is the base URL, without a trailing slash.
	Issuer string
	// Cookies are the session cookie's settings, to end a session at
	// RP-initiated logout.
	Cookies httpauth.Cookies
	Logger  *slog.Logger
}

// New returns the provider's handler, to be mounted at DiscoveryPath and
// Prefix.
func New(svc *account.Service, o Options) (http.Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	issuer := strings.TrimSuffix(o.Issuer, "/")
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("oidc: issuer %q is not an absolute URL", o.Issuer)
	}
	st := &storage{svc: svc, issuer: issuer, cookies: o.Cookies, log: o.Logger}
	config := &op.Config{
		CryptoKey:                svc.OIDCTokenKey(),
		DefaultLogoutRedirectURI: issuer + "/signin",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopePhone,
			oidc.ScopeOfflineAccess},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "azp",
			"email", "email_verified", "name", "phone_number", "phone_number_verified", "groups"},
	}
	opts := []op.Option{
		op.WithLogger(o.Logger),
		op.WithCustomAuthEndpoint(op.NewEndpoint(AuthorizePath)),
		op.WithCustomTokenEndpoint(op.NewEndpoint("/oauth2/token")),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint("/oauth2/introspect")),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint("/oauth2/userinfo")),
		op.WithCustomRevocationEndpoint(op.NewEndpoint("/oauth2/revoke")),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint("/oauth2/end_session")),
		op.WithCustomKeysEndpoint(op.NewEndpoint("/oauth2/keys")),
		op.WithCustomDeviceAuthorizationEndpoint(op.NewEndpoint("/oauth2/device_authorization")),
	}
	if u.Scheme == "http" {
		// An operator who runs twofold on plain http (a local trial, or
		// behind a proxy that terminates TLS without saying so) gets a
		// provider on that base URL; apps decide whether they accept it.
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(config, st, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: provider: %w", err)
	}
	return withBrowser(provider), nil
}

type stateKey struct{}

// requestState is what the storage learns during one request and the
// storage interface does not pass on: the browser's request and response
// (the end-session endpoint ends its session), and the client op looked
// up (its ID tokens' algorithm).
type requestState struct {
	w      http.ResponseWriter
	r      *http.Request
	client *account.OIDCClient
}

func withBrowser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, &requestState{w: w, r: r})))
	})
}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}
