package account

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The OpenID provider's rules live here, like every other security rule;
// internal/oidc adapts them to the protocol library (zitadel/oidc's op
// package), which parses and answers the protocol's requests.

// Authentication method references (RFC 8176) and the assurance levels a
// sign-in reaches. A backup code and a remembered device are not among
// RFC 8176's values, so each has a twofold-specific one beside "mfa".
const (
	AMRPassword   = "pwd"
	AMROTP        = "otp"
	AMRMFA        = "mfa"
	AMRBackupCode = "twofold_backup_code"
	AMRDevice     = "twofold_remembered_device"

	ACRPassword  = "aal1" // the password alone
	ACRTwoFactor = "aal2" // the password and a second factor
)

// Lifetimes of the provider's artefacts.
const (
	// OIDCRequestTTL covers a sign-in with its code step and an enrollment.
	OIDCRequestTTL     = 30 * time.Minute
	OIDCAccessTokenTTL = 15 * time.Minute
	OIDCIDTokenTTL     = time.Hour
	OIDCRefreshTTL     = 30 * 24 * time.Hour
	// OIDCRetiredKeyTTL is how long a rotated-out signing key stays in the
	// JWKS: longer than any ID token it signed lives.
	OIDCRetiredKeyTTL = 24 * time.Hour
)

// The algorithms of the ID tokens' signatures: RS256, which every client
// library verifies, by default; ES256 for the apps registered for it.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// SigningAlgorithms are the algorithms offered, the default first.
var SigningAlgorithms = []string{AlgRS256, AlgES256}

// Errors of the OpenID provider's use cases.
var (
	// ErrOIDCCodeUsed: the code was exchanged already, or has expired.
	ErrOIDCCodeUsed = errors.New("account: this code was used already or has expired")
	// ErrOIDCGrantEnded: the sign-in behind a code or a token no longer
	// holds (revoked, the account changed, deactivated, expired).
	ErrOIDCGrantEnded = errors.New("account: the sign-in behind this token has ended")
	// ErrOIDCRefreshReused: a refresh token came back after it had been
	// exchanged; its whole family is revoked.
	ErrOIDCRefreshReused = errors.New("account: a used refresh token came back: its grant is revoked")
	// ErrOIDCClientCredentials: the client id and secret are not those of
	// a confidential client.
	ErrOIDCClientCredentials = errors.New("account: the client id and secret do not match a registered confidential client")
	// ErrOIDCOtherBrowser: a sign-in request's code was asked for by a
	// browser other than the one (the session) that signed in for it.
	ErrOIDCOtherBrowser = errors.New("account: this sign-in was made in another browser")
)

// AMRFor says how a session's sign-in was made, as amr values.
func AMRFor(secondFactor string) []string {
	switch secondFactor {
	case SecondFactorTOTP:
		return []string{AMRPassword, AMROTP, AMRMFA}
	case SecondFactorBackupCode:
		return []string{AMRPassword, AMRMFA, AMRBackupCode}
	case SecondFactorDevice:
		return []string{AMRPassword, AMRMFA, AMRDevice}
	}
	return []string{AMRPassword}
}

// ACRFor is the assurance level of a sign-in made with amr.
func ACRFor(amr []string) string {
	if slices.Contains(amr, AMRMFA) {
		return ACRTwoFactor
	}
	return ACRPassword
}

// OIDCParams are the parts of an app's authorization request that matter
// after it was validated, kept with the request until its code is used.
type OIDCParams struct {
	RedirectURI         string   `json:"redirect_uri"`
	Scopes              []string `json:"scopes"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	ResponseType        string   `json:"response_type"`
	ResponseMode        string   `json:"response_mode,omitempty"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
	ACRValues           []string `json:"acr_values,omitempty"`
	// MaxAge in seconds, nil when the app set none (prompt=login is 0).
	MaxAge *uint    `json:"max_age,omitempty"`
	Prompt []string `json:"prompt,omitempty"`
}

// WantsTwoFactor reports whether the app asked for the second factor:
// acr_values names aal2 and not aal1.
func (p *OIDCParams) WantsTwoFactor() bool {
	return slices.Contains(p.ACRValues, ACRTwoFactor) && !slices.Contains(p.ACRValues, ACRPassword)
}

// NeedsTypedCode reports whether a sign-in for this request must type
// the code now: the app wants a fresh sign-in (max_age, prompt=login) and
// the second factor (aal2, or client c requires it). A remembered device,
// which skips the code, does not do for that.
func (p *OIDCParams) NeedsTypedCode(c *OIDCClient) bool {
	return p.MaxAge != nil && (c.RequireTwoFactor || p.WantsTwoFactor())
}

// PromptNone reports whether the app asked that no page be shown.
func (p *OIDCParams) PromptNone() bool { return slices.Contains(p.Prompt, "none") }

