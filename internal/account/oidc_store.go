package account

import (
	"context"
	"errors"
	"time"
)

// OIDCClient is an app registered with twofold's OpenID provider. ID is
// the client_id (random, not a row number). A confidential client keeps
// the keyed hash of its secret; a public one (Public) has none and must
// use PKCE. Redirect URIs are matched exactly.
type OIDCClient struct {
	ID                     string
	Name                   string
	SecretHash             string // keyed hash (Keyring.MAC); "" for a public client
	Public                 bool
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// RequireTwoFactor: every sign-in into this app needs the second
	// factor (acr aal2), whatever the app asks.
	RequireTwoFactor bool
	CreatedAt        time.Time
	// IDTokenAlgorithm signs its ID tokens: "RS256" or "ES256".
	IDTokenAlgorithm string
}

// OIDCAuthRequest is one authorization request of an app, from the
// moment twofold receives it until its code is exchanged (or it expires).
// Params is the request as the app sent it (the account package encodes
// and decodes it; the store keeps it as text). UserID is zero until a
// sign-in satisfies it; then AuthTime and AMR say how.
type OIDCAuthRequest struct {
	ID        string
	ClientID  string
	Params    string
	CreatedAt time.Time
	ExpiresAt time.Time

	UserID          int64
	SecurityVersion int64 // the account's at the sign-in that satisfied it
	AuthTime        time.Time
	AMR             []string
	CodeHash        string // set once, when the code is handed out
	// SessionHash is the token hash of the session that satisfied it:
	// only that browser collects the code.
	SessionHash string
}

// OIDCGrant is what one code exchange gave an app: its access tokens and,
// with offline_access, a family of refresh tokens. It ends when revoked,
// when a refresh token of it is used twice, or when the account's
// security version moves on (a password change, a 2FA change, a role
// change, deactivation): SecurityVersion is the account's at the sign-in.
type OIDCGrant struct {
	ID              int64
	ClientID        string
	UserID          int64
	Scopes          []string
	AMR             []string
	AuthTime        time.Time
	SecurityVersion int64
	CreatedAt       time.Time
	RevokedAt       time.Time // zero while in force
}

