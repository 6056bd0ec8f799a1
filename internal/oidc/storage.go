package oidc

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// storage is op.Storage over the account service. It translates; it
// decides nothing the account package does not.
type storage struct {
	svc     *account.Service
	issuer  string
	cookies httpauth.Cookies
	log     *slog.Logger
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
)

// refreshPrefix marks, in RevokeToken, a refresh token (GetRefreshTokenInfo
// hands it on as its own id) from an access token's id.
const refreshPrefix = "refresh:"

// authRequest is op.AuthRequest over account.OIDCAuthRequest.
type authRequest struct {
	r       *account.OIDCAuthRequest
	p       *account.OIDCParams
	subject string // "" until satisfied
	code    string // the code it was read by (AuthRequestByCode)
}

func (a *authRequest) GetID() string { return a.r.ID }
func (a *authRequest) GetACR() string {
	if !a.r.Satisfied() {
		return ""
	}
	return account.ACRFor(a.r.AMR)
}
func (a *authRequest) GetAMR() []string                   { return a.r.AMR }
func (a *authRequest) GetAudience() []string              { return []string{a.r.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.r.AuthTime }
func (a *authRequest) GetClientID() string                { return a.r.ClientID }
func (a *authRequest) GetNonce() string                   { return a.p.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.p.RedirectURI }
func (a *authRequest) GetScopes() []string                { return a.p.Scopes }
func (a *authRequest) GetState() string                   { return a.p.State }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.r.Satisfied() }
func (a *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.p.ResponseType) }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.p.ResponseMode) }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.p.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.p.CodeChallenge, Method: oidc.CodeChallengeMethod(a.p.CodeChallengeMethod)}
}

// refreshRequest is op.RefreshTokenRequest over a live grant.
type refreshRequest struct {
	h       *account.OIDCGrantHolder
	subject string
	scopes  []string
}

func (r *refreshRequest) GetAMR() []string            { return r.h.Grant.AMR }
func (r *refreshRequest) GetAudience() []string       { return []string{r.h.Grant.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.h.Grant.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.h.Grant.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.subject }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

// invalid is how the protocol hears a refused code or token: 400
// invalid_grant, never a server error.
func invalid(err error) error {
	return oidc.ErrInvalidGrant().WithDescription("%s", strings.TrimPrefix(err.Error(), "account: "))
}

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, err := s.svc.OIDCClient(ctx, req.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	p := &account.OIDCParams{
		RedirectURI: req.RedirectURI, Scopes: req.Scopes, State: req.State, Nonce: req.Nonce,
		ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode),
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: string(req.CodeChallengeMethod),
		ACRValues: req.ACRValues, MaxAge: req.MaxAge, Prompt: req.Prompt,
	}
	var from account.Client
	if st := stateFrom(ctx); st != nil {
		from = httpauth.Client(st.r)
	}
	r, err := s.svc.StartOIDCAuthRequest(ctx, c, p, from)
	var throttled *account.ThrottledError
	if errors.As(err, &throttled) {
		// op has no temporarily_unavailable (RFC 6749, 4.1.2.1): the
		// description says what it is.
		return nil, oidc.ErrInvalidRequest().WithDescription("Too many sign-in requests from this address: try again in %s.", account.DescribeDuration(throttled.RetryAfter))
	}
	var invalidReq *account.ValidationError
	if errors.As(err, &invalidReq) {
		var msgs []string
		for _, m := range invalidReq.Fields {
			msgs = append(msgs, m)
		}
		slices.Sort(msgs)
		return nil, oidc.ErrInvalidRequest().WithDescription("%s", strings.Join(msgs, " "))
	}
	if err != nil {
		return nil, err
	}
	return &authRequest{r: r, p: p}, nil
}