// Params decodes the request's parameters.
func (r *OIDCAuthRequest) Decode() (*OIDCParams, error) {
	var p OIDCParams
	if err := json.Unmarshal([]byte(r.Params), &p); err != nil {
		return nil, fmt.Errorf("account: oidc request params: %w", err)
	}
	return &p, nil
}

// Satisfied reports whether a sign-in satisfied the request.
func (r *OIDCAuthRequest) Satisfied() bool { return r.UserID != 0 }

// OIDCClientInput is what an administrator registers.
type OIDCClientInput struct {
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Public                 bool
	RequireTwoFactor       bool
	// IDTokenAlgorithm is "RS256" (also for "") or "ES256".
	IDTokenAlgorithm string
}

// AuditActions of the OpenID clients.
const (
	AuditOIDCClientAdd    AuditAction = "oidc_client_add"
	AuditOIDCClientRemove AuditAction = "oidc_client_remove"
	AuditOIDCClientSecret AuditAction = "oidc_client_rotate_secret"
	AuditOIDCKeysRotate   AuditAction = "oidc_keys_rotate"
)

// ValidRedirectURI reports what is wrong with uri as a registered redirect
// (or post-logout redirect) URI, or "": absolute, https, or http only to
// a loopback host (RFC 8252), no fragment, no userinfo.
func ValidRedirectURI(uri string) string {
	if uri == "" {
		return "Enter a redirect URI."
	}
	if len(uri) > 2000 {
		return "A redirect URI is at most 2000 characters."
	}
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || !u.IsAbs() || u.Opaque != "" {
		return fmt.Sprintf("%q is not an absolute URL, such as https://app.example.com/callback.", uri)
	}
	if u.User != nil || u.Fragment != "" || strings.Contains(uri, "#") {
		return fmt.Sprintf("%q may not carry a user name or a #fragment.", uri)
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if h := u.Hostname(); h == "localhost" || net.ParseIP(h).IsLoopback() {
			return ""
		}
		return fmt.Sprintf("%q uses plain http: only https is allowed, or http to localhost or 127.0.0.1.", uri)
	}
	return fmt.Sprintf("%q must start with https:// (or http:// for localhost).", uri)
}

func (in OIDCClientInput) validate() (*OIDCClient, error) {
	fields := map[string]string{}
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		fields["name"] = "Enter the app's name: people see it when they sign in."
	case utf8.RuneCountInString(name) > 100:
		fields["name"] = "The name is at most 100 characters."
	}
	clean := func(field string, uris []string, need bool) []string {
		var out []string
		for _, u := range uris {
			u = strings.TrimSpace(u)
			if u == "" {
				continue
			}
			if problem := ValidRedirectURI(u); problem != "" {
				fields[field] = problem
				return nil
			}
			if !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
		if need && len(out) == 0 && fields[field] == "" {
			fields[field] = "Enter at least one redirect URI: where the app receives the sign-in."
		}
		if len(out) > 20 {
			fields[field] = "At most 20 URIs."
		}
		return out
	}
	alg := in.IDTokenAlgorithm
	if alg == "" {
		alg = AlgRS256
	}
	if !slices.Contains(SigningAlgorithms, alg) {
		fields["id_token_signed_response_alg"] = "The ID tokens are signed with RS256 or ES256."
	}
	c := &OIDCClient{
		Name:                   name,
		IDTokenAlgorithm:       alg,
		Public:                 in.Public,
		RequireTwoFactor:       in.RequireTwoFactor,
		RedirectURIs:           clean("redirect_uris", in.RedirectURIs, true),
		PostLogoutRedirectURIs: clean("post_logout_redirect_uris", in.PostLogoutRedirectURIs, false),
	}
	if len(fields) > 0 {
		return nil, &ValidationError{Fields: fields}
	}
	return c, nil
}

func (c *OIDCClient) describe() string {
	kind := "confidential"
	if c.Public {
		kind = "public (PKCE)"
	}
	d := fmt.Sprintf("%s, %s, redirect %s", c.Name, kind, strings.Join(c.RedirectURIs, " "))
	if c.RequireTwoFactor {
		d += ", requires 2FA"
	}
	return d
}

// oidcAdmin checks that by may manage the provider: an administrator, or
// the operator at the command line (by nil).
func (s *Service) oidcAdmin(ctx context.Context, by *Session) (*User, error) {
	if by == nil {
		return nil, nil
	}
	return s.requireAdmin(ctx, by)
}

func (s *Service) stillOIDCAdmin(ctx context.Context, tx Tx, admin *User, by *Session) error {
	if by == nil {
		return nil
	}
	return s.stillAdmin(ctx, tx, admin, by)
}

// OIDCTokenKey is the provider's symmetric key (the protocol library
// encrypts its codes and opaque access tokens with it), derived from the
// server key so that every instance has the same one.
func (s *Service) OIDCTokenKey() [32]byte {
	return sha256.Sum256([]byte(s.keys.MAC([]byte("twofold oidc token key v1"))))
}