// OIDCAccessToken is an opaque access token's record; the token the app
// holds carries ID encrypted, never the other way round.
type OIDCAccessToken struct {
	ID        string
	GrantID   int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OIDCRefreshToken is one refresh token of a grant, stored as its hash.
// UsedAt is set when it is exchanged for the next one: presented again
// after that, it revokes its grant.
type OIDCRefreshToken struct {
	TokenHash string
	GrantID   int64
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unused
}

// OIDCGrantHolder is a grant with its account, read together, so a token
// is checked against the account as it is now in one read.
type OIDCGrantHolder struct {
	Grant OIDCGrant
	User  User
}

// OIDCSigningKey is a private key that signs ID tokens, sealed with the
// server key (bound to its ID). The active key of an algorithm is the one
// not retired; a retired key stays published (JWKS) for a while so that
// tokens it signed still verify.
type OIDCSigningKey struct {
	ID        string // the JWK "kid"
	Algorithm string // "RS256" or "ES256"
	Sealed    SealedSecret
	CreatedAt time.Time
	RetiredAt time.Time // zero while active
}

// oidcStore is the part of Store about the OpenID provider.
type oidcStore interface {
	// OIDCClient returns the client id; ErrNotFound if there is none.
	OIDCClient(ctx context.Context, id string) (*OIDCClient, error)
	// OIDCClients lists every client, by name.
	OIDCClients(ctx context.Context) ([]*OIDCClient, error)
	// OIDCAuthRequest returns the authorization request id, satisfied or
	// not, until it is deleted; ErrNotFound otherwise.
	OIDCAuthRequest(ctx context.Context, id string) (*OIDCAuthRequest, error)
	// OIDCAuthRequestByCode returns the request whose code hash is
	// codeHash; ErrNotFound otherwise.
	OIDCAuthRequestByCode(ctx context.Context, codeHash string) (*OIDCAuthRequest, error)
	// OIDCAccessToken returns access token id with its grant and account;
	// ErrNotFound if there is none.
	OIDCAccessToken(ctx context.Context, id string) (*OIDCAccessToken, *OIDCGrantHolder, error)
	// OIDCRefreshToken returns the refresh token of hash tokenHash, used
	// or not, with its grant and account; ErrNotFound if there is none.
	OIDCRefreshToken(ctx context.Context, tokenHash string) (*OIDCRefreshToken, *OIDCGrantHolder, error)
	// OIDCSigningKeys lists the signing keys that are active or retired
	// after retiredAfter, newest first.
	OIDCSigningKeys(ctx context.Context, retiredAfter time.Time) ([]*OIDCSigningKey, error)
	// OIDCSubject returns the user's subject ("sub"); ErrNotFound when the
	// user has none yet.
	OIDCSubject(ctx context.Context, userID int64) (string, error)
}

// oidcTx is the part of Tx about the OpenID provider.
type oidcTx interface {
	// CreateOIDCClient stores c; ErrConflict if its ID exists.
	CreateOIDCClient(ctx context.Context, c *OIDCClient) error
	// SetOIDCClientSecret replaces the secret hash of a confidential
	// client; ErrNotFound if there is no such client or it is public.
	SetOIDCClientSecret(ctx context.Context, id, secretHash string) error
	// DeleteOIDCClient deletes the client with its requests, grants and
	// tokens, and returns what it was; ErrNotFound if there is none.
	DeleteOIDCClient(ctx context.Context, id string) (*OIDCClient, error)

	// CreateOIDCAuthRequest stores r (unsatisfied).
	CreateOIDCAuthRequest(ctx context.Context, r *OIDCAuthRequest) error
	// SatisfyOIDCAuthRequest records that user userID's sign-in (at
	// authTime, with amr, at the account's security version, in the
	// session of hash sessionHash) satisfies request id, only while it is unsatisfied and expires after now:
	// false otherwise, and nothing is written.
	SatisfyOIDCAuthRequest(ctx context.Context, id string, userID, securityVersion int64, sessionHash string, authTime time.Time, amr []string, now time.Time) (bool, error)
	// SetOIDCAuthCode sets the code hash of request id, only while it is
	// satisfied, has no code yet and expires after now: false otherwise.
	SetOIDCAuthCode(ctx context.Context, id, codeHash string, now time.Time) (bool, error)
	// DeleteOIDCAuthRequest deletes request id, only while it expires
	// after now and (with codeHash not "") its code hash is codeHash:
	// false otherwise. So one code is exchanged at most once.
	DeleteOIDCAuthRequest(ctx context.Context, id, codeHash string, now time.Time) (bool, error)

	// SetOIDCSubject stores subject as the user's "sub" unless the user
	// has one, and returns the user's subject either way.
	SetOIDCSubject(ctx context.Context, userID int64, subject string) (string, error)

	// CreateOIDCGrant stores g and sets g.ID.
	CreateOIDCGrant(ctx context.Context, g *OIDCGrant) error
	// CreateOIDCAccessToken stores t.
	CreateOIDCAccessToken(ctx context.Context, t *OIDCAccessToken) error
	// CreateOIDCRefreshToken stores t (unused).
	CreateOIDCRefreshToken(ctx context.Context, t *OIDCRefreshToken) error
	// UseOIDCRefreshToken marks the refresh token tokenHash used at now,
	// only while it is unused, expires after now and its grant is not
	// revoked: false otherwise, and nothing is written. So one refresh
	// token is exchanged at most once.
	UseOIDCRefreshToken(ctx context.Context, tokenHash string, now time.Time) (bool, error)
	// RevokeOIDCGrant marks grant id revoked at now (if it was not) and
	// deletes its access tokens; false if it was already revoked or is gone.
	RevokeOIDCGrant(ctx context.Context, id int64, now time.Time) (bool, error)
	// DeleteOIDCAccessToken deletes access token id; false if it was gone.
	DeleteOIDCAccessToken(ctx context.Context, id string) (bool, error)

	// CreateOIDCSigningKey stores k as the active key of its algorithm,
	// unless that algorithm has an active key: false then, and nothing is
	// written (two instances generating the first key make one).
	CreateOIDCSigningKey(ctx context.Context, k *OIDCSigningKey) (bool, error)
	// RetireOIDCSigningKeys retires every active key at now and says how
	// many there were.
	RetireOIDCSigningKeys(ctx context.Context, now time.Time) (int, error)
}

// Errors of the OpenID provider.
var (
	ErrOIDCClientNotFound  = errors.New("account: no OpenID client with this id")
	ErrOIDCRequestNotFound = errors.New("account: no such sign-in request, or it has expired")
)