func (s *storage) load(ctx context.Context, r *account.OIDCAuthRequest) (*authRequest, error) {
	p, err := r.Decode()
	if err != nil {
		return nil, err
	}
	a := &authRequest{r: r, p: p}
	if r.Satisfied() {
		if a.subject, err = s.svc.OIDCSubject(ctx, r.UserID); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// AuthRequestByID is the callback's read, before it hands out the code:
// only to the browser whose session satisfied the request.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	token := ""
	if st := stateFrom(ctx); st != nil {
		token = httpauth.Token(st.r)
	}
	r, err := s.svc.OIDCRequestForCallback(ctx, id, token)
	switch {
	case errors.Is(err, account.ErrOIDCOtherBrowser):
		s.log.WarnContext(ctx, "refused an OpenID sign-in's code to a browser other than the one that signed in")
		return nil, oidc.ErrAccessDenied().WithDescription("This sign-in was made in another browser. Go back to the app and sign in again.")
	case err != nil:
		return nil, oidc.ErrInvalidRequest().WithDescription("This sign-in request has expired. Go back to the app and sign in again.")
	}
	return s.load(ctx, r)
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.svc.OIDCAuthRequestByCode(ctx, code)
	if err != nil {
		return nil, invalid(err)
	}
	a, err := s.load(ctx, r)
	if err != nil {
		return nil, err
	}
	a.code = code
	return a, nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	err := s.svc.SetOIDCAuthCode(ctx, id, code)
	if errors.Is(err, account.ErrOIDCRequestNotFound) {
		return oidc.ErrInvalidRequest().WithDescription("This sign-in's code was handed out already, or it has expired. Sign in to the app again.")
	}
	return err
}

// DeleteAuthRequest does nothing: the code's exchange deleted the request
// in its own transaction (ExchangeOIDCCode), and an unused one expires.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	a, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	t, err := s.svc.ExchangeOIDCCode(ctx, a.r, a.code, false)
	if err != nil {
		return "", time.Time{}, tokenError(err)
	}
	return t.AccessTokenID, t.ExpiresAt, nil
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	var t *account.OIDCTokens
	var err error
	switch r := req.(type) {
	case *authRequest:
		t, err = s.svc.ExchangeOIDCCode(ctx, r.r, r.code, true)
	case *refreshRequest:
		t, err = s.svc.RefreshOIDC(ctx, r.h, current)
	default:
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	if err != nil {
		return "", "", time.Time{}, tokenError(err)
	}
	return t.AccessTokenID, t.RefreshToken, t.ExpiresAt, nil
}

func tokenError(err error) error {
	if errors.Is(err, account.ErrOIDCCodeUsed) || errors.Is(err, account.ErrOIDCGrantEnded) ||
		errors.Is(err, account.ErrOIDCRefreshReused) || errors.Is(err, account.ErrConflict) {
		return invalid(err)
	}
	return err
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	h, err := s.svc.OIDCRefreshGrant(ctx, token)
	if err != nil {
		return nil, tokenError(err)
	}
	sub, err := s.svc.OIDCSubject(ctx, h.User.ID)
	if err != nil {
		return nil, err
	}
	return &refreshRequest{h: h, subject: sub, scopes: h.Grant.Scopes}, nil
}

// TerminateSession is not called: TerminateSessionFromRequest is.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// TerminateSessionFromRequest ends the browser's twofold session at an
// app's logout, when the app proved whose it is (a valid id_token_hint of
// the same account); otherwise the browser is shown the sign-out page,
// whose button does it, so that a link alone cannot sign anyone out.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	b := stateFrom(ctx)
	if b == nil {
		return req.RedirectURI, nil
	}
	token := httpauth.Token(b.r)
	sess, err := s.svc.Session(ctx, token)
	if err != nil {
		return req.RedirectURI, nil // nobody is signed in here
	}
	if req.UserID == "" {
		return s.issuer + "/signout", nil
	}
	sub, err := s.svc.OIDCSubject(ctx, sess.UserID)
	if err != nil || sub != req.UserID {
		return s.issuer + "/signout", nil
	}
	// An expired ID token (op accepts one as a hint) is no proof the app
	// asks now: the person confirms on the sign-out page.
	if c := req.IDTokenHintClaims; c == nil || !c.GetExpiration().After(s.svc.Now()) {
		return s.issuer + "/signout", nil
	}
	if err := s.svc.SignOut(ctx, token, httpauth.Client(b.r)); err != nil && !errors.Is(err, account.ErrUnauthenticated) {
		return "", err
	}
	httpauth.ClearToken(b.w, s.cookies)
	return req.RedirectURI, nil
}

func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	var err error
	if rt, ok := strings.CutPrefix(tokenOrID, refreshPrefix); ok {
		err = s.svc.RevokeOIDCRefreshToken(ctx, clientID, rt)
	} else {
		err = s.svc.RevokeOIDCAccessToken(ctx, clientID, tokenOrID)
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, _ string, token string) (string, string, error) {
	h, err := s.svc.OIDCRefreshGrant(ctx, token)
	if errors.Is(err, account.ErrOIDCRefreshReused) || errors.Is(err, account.ErrOIDCGrantEnded) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	sub, err := s.svc.OIDCSubject(ctx, h.User.ID)
	if err != nil {
		return "", "", err
	}
	return sub, refreshPrefix + token, nil
}