// clientSecret makes a confidential client's secret and its keyed hash.
func (s *Service) clientSecret() (secret, hash string, err error) {
	secret, err = s.newToken()
	if err != nil {
		return "", "", err
	}
	return secret, s.keys.MAC([]byte("oidc-client-secret\x00" + secret)), nil
}

// RegisterOIDCClient registers an app with the OpenID provider, for an
// administrator or (by nil) the operator. A confidential client's secret
// is returned this once; only its keyed hash is stored.
func (s *Service) RegisterOIDCClient(ctx context.Context, by *Session, in OIDCClientInput, c Client) (*OIDCClient, string, error) {
	admin, err := s.oidcAdmin(ctx, by)
	if err != nil {
		return nil, "", err
	}
	client, err := in.validate()
	if err != nil {
		return nil, "", err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, "", fmt.Errorf("account: client id: %w", err)
	}
	client.ID = hex.EncodeToString(b)
	client.CreatedAt = s.now()
	var secret string
	if !client.Public {
		if secret, client.SecretHash, err = s.clientSecret(); err != nil {
			return nil, "", err
		}
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillOIDCAdmin(ctx, tx, admin, by); err != nil {
			return err
		}
		if err := tx.CreateOIDCClient(ctx, client); err != nil {
			return err
		}
		return s.audit(ctx, tx, admin, AuditOIDCClientAdd, client.ID, client.describe(), c)
	})
	if err != nil {
		return nil, "", s.fault(ctx, "register oidc client", err, nil)
	}
	return client, secret, nil
}

// OIDCClients lists the registered apps, for an administrator or the
// operator.
func (s *Service) OIDCClients(ctx context.Context, by *Session) ([]*OIDCClient, error) {
	if _, err := s.oidcAdmin(ctx, by); err != nil {
		return nil, err
	}
	return s.store.OIDCClients(ctx)
}

// RemoveOIDCClient unregisters an app: its requests, grants and tokens
// end with it.
func (s *Service) RemoveOIDCClient(ctx context.Context, by *Session, id string, c Client) error {
	admin, err := s.oidcAdmin(ctx, by)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillOIDCAdmin(ctx, tx, admin, by); err != nil {
			return err
		}
		was, err := tx.DeleteOIDCClient(ctx, id)
		if err != nil {
			return oidcClientNotFound(err)
		}
		return s.audit(ctx, tx, admin, AuditOIDCClientRemove, id, was.describe(), c)
	})
	if err != nil {
		return s.fault(ctx, "remove oidc client", err, nil)
	}
	return nil
}

// RotateOIDCClientSecret gives a confidential client a new secret (shown
// this once); the old one stops working at once.
func (s *Service) RotateOIDCClientSecret(ctx context.Context, by *Session, id string, c Client) (string, error) {
	admin, err := s.oidcAdmin(ctx, by)
	if err != nil {
		return "", err
	}
	secret, hash, err := s.clientSecret()
	if err != nil {
		return "", err
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := s.stillOIDCAdmin(ctx, tx, admin, by); err != nil {
			return err
		}
		if err := tx.SetOIDCClientSecret(ctx, id, hash); err != nil {
			return oidcClientNotFound(err)
		}
		return s.audit(ctx, tx, admin, AuditOIDCClientSecret, id, "", c)
	})
	if err != nil {
		return "", s.fault(ctx, "rotate oidc client secret", err, nil)
	}
	return secret, nil
}

func oidcClientNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return ErrOIDCClientNotFound
	}
	return err
}

// OIDCClient returns a registered app, for the protocol.
func (s *Service) OIDCClient(ctx context.Context, id string) (*OIDCClient, error) {
	c, err := s.store.OIDCClient(ctx, id)
	if err != nil {
		return nil, oidcClientNotFound(err)
	}
	return c, nil
}

// CheckOIDCClientSecret reports whether secret is the confidential client
// id's. Secrets are 256 random bits, so guessing needs no throttle.
func (s *Service) CheckOIDCClientSecret(ctx context.Context, id, secret string) error {
	// One answer for an unknown client, a public one and a wrong secret,
	// so that it tells an outsider nothing about which client ids exist.
	c, err := s.store.OIDCClient(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("account: oidc client: %w", err)
	}
	got := s.keys.MAC([]byte("oidc-client-secret\x00" + secret))
	if err != nil || c.Public || c.SecretHash == "" || !hmac.Equal([]byte(got), []byte(c.SecretHash)) {
		return ErrOIDCClientCredentials
	}
	return nil
}

// Limits of an authorization request, which anyone may send: each is
// stored until it expires, so its size and their number are bounded.
const (
	oidcMaxParam    = 2048 // state, nonce
	oidcMaxList     = 10   // scopes, acr_values, prompt values
	oidcRequestsPer = 300  // authorization requests per client IP...
	oidcRequestsWin = 10 * time.Minute
)

