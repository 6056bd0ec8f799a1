package rowmap

import (
	"strings"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// The OpenID provider's lists are stored as text: redirect URIs one a
// line (a URI holds no newline), scopes and AMR values space-separated
// (as OAuth writes scopes; neither holds a space).

// Lines joins a list one item a line.
func Lines(items []string) string { return strings.Join(items, "\n") }

// Words joins a list space-separated.
func Words(items []string) string { return strings.Join(items, " ") }

// splitLines reads Lines back; "" is no items.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// splitWords reads Words back; "" is no items.
func splitWords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// NullMillis is how an optional time is stored: NULL for the zero time.
func NullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return Millis(t)
}

func fromNullMillis(ms *int64) time.Time {
	if ms == nil {
		return time.Time{}
	}
	return FromMillis(*ms)
}

// OIDCClientColumns are the columns of an OpenID client, in
// ScanOIDCClient's order.
const OIDCClientColumns = `id, name, secret_hash, public, redirect_uris, post_logout_redirect_uris, require_two_factor, created_at, id_token_alg`

// ScanOIDCClient reads a row of OIDCClientColumns.
func ScanOIDCClient(row Scanner) (*account.OIDCClient, error) {
	var c account.OIDCClient
	var public, require, created int64
	var redirects, logouts string
	if err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &public, &redirects, &logouts, &require, &created, &c.IDTokenAlgorithm); err != nil {
		return nil, err
	}
	c.Public, c.RequireTwoFactor = public != 0, require != 0
	c.RedirectURIs, c.PostLogoutRedirectURIs = splitLines(redirects), splitLines(logouts)
	c.CreatedAt = FromMillis(created)
	return &c, nil
}

// OIDCAuthRequestColumns are the columns of an authorization request, in
// ScanOIDCAuthRequest's order.
const OIDCAuthRequestColumns = `id, client_id, params, created_at, expires_at,
	COALESCE(user_id, 0), security_version, auth_time, amr, COALESCE(code_hash, ''), COALESCE(session_hash, '')`

// ScanOIDCAuthRequest reads a row of OIDCAuthRequestColumns.
func ScanOIDCAuthRequest(row Scanner) (*account.OIDCAuthRequest, error) {
	var r account.OIDCAuthRequest
	var created, expires int64
	var authTime *int64
	var amr string
	if err := row.Scan(&r.ID, &r.ClientID, &r.Params, &created, &expires,
		&r.UserID, &r.SecurityVersion, &authTime, &amr, &r.CodeHash, &r.SessionHash); err != nil {
		return nil, err
	}
	r.CreatedAt, r.ExpiresAt = FromMillis(created), FromMillis(expires)
	r.AuthTime, r.AMR = fromNullMillis(authTime), splitWords(amr)
	return &r, nil
}

// OIDCSigningKeyColumns are the columns of a signing key, in
// ScanOIDCSigningKey's order.
const OIDCSigningKeyColumns = `id, algorithm, key_id, ciphertext, created_at, retired_at`

// ScanOIDCSigningKey reads a row of OIDCSigningKeyColumns.
func ScanOIDCSigningKey(row Scanner) (*account.OIDCSigningKey, error) {
	var k account.OIDCSigningKey
	var created int64
	var retired *int64
	if err := row.Scan(&k.ID, &k.Algorithm, &k.Sealed.KeyID, &k.Sealed.Ciphertext, &created, &retired); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RetiredAt = FromMillis(created), fromNullMillis(retired)
	return &k, nil
}

// oidcGrantColumns are a grant's columns (alias g), in grantDest's order.
var oidcGrantColumns = Qualified("g", `id, client_id, user_id, scopes, amr, auth_time, security_version, created_at, revoked_at`)

type grantDest struct {
	g                 account.OIDCGrant
	scopes, amr       string
	authTime, created int64
	revoked           *int64
}

func (d *grantDest) targets() []any {
	return []any{&d.g.ID, &d.g.ClientID, &d.g.UserID, &d.scopes, &d.amr, &d.authTime, &d.g.SecurityVersion, &d.created, &d.revoked}
}

func (d *grantDest) grant() account.OIDCGrant {
	g := d.g
	g.Scopes, g.AMR = splitWords(d.scopes), splitWords(d.amr)
	g.AuthTime, g.CreatedAt, g.RevokedAt = FromMillis(d.authTime), FromMillis(d.created), fromNullMillis(d.revoked)
	return g
}

// OIDCAccessTokenColumns is the select list of the one read behind a
// request with an access token: the token (alias t), its grant (alias g)
// and the grant's account (alias u, the columns every user read has), in
// ScanOIDCAccessToken's order.
var OIDCAccessTokenColumns = Qualified("t", `id, grant_id, created_at, expires_at`) + ", " + oidcGrantColumns + ", " + Qualified("u", UserColumns)

// ScanOIDCAccessToken reads a row of OIDCAccessTokenColumns.
func ScanOIDCAccessToken(row Scanner) (*account.OIDCAccessToken, *account.OIDCGrantHolder, error) {
	var t account.OIDCAccessToken
	var created, expires int64
	var gd grantDest
	var ud userDest
	targets := append([]any{&t.ID, &t.GrantID, &created, &expires}, gd.targets()...)
	if err := row.Scan(append(targets, ud.targets()...)...); err != nil {
		return nil, nil, err
	}
	t.CreatedAt, t.ExpiresAt = FromMillis(created), FromMillis(expires)
	return &t, &account.OIDCGrantHolder{Grant: gd.grant(), User: *ud.user()}, nil
}

// OIDCRefreshTokenColumns is the select list of a refresh token's read:
// the token (alias r), its grant (alias g) and the grant's account (alias
// u), in ScanOIDCRefreshToken's order.
var OIDCRefreshTokenColumns = Qualified("r", `token_hash, grant_id, created_at, expires_at, used_at`) + ", " + oidcGrantColumns + ", " + Qualified("u", UserColumns)

// ScanOIDCRefreshToken reads a row of OIDCRefreshTokenColumns.
func ScanOIDCRefreshToken(row Scanner) (*account.OIDCRefreshToken, *account.OIDCGrantHolder, error) {
	var t account.OIDCRefreshToken
	var created, expires int64
	var used *int64
	var gd grantDest
	var ud userDest
	targets := append([]any{&t.TokenHash, &t.GrantID, &created, &expires, &used}, gd.targets()...)
	if err := row.Scan(append(targets, ud.targets()...)...); err != nil {
		return nil, nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = FromMillis(created), FromMillis(expires), fromNullMillis(used)
	return &t, &account.OIDCGrantHolder{Grant: gd.grant(), User: *ud.user()}, nil
}