// signingKey and publicKey are op's views of an account.SigningKey.
type signingKey struct{ k *account.SigningKey }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(k.k.Algorithm)
}
func (k signingKey) Key() any   { return k.k.Private }
func (k signingKey) ID() string { return k.k.ID }

type publicKey struct{ k *account.SigningKey }

func (k publicKey) ID() string                         { return k.k.ID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(k.k.Algorithm) }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.k.Public }

// SigningKey signs with the algorithm of the request's client (op looks
// the client up before it signs; see requestState), RS256 by default.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := account.AlgRS256
	if st := stateFrom(ctx); st != nil && st.client != nil && st.client.IDTokenAlgorithm != "" {
		alg = st.client.IDTokenAlgorithm
	}
	k, err := s.svc.SigningKeyFor(ctx, alg)
	if err != nil {
		return nil, err
	}
	return signingKey{k}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	out := make([]jose.SignatureAlgorithm, len(account.SigningAlgorithms))
	for i, alg := range account.SigningAlgorithms {
		out[i] = jose.SignatureAlgorithm(alg)
	}
	return out, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.svc.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, len(keys))
	for i, k := range keys {
		out[i] = publicKey{k}
	}
	return out, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.svc.OIDCClient(ctx, id)
	if errors.Is(err, account.ErrOIDCClientNotFound) {
		return nil, oidc.ErrInvalidClient().WithDescription("There is no app with this client_id.")
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if st := stateFrom(ctx); st != nil {
		st.client = c
	}
	return &client{c: c}, nil
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	err := s.svc.CheckOIDCClientSecret(ctx, id, secret)
	if errors.Is(err, account.ErrOIDCClientCredentials) {
		return errors.New("client authentication failed") // op answers invalid_client or unauthorized_client
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in op; SetUserinfoFromRequest is used.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	switch r := req.(type) {
	case *authRequest:
		u, err := s.svc.OIDCUser(ctx, r.r)
		if err != nil {
			return invalid(err)
		}
		fillUserinfo(info, r.subject, u, scopes)
	case *refreshRequest:
		fillUserinfo(info, r.subject, &r.h.User, scopes)
	}
	return nil
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	h, err := s.svc.OIDCAccessGrant(ctx, tokenID)
	if err != nil {
		return err
	}
	sub, err := s.svc.OIDCSubject(ctx, h.User.ID)
	if err != nil {
		return err
	}
	if sub != subject {
		return errors.New("oidc: the token's subject is not its grant's")
	}
	fillUserinfo(info, sub, &h.User, h.Grant.Scopes)
	return nil
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	h, err := s.svc.OIDCAccessGrant(ctx, tokenID)
	if err != nil || h.Grant.ClientID != clientID {
		return errors.New("oidc: token not active for this client")
	}
	sub, err := s.svc.OIDCSubject(ctx, h.User.ID)
	if err != nil || sub != subject {
		return errors.New("oidc: the token's subject is not its grant's")
	}
	var info oidc.UserInfo
	fillUserinfo(&info, sub, &h.User, h.Grant.Scopes)
	resp.SetUserInfo(&info)
	resp.Active = true
	resp.ClientID = h.Grant.ClientID
	resp.Scope = h.Grant.Scopes
	resp.Audience = []string{h.Grant.ClientID}
	return nil
}

func fillUserinfo(info *oidc.UserInfo, sub string, u *account.User, scopes []string) {
	info.Subject = sub
	for _, scope := range scopes {
		switch scope {
		case oidc.ScopeEmail:
			// An account's email was confirmed when it was made: by its
			// sign-up link or its invitation.
			info.Email, info.EmailVerified = u.Email, oidc.Bool(true)
		case oidc.ScopeProfile:
			info.Name = u.Name
			info.AppendClaims("groups", []string{string(u.Role)})
		case oidc.ScopePhone:
			// The number is the one on My info; twofold does not prove
			// it belongs to the account when it is typed in.
			info.PhoneNumber, info.PhoneNumberVerified = u.MobilePhone, false
		}
	}
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// JWT profile grants (client keys) are not offered.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("oidc: JWT profile is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("oidc: JWT profile is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// client is op.Client over account.OIDCClient. A public client is a
// "native" one (PKCE, no secret; loopback redirects may use any port, as
// RFC 8252 says); a confidential one is a web client.
type client struct{ c *account.OIDCClient }

func (c *client) GetID() string                    { return c.c.ID }
func (c *client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }
func (c *client) ApplicationType() op.ApplicationType {
	if c.c.Public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c *client) LoginURL(id string) string            { return ContinuePath + "?id=" + url.QueryEscape(id) }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return account.OIDCIDTokenTTL }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