// StartOIDCAuthRequest keeps an app's validated authorization request
// until a sign-in satisfies it. Only S256 PKCE is accepted, and a public
// client must use it. Anyone may start one, so they are counted per
// client IP (c) and their parameters bounded.
func (s *Service) StartOIDCAuthRequest(ctx context.Context, client *OIDCClient, p *OIDCParams, c Client) (*OIDCAuthRequest, error) {
	switch {
	case len(p.State) > oidcMaxParam || len(p.Nonce) > oidcMaxParam:
		return nil, &ValidationError{Fields: map[string]string{"state": fmt.Sprintf("state and nonce are at most %d characters.", oidcMaxParam)}}
	case p.CodeChallenge != "" && (len(p.CodeChallenge) < 43 || len(p.CodeChallenge) > 128):
		return nil, &ValidationError{Fields: map[string]string{"code_challenge": "A code_challenge is 43 to 128 characters (RFC 7636)."}}
	case len(p.Scopes) > oidcMaxList || len(p.ACRValues) > oidcMaxList || len(p.Prompt) > oidcMaxList:
		return nil, &ValidationError{Fields: map[string]string{"scope": fmt.Sprintf("At most %d scopes, acr_values or prompt values.", oidcMaxList)}}
	case p.CodeChallenge != "" && p.CodeChallengeMethod != "S256":
		return nil, &ValidationError{Fields: map[string]string{"code_challenge_method": "Only S256 is supported."}}
	case client.Public && p.CodeChallenge == "":
		return nil, &ValidationError{Fields: map[string]string{"code_challenge": "A public client must use PKCE (S256)."}}
	case p.ResponseMode != "" && p.ResponseMode != "query" && p.ResponseMode != "fragment":
		// form_post would need a page that posts to the app by script,
		// which the pages' policy (no inline script, form-action) forbids.
		return nil, &ValidationError{Fields: map[string]string{"response_mode": "Only the query and fragment response modes are supported."}}
	case p.ResponseType != "code":
		return nil, &ValidationError{Fields: map[string]string{"response_type": "Only the authorization code flow (response_type=code) is supported."}}
	}
	for _, v := range append(append(slices.Clone(p.ACRValues), p.Prompt...), p.Scopes...) {
		if len(v) > 64 {
			return nil, &ValidationError{Fields: map[string]string{"scope": "A scope, acr value or prompt value is at most 64 characters."}}
		}
	}
	if _, err := s.reserve(ctx, AttemptLimit{Kind: "oidc_request_ip", Key: "oidc-request:ip:" + ipKey(c.IP), Limit: oidcRequestsPer, Window: oidcRequestsWin}); err != nil {
		return nil, err
	}
	id, err := s.newToken()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("account: oidc request params: %w", err)
	}
	now := s.now()
	r := &OIDCAuthRequest{ID: id, ClientID: client.ID, Params: string(raw), CreatedAt: now, ExpiresAt: now.Add(OIDCRequestTTL)}
	if err := s.write(ctx, func(ctx context.Context, tx Tx) error {
		return tx.CreateOIDCAuthRequest(ctx, r)
	}); err != nil {
		return nil, s.fault(ctx, "start oidc request", err, nil)
	}
	return r, nil
}

// OIDCAuthRequest returns a request that has not expired.
func (s *Service) OIDCAuthRequest(ctx context.Context, id string) (*OIDCAuthRequest, error) {
	r, err := s.store.OIDCAuthRequest(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !r.ExpiresAt.After(s.now())) {
		return nil, ErrOIDCRequestNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("account: oidc request: %w", err)
	}
	return r, nil
}

// OIDCRequestForCallback returns the request id for the browser whose
// session token is token, at the provider's callback, which hands out the
// code: a satisfied request only to the browser whose session satisfied
// it, while that session lasts. The request's id travels in links (it is
// no secret), so without this whoever knew it could collect the code of
// someone else's sign-in (ErrOIDCOtherBrowser). An unsatisfied request is
// returned as it is: the callback then tells the app that a sign-in is
// needed, and hands out nothing.
func (s *Service) OIDCRequestForCallback(ctx context.Context, id, token string) (*OIDCAuthRequest, error) {
	r, err := s.OIDCAuthRequest(ctx, id)
	if err != nil || !r.Satisfied() {
		return r, err
	}
	if token == "" || !hmac.Equal([]byte(hashToken(token)), []byte(r.SessionHash)) {
		return nil, ErrOIDCOtherBrowser
	}
	if _, err := s.Session(ctx, token); err != nil {
		return nil, ErrOIDCOtherBrowser
	}
	return r, nil
}

// OIDCRequestForSignIn returns an unexpired request that no sign-in has
// satisfied yet, decoded, with its client: what the sign-in pages need.
func (s *Service) OIDCRequestForSignIn(ctx context.Context, id string) (*OIDCAuthRequest, *OIDCParams, *OIDCClient, error) {
	r, err := s.OIDCAuthRequest(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	if r.Satisfied() {
		return nil, nil, nil, ErrOIDCRequestNotFound
	}
	p, err := r.Decode()
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := s.OIDCClient(ctx, r.ClientID)
	if err != nil {
		return nil, nil, nil, err
	}
	return r, p, c, nil
}

// OIDCNeedsTypedCode reports whether the sign-in for request id must
// type the code rather than use a remembered device (NeedsTypedCode):
// the sign-in page then leaves the device out.
func (s *Service) OIDCNeedsTypedCode(ctx context.Context, id string) bool {
	_, p, c, err := s.OIDCRequestForSignIn(ctx, id)
	return err == nil && p.NeedsTypedCode(c)
}

// OIDCAuthRequestByCode returns the satisfied request a code was handed
// out for, while it has not expired.
func (s *Service) OIDCAuthRequestByCode(ctx context.Context, code string) (*OIDCAuthRequest, error) {
	r, err := s.store.OIDCAuthRequestByCode(ctx, hashToken(code))
	if errors.Is(err, ErrNotFound) || (err == nil && (!r.ExpiresAt.After(s.now()) || !r.Satisfied())) {
		return nil, ErrOIDCCodeUsed
	}
	if err != nil {
		return nil, fmt.Errorf("account: oidc request by code: %w", err)
	}
	return r, nil
}

// OIDCOutcome is what a signed-in browser needs before an app's request
// is satisfied.
type OIDCOutcome int

const (
	// OIDCAllow: the session satisfies the request as it is.
	OIDCAllow OIDCOutcome = iota
	// OIDCSignInAgain: the app wants a sign-in more recent than this one
	// (max_age, prompt=login), or a second factor this sign-in did not
	// use while the account has 2FA: sign in again, with the code.
	OIDCSignInAgain
	// OIDCEnroll: the account must enable 2FA first (the app or the
	// server requires it and the account has none).
	OIDCEnroll
)

// DecideOIDC says what the complete session sess lacks for request r of
// client c, if anything.
func (s *Service) DecideOIDC(sess *Session, r *OIDCAuthRequest, p *OIDCParams, c *OIDCClient) OIDCOutcome {
	u := sess.Profile.User
	if s.EnrollmentDue(sess) {
		return OIDCEnroll
	}
	// A password check made after the request arrived satisfies any
	// max_age, prompt=login included.
	fresh := !sess.AuthenticatedAt.Before(r.CreatedAt.Truncate(time.Millisecond))
	if p.MaxAge != nil && !fresh && s.now().Sub(sess.AuthenticatedAt) > time.Duration(*p.MaxAge)*time.Second {
		return OIDCSignInAgain
	}
	if (c.RequireTwoFactor || p.WantsTwoFactor()) && sess.SecondFactor == "" {
		if u.TwoFactorEnabled() {
			return OIDCSignInAgain
		}
		return OIDCEnroll
	}
	if p.NeedsTypedCode(c) && sess.SecondFactor == SecondFactorDevice {
		return OIDCSignInAgain // the sign-in again leaves the device out (OIDCNeedsTypedCode)
	}
	return OIDCAllow
}

// SatisfyOIDCAuthRequest records that the complete session of token
// satisfies request id (the caller decided so with DecideOIDC): its
// account, its sign-in's time and how it was made. Once per request, and
// only while the session and the account are as read.
func (s *Service) SatisfyOIDCAuthRequest(ctx context.Context, sess *Session, id string) error {
	u := sess.Profile.User
	amr := AMRFor(sess.SecondFactor)
	subject, err := s.newToken()
	if err != nil {
		return err
	}
	now := s.now()
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.RequireSecurityVersion(ctx, u.ID, u.SecurityVersion); err != nil {
			return err
		}
		if err := holdSession(ctx, tx, sess); err != nil {
			return err
		}
		if !u.TwoFactorEnabled() && sess.Profile != nil {
			// An account without 2FA was let through on the settings
			// read with the session ("Require 2FA for all users" off, or
			// its grace period running): they must still be those.
			if err := tx.UpdateSettings(ctx, sess.Profile.Settings, sess.Profile.Settings); err != nil {
				return err
			}
		}
		if _, err := tx.SetOIDCSubject(ctx, u.ID, subject); err != nil {
			return fmt.Errorf("account: oidc subject: %w", err)
		}
		ok, err := tx.SatisfyOIDCAuthRequest(ctx, id, u.ID, u.SecurityVersion, sess.TokenHash, sess.AuthenticatedAt, amr, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrOIDCRequestNotFound
		}
		return nil
	})
	if err != nil {
		return s.fault(ctx, "satisfy oidc request", err, nil)
	}
	return nil
}

// SetOIDCAuthCode hands out code for the satisfied request id (stored as
// its hash), once.
func (s *Service) SetOIDCAuthCode(ctx context.Context, id, code string) error {
	err := s.write(ctx, func(ctx context.Context, tx Tx) error {
		ok, err := tx.SetOIDCAuthCode(ctx, id, hashToken(code), s.now())
		if err != nil {
			return err
		}
		if !ok {
			return ErrOIDCRequestNotFound
		}
		return nil
	})
	if err != nil {
		return s.fault(ctx, "set oidc code", err, nil)
	}
	return nil
}

// OIDCSubject returns the user's subject ("sub"): stable, opaque, never
// the row id.
func (s *Service) OIDCSubject(ctx context.Context, userID int64) (string, error) {
	sub, err := s.store.OIDCSubject(ctx, userID)
	if err != nil {
		return "", fmt.Errorf("account: oidc subject: %w", err)
	}
	return sub, nil
}

// OIDCTokens is what an exchange gives an app.
type OIDCTokens struct {
	AccessTokenID string
	RefreshToken  string // "" without offline_access
	ExpiresAt     time.Time
	Grant         *OIDCGrant
}

// ExchangeOIDCCode turns a satisfied request's code (once) into a grant
// with an access token and, with refresh, a refresh token, only while the
// account is as it was at the sign-in (same security version, so not
// deactivated, no password or 2FA change since).
func (s *Service) ExchangeOIDCCode(ctx context.Context, r *OIDCAuthRequest, code string, refresh bool) (*OIDCTokens, error) {
	p, err := r.Decode()
	if err != nil {
		return nil, err
	}
	now := s.now()
	g := &OIDCGrant{ClientID: r.ClientID, UserID: r.UserID, Scopes: p.Scopes, AMR: r.AMR, AuthTime: r.AuthTime,
		SecurityVersion: r.SecurityVersion, CreatedAt: now}
	out := &OIDCTokens{Grant: g}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		ok, err := tx.DeleteOIDCAuthRequest(ctx, r.ID, hashToken(code), now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrOIDCCodeUsed
		}
		if err := tx.RequireSecurityVersion(ctx, r.UserID, r.SecurityVersion); err != nil {
			if errors.Is(err, ErrStale) || errors.Is(err, ErrNotFound) {
				return ErrOIDCGrantEnded
			}
			return err
		}
		if err := tx.CreateOIDCGrant(ctx, g); err != nil {
			return err
		}
		return s.issueOIDCTokens(ctx, tx, g, refresh, now, out)
	})
	if err != nil {
		return nil, s.fault(ctx, "exchange oidc code", err, nil)
	}
	return out, nil
}

func (s *Service) issueOIDCTokens(ctx context.Context, tx Tx, g *OIDCGrant, refresh bool, now time.Time, out *OIDCTokens) error {
	id, err := s.newToken()
	if err != nil {
		return err
	}
	t := &OIDCAccessToken{ID: id, GrantID: g.ID, CreatedAt: now, ExpiresAt: now.Add(OIDCAccessTokenTTL)}
	if err := tx.CreateOIDCAccessToken(ctx, t); err != nil {
		return err
	}
	out.AccessTokenID, out.ExpiresAt = t.ID, t.ExpiresAt
	if !refresh {
		return nil
	}
	rt, err := s.newToken()
	if err != nil {
		return err
	}
	if err := tx.CreateOIDCRefreshToken(ctx, &OIDCRefreshToken{TokenHash: hashToken(rt), GrantID: g.ID,
		CreatedAt: now, ExpiresAt: now.Add(OIDCRefreshTTL)}); err != nil {
		return err
	}
	out.RefreshToken = rt
	return nil
}

// liveGrant reports whether a grant still holds for its account as read.
func (s *Service) liveGrant(h *OIDCGrantHolder) bool {
	return h.Grant.RevokedAt.IsZero() && h.User.DeactivatedAt.IsZero() && h.User.SecurityVersion == h.Grant.SecurityVersion
}

// OIDCRefreshGrant returns the grant of a refresh token that may be
// exchanged. A used one revokes its grant (reuse: someone holds a copy)
// and answers ErrOIDCRefreshReused.
func (s *Service) OIDCRefreshGrant(ctx context.Context, token string) (*OIDCGrantHolder, error) {
	rt, h, err := s.store.OIDCRefreshToken(ctx, hashToken(token))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrOIDCGrantEnded
	}
	if err != nil {
		return nil, fmt.Errorf("account: oidc refresh token: %w", err)
	}
	if !rt.UsedAt.IsZero() {
		if err := s.revokeReused(ctx, h); err != nil {
			return nil, err
		}
		return nil, ErrOIDCRefreshReused
	}
	if !rt.ExpiresAt.After(s.now()) || !s.liveGrant(h) {
		return nil, ErrOIDCGrantEnded
	}
	return h, nil
}

// revokeReused ends the grant of a refresh token that came back, with its
// record in the account's activity.
func (s *Service) revokeReused(ctx context.Context, h *OIDCGrantHolder) error {
	err := s.write(ctx, func(ctx context.Context, tx Tx) error {
		revoked, err := tx.RevokeOIDCGrant(ctx, h.Grant.ID, s.now())
		if err != nil || !revoked {
			return err
		}
		return s.record(ctx, tx, h.User.ID, EventOIDCTokenReused, h.Grant.ClientID, Client{IP: "app"})
	})
	if err != nil {
		return s.fault(ctx, "revoke reused oidc grant", err, nil)
	}
	return nil
}

// RefreshOIDC exchanges refresh token token of grant h for a new one and
// a new access token, once: a second exchange of the same token (a copy,
// or a race) revokes the grant instead.
func (s *Service) RefreshOIDC(ctx context.Context, h *OIDCGrantHolder, token string) (*OIDCTokens, error) {
	now := s.now()
	out := &OIDCTokens{Grant: &h.Grant}
	reused := false
	err := s.write(ctx, func(ctx context.Context, tx Tx) error {
		ok, err := tx.UseOIDCRefreshToken(ctx, hashToken(token), now)
		if err != nil {
			return err
		}
		if !ok {
			reused = true
			revoked, err := tx.RevokeOIDCGrant(ctx, h.Grant.ID, now)
			if err != nil || !revoked {
				return err
			}
			return s.record(ctx, tx, h.User.ID, EventOIDCTokenReused, h.Grant.ClientID, Client{IP: "app"})
		}
		if err := tx.RequireSecurityVersion(ctx, h.User.ID, h.Grant.SecurityVersion); err != nil {
			if errors.Is(err, ErrStale) || errors.Is(err, ErrNotFound) {
				return ErrOIDCGrantEnded
			}
			return err
		}
		return s.issueOIDCTokens(ctx, tx, &h.Grant, true, now, out)
	})
	if err != nil {
		return nil, s.fault(ctx, "refresh oidc", err, nil)
	}
	if reused {
		return nil, ErrOIDCRefreshReused
	}
	return out, nil
}

// OIDCAccessGrant returns the grant and account of a live access token.
func (s *Service) OIDCAccessGrant(ctx context.Context, id string) (*OIDCGrantHolder, error) {
	t, h, err := s.store.OIDCAccessToken(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrOIDCGrantEnded
	}
	if err != nil {
		return nil, fmt.Errorf("account: oidc access token: %w", err)
	}
	if !t.ExpiresAt.After(s.now()) || !s.liveGrant(h) {
		return nil, ErrOIDCGrantEnded
	}
	return h, nil
}

// RevokeOIDCRefreshToken ends the grant of a refresh token of client
// clientID (RFC 7009: revoking a refresh token revokes its family).
// Unknown tokens are not an error.
func (s *Service) RevokeOIDCRefreshToken(ctx context.Context, clientID, token string) error {
	_, h, err := s.store.OIDCRefreshToken(ctx, hashToken(token))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("account: oidc refresh token: %w", err)
	}
	if h.Grant.ClientID != clientID {
		return nil
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		_, err := tx.RevokeOIDCGrant(ctx, h.Grant.ID, s.now())
		return err
	})
	if err != nil {
		return s.fault(ctx, "revoke oidc grant", err, nil)
	}
	return nil
}

// RevokeOIDCAccessToken ends one access token of client clientID.
func (s *Service) RevokeOIDCAccessToken(ctx context.Context, clientID, id string) error {
	_, h, err := s.store.OIDCAccessToken(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("account: oidc access token: %w", err)
	}
	if h.Grant.ClientID != clientID {
		return nil
	}
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		_, err := tx.DeleteOIDCAccessToken(ctx, id)
		return err
	})
	if err != nil {
		return s.fault(ctx, "revoke oidc access token", err, nil)
	}
	return nil
}

// OIDCUser returns the account a satisfied request was for, while it is
// as it was at the sign-in.
func (s *Service) OIDCUser(ctx context.Context, r *OIDCAuthRequest) (*User, error) {
	u, err := s.store.UserByID(ctx, r.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && (u.SecurityVersion != r.SecurityVersion || !u.DeactivatedAt.IsZero())) {
		return nil, ErrOIDCGrantEnded
	}
	if err != nil {
		return nil, fmt.Errorf("account: oidc user: %w", err)
	}
	return u, nil
}

// SigningKey is an ID-token signing key, opened.
type SigningKey struct {
	ID        string
	Algorithm string
	Private   any // *rsa.PrivateKey or *ecdsa.PrivateKey
	Public    any
	Active    bool
}

func keyAD(id string) []byte { return []byte("oidc-signing-key\x00" + id) }

func (s *Service) openSigningKey(k *OIDCSigningKey) (*SigningKey, error) {
	der, err := s.keys.Open(k.Sealed.KeyID, k.Sealed.Ciphertext, keyAD(k.ID))
	if err != nil {
		return nil, fmt.Errorf("account: open signing key %s: %w", k.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("account: parse signing key %s: %w", k.ID, err)
	}
	out := &SigningKey{ID: k.ID, Algorithm: k.Algorithm, Private: priv, Active: k.RetiredAt.IsZero()}
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		out.Public = &p.PublicKey
	case *ecdsa.PrivateKey:
		out.Public = &p.PublicKey
	default:
		return nil, fmt.Errorf("account: signing key %s: unsupported type %T", k.ID, priv)
	}
	return out, nil
}

// SigningKeys returns the published keys: the active key of each
// algorithm first, then the ones retired less than OIDCRetiredKeyTTL ago,
// making the missing active ones (the first time they are needed).
func (s *Service) SigningKeys(ctx context.Context) ([]*SigningKey, error) {
	for range 2 {
		stored, err := s.store.OIDCSigningKeys(ctx, s.now().Add(-OIDCRetiredKeyTTL))
		if err != nil {
			return nil, fmt.Errorf("account: signing keys: %w", err)
		}
		var out []*SigningKey
		active := map[string]bool{}
		for _, k := range stored {
			sk, err := s.cachedSigningKey(k)
			if err != nil {
				return nil, err
			}
			if sk.Active {
				active[sk.Algorithm] = true
			}
			out = append(out, sk)
		}
		var missing []string
		for _, alg := range SigningAlgorithms {
			if !active[alg] {
				missing = append(missing, alg)
			}
		}
		if len(missing) == 0 {
			slices.SortStableFunc(out, func(a, b *SigningKey) int {
				if a.Active == b.Active {
					return 0
				}
				if a.Active {
					return -1
				}
				return 1
			})
			return out, nil
		}
		if err := s.newSigningKeys(ctx, missing, nil); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("account: no active signing key after making one")
}

// SigningKeyFor returns the active key of algorithm alg.
func (s *Service) SigningKeyFor(ctx context.Context, alg string) (*SigningKey, error) {
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.Active && k.Algorithm == alg {
			return k, nil
		}
	}
	return nil, fmt.Errorf("account: no active %s signing key", alg)
}

func (s *Service) cachedSigningKey(k *OIDCSigningKey) (*SigningKey, error) {
	s.signingMu.Lock()
	defer s.signingMu.Unlock()
	if sk, ok := s.signingKeys[k.ID]; ok {
		cp := *sk
		cp.Active = k.RetiredAt.IsZero()
		return &cp, nil
	}
	sk, err := s.openSigningKey(k)
	if err != nil {
		return nil, err
	}
	if s.signingKeys == nil {
		s.signingKeys = map[string]*SigningKey{}
	}
	s.signingKeys[k.ID] = sk
	return sk, nil
}

// keyRotation is who rotates the signing keys and from where.
type keyRotation struct {
	admin *User    // nil for the operator
	by    *Session // nil for the operator
	c     Client
}

// newSigningKeys makes a signing key of each of algs and stores it as
// the active one of its algorithm. With a rotation, the active keys are
// retired first, in the same transaction; without, two instances making
// the first key at once make one (CreateOIDCSigningKey's condition).
func (s *Service) newSigningKeys(ctx context.Context, algs []string, rotation *keyRotation) error {
	var keys []*OIDCSigningKey
	for _, alg := range algs {
		k, err := s.makeSigningKey(alg)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	err := s.write(ctx, func(ctx context.Context, tx Tx) error {
		if rotation != nil {
			if err := s.stillOIDCAdmin(ctx, tx, rotation.admin, rotation.by); err != nil {
				return err
			}
			if _, err := tx.RetireOIDCSigningKeys(ctx, s.now()); err != nil {
				return err
			}
		}
		var ids []string
		for _, k := range keys {
			if _, err := tx.CreateOIDCSigningKey(ctx, k); err != nil {
				return err
			}
			ids = append(ids, k.ID)
		}
		if rotation != nil {
			return s.audit(ctx, tx, rotation.admin, AuditOIDCKeysRotate, strings.Join(ids, " "), "", rotation.c)
		}
		return nil
	})
	if err != nil {
		return s.fault(ctx, "store signing keys", err, nil)
	}
	return nil
}

// makeSigningKey generates a private key of algorithm alg, sealed with the
// server key.
func (s *Service) makeSigningKey(alg string) (*OIDCSigningKey, error) {
	var priv any
	var err error
	switch alg {
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("account: signing key: unknown algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("account: generate %s signing key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("account: encode signing key: %w", err)
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("account: signing key id: %w", err)
	}
	id := hex.EncodeToString(b)
	keyID, ct, err := s.keys.Seal(der, keyAD(id))
	if err != nil {
		return nil, fmt.Errorf("account: seal signing key: %w", err)
	}
	return &OIDCSigningKey{ID: id, Algorithm: alg, Sealed: SealedSecret{KeyID: keyID, Ciphertext: ct}, CreatedAt: s.now()}, nil
}

// RotateSigningKeys retires the active signing key (it stays published
// for OIDCRetiredKeyTTL, so the ID tokens it signed still verify) and
// makes a new one, for an administrator or (by nil) the operator.
func (s *Service) RotateSigningKeys(ctx context.Context, by *Session, c Client) error {
	admin, err := s.oidcAdmin(ctx, by)
	if err != nil {
		return err
	}
	return s.newSigningKeys(ctx, SigningAlgorithms, &keyRotation{admin: admin, by: by, c: c})
}
