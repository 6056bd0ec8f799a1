package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// OIDCClient implements account.Store.
func (s *Store) OIDCClient(ctx context.Context, id string) (*account.OIDCClient, error) {
	c, err := rowmap.ScanOIDCClient(s.pool.QueryRow(ctx, `SELECT `+rowmap.OIDCClientColumns+` FROM oidc_clients WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("postgres: oidc client: %w", notFound(err))
	}
	return c, nil
}

// OIDCClients implements account.Store.
func (s *Store) OIDCClients(ctx context.Context) ([]*account.OIDCClient, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+rowmap.OIDCClientColumns+` FROM oidc_clients ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: oidc clients: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanOIDCClient)
	if err != nil {
		return nil, fmt.Errorf("postgres: oidc clients: %w", err)
	}
	return out, nil
}

// OIDCAuthRequest implements account.Store.
func (s *Store) OIDCAuthRequest(ctx context.Context, id string) (*account.OIDCAuthRequest, error) {
	r, err := rowmap.ScanOIDCAuthRequest(s.pool.QueryRow(ctx,
		`SELECT `+rowmap.OIDCAuthRequestColumns+` FROM oidc_auth_requests WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("postgres: oidc auth request: %w", notFound(err))
	}
	return r, nil
}

// OIDCAuthRequestByCode implements account.Store.
func (s *Store) OIDCAuthRequestByCode(ctx context.Context, codeHash string) (*account.OIDCAuthRequest, error) {
	r, err := rowmap.ScanOIDCAuthRequest(s.pool.QueryRow(ctx,
		`SELECT `+rowmap.OIDCAuthRequestColumns+` FROM oidc_auth_requests WHERE code_hash = $1`, codeHash))
	if err != nil {
		return nil, fmt.Errorf("postgres: oidc auth request by code: %w", notFound(err))
	}
	return r, nil
}

// OIDCAccessToken implements account.Store: the token, its grant and the
// account as it is now, in one query.
func (s *Store) OIDCAccessToken(ctx context.Context, id string) (*account.OIDCAccessToken, *account.OIDCGrantHolder, error) {
	t, h, err := rowmap.ScanOIDCAccessToken(s.pool.QueryRow(ctx, `SELECT `+rowmap.OIDCAccessTokenColumns+`
		FROM oidc_access_tokens t JOIN oidc_grants g ON g.id = t.grant_id JOIN users u ON u.id = g.user_id WHERE t.id = $1`, id))
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: oidc access token: %w", notFound(err))
	}
	return t, h, nil
}

// OIDCRefreshToken implements account.Store: the token, its grant and the
// account as it is now, in one query.
func (s *Store) OIDCRefreshToken(ctx context.Context, tokenHash string) (*account.OIDCRefreshToken, *account.OIDCGrantHolder, error) {
	t, h, err := rowmap.ScanOIDCRefreshToken(s.pool.QueryRow(ctx, `SELECT `+rowmap.OIDCRefreshTokenColumns+`
		FROM oidc_refresh_tokens r JOIN oidc_grants g ON g.id = r.grant_id JOIN users u ON u.id = g.user_id WHERE r.token_hash = $1`, tokenHash))
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: oidc refresh token: %w", notFound(err))
	}
	return t, h, nil
}

// OIDCSigningKeys implements account.Store.
func (s *Store) OIDCSigningKeys(ctx context.Context, retiredAfter time.Time) ([]*account.OIDCSigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+rowmap.OIDCSigningKeyColumns+` FROM oidc_signing_keys
		WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, id DESC`, millis(retiredAfter))
	if err != nil {
		return nil, fmt.Errorf("postgres: oidc signing keys: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanOIDCSigningKey)
	if err != nil {
		return nil, fmt.Errorf("postgres: oidc signing keys: %w", err)
	}
	return out, nil
}

const oidcSubjectSQL = `SELECT subject FROM oidc_subjects WHERE user_id = $1`

// OIDCSubject implements account.Store.
func (s *Store) OIDCSubject(ctx context.Context, userID int64) (string, error) {
	var subject string
	if err := s.pool.QueryRow(ctx, oidcSubjectSQL, userID).Scan(&subject); err != nil {
		return "", fmt.Errorf("postgres: oidc subject: %w", notFound(err))
	}
	return subject, nil
}

func (t *tx) CreateOIDCClient(ctx context.Context, c *account.OIDCClient) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO oidc_clients (`+rowmap.OIDCClientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		c.ID, c.Name, c.SecretHash, boolInt(c.Public), rowmap.Lines(c.RedirectURIs), rowmap.Lines(c.PostLogoutRedirectURIs),
		boolInt(c.RequireTwoFactor), millis(c.CreatedAt), c.IDTokenAlgorithm)
	if isUniqueViolation(err) {
		return fmt.Errorf("postgres: create oidc client: %w", account.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: create oidc client: %w", err)
	}
	return nil
}

func (t *tx) SetOIDCClientSecret(ctx context.Context, id, secretHash string) error {
	return t.one(ctx, "oidc client secret", account.ErrNotFound,
		`UPDATE oidc_clients SET secret_hash = $1 WHERE id = $2 AND public = 0`, secretHash, id)
}

func (t *tx) DeleteOIDCClient(ctx context.Context, id string) (*account.OIDCClient, error) {
	c, err := rowmap.ScanOIDCClient(t.tx.QueryRow(ctx, `DELETE FROM oidc_clients WHERE id = $1 RETURNING `+rowmap.OIDCClientColumns, id))
	if err != nil {
		return nil, fmt.Errorf("postgres: delete oidc client: %w", notFound(err))
	}
	return c, nil
}

func (t *tx) CreateOIDCAuthRequest(ctx context.Context, r *account.OIDCAuthRequest) error {
	return t.exec(ctx, "create oidc auth request",
		`INSERT INTO oidc_auth_requests (id, client_id, params, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		r.ID, r.ClientID, r.Params, millis(r.CreatedAt), millis(r.ExpiresAt))
}

// SatisfyOIDCAuthRequest implements account.Tx: a concurrent one waits on
// the row lock, then finds the request satisfied and updates nothing.
func (t *tx) SatisfyOIDCAuthRequest(ctx context.Context, id string, userID, securityVersion int64, sessionHash string, authTime time.Time, amr []string, now time.Time) (bool, error) {
	return t.changed(ctx, "satisfy oidc auth request",
		`UPDATE oidc_auth_requests SET user_id = $1, security_version = $2, auth_time = $3, amr = $4, session_hash = $7
		WHERE id = $5 AND user_id IS NULL AND expires_at > $6`,
		userID, securityVersion, millis(authTime), rowmap.Words(amr), id, millis(now), sessionHash)
}

func (t *tx) SetOIDCAuthCode(ctx context.Context, id, codeHash string, now time.Time) (bool, error) {
	return t.changed(ctx, "set oidc auth code",
		`UPDATE oidc_auth_requests SET code_hash = $1 WHERE id = $2 AND user_id IS NOT NULL AND code_hash IS NULL AND expires_at > $3`,
		codeHash, id, millis(now))
}

func (t *tx) DeleteOIDCAuthRequest(ctx context.Context, id, codeHash string, now time.Time) (bool, error) {
	return t.changed(ctx, "delete oidc auth request",
		`DELETE FROM oidc_auth_requests WHERE id = $1 AND expires_at > $2 AND ($3::text = '' OR code_hash = $3::text)`,
		id, millis(now), codeHash)
}

// SetOIDCSubject implements account.Tx: a concurrent insert for the same
// user makes this one wait for its commit and then do nothing, and the
// read that follows (a statement of its own, under READ COMMITTED) sees
// the subject it stored.
func (t *tx) SetOIDCSubject(ctx context.Context, userID int64, subject string) (string, error) {
	if err := t.exec(ctx, "set oidc subject",
		`INSERT INTO oidc_subjects (user_id, subject) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`, userID, subject); err != nil {
		return "", err
	}
	var stored string
	if err := t.tx.QueryRow(ctx, oidcSubjectSQL, userID).Scan(&stored); err != nil {
		return "", fmt.Errorf("postgres: set oidc subject: %w", notFound(err))
	}
	return stored, nil
}

func (t *tx) CreateOIDCGrant(ctx context.Context, g *account.OIDCGrant) error {
	err := t.tx.QueryRow(ctx, `INSERT INTO oidc_grants (client_id, user_id, scopes, amr, auth_time, security_version, created_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		g.ClientID, g.UserID, rowmap.Words(g.Scopes), rowmap.Words(g.AMR), millis(g.AuthTime), g.SecurityVersion,
		millis(g.CreatedAt), rowmap.NullMillis(g.RevokedAt)).Scan(&g.ID)
	if err != nil {
		return fmt.Errorf("postgres: create oidc grant: %w", err)
	}
	return nil
}

func (t *tx) CreateOIDCAccessToken(ctx context.Context, a *account.OIDCAccessToken) error {
	return t.exec(ctx, "create oidc access token",
		`INSERT INTO oidc_access_tokens (id, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		a.ID, a.GrantID, millis(a.CreatedAt), millis(a.ExpiresAt))
}

func (t *tx) CreateOIDCRefreshToken(ctx context.Context, r *account.OIDCRefreshToken) error {
	return t.exec(ctx, "create oidc refresh token",
		`INSERT INTO oidc_refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		r.TokenHash, r.GrantID, millis(r.CreatedAt), millis(r.ExpiresAt))
}

// UseOIDCRefreshToken implements account.Tx. A concurrent use of the same
// token waits on the row lock, then finds it used and updates nothing.
// FOR SHARE holds the grant's row until this transaction ends: a
// revocation in progress makes the use wait and then find the grant
// revoked, and a revocation that comes after waits for this transaction,
// so its deletion of the grant's access tokens sees (and deletes) the one
// this exchange adds.
func (t *tx) UseOIDCRefreshToken(ctx context.Context, tokenHash string, now time.Time) (bool, error) {
	// The token's grant is locked first, FOR UPDATE, so concurrent
	// refreshes of one grant queue here before any holds a lock another
	// waits for: with only the shared lock below, two losers that each
	// held it while waiting for the token's row both went on to revoke
	// the grant, and deadlocked (40P01, a 500).
	if err := t.exec(ctx, "use oidc refresh token: lock its grant",
		`SELECT 1 FROM oidc_grants g JOIN oidc_refresh_tokens r ON r.grant_id = g.id WHERE r.token_hash = $1 FOR UPDATE OF g`,
		tokenHash); err != nil {
		return false, err
	}
	return t.changed(ctx, "use oidc refresh token",
		`UPDATE oidc_refresh_tokens SET used_at = $1
		WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
		AND EXISTS (SELECT 1 FROM oidc_grants g WHERE g.id = oidc_refresh_tokens.grant_id AND g.revoked_at IS NULL FOR SHARE)`,
		millis(now), tokenHash)
}

// RevokeOIDCGrant implements account.Tx. The UPDATE holds the grant's row
// until the commit, so a concurrent refresh waits for it (see
// UseOIDCRefreshToken); the DELETE, a statement of its own, sees every
// access token committed before it.
func (t *tx) RevokeOIDCGrant(ctx context.Context, id int64, now time.Time) (bool, error) {
	revoked, err := t.changed(ctx, "revoke oidc grant",
		`UPDATE oidc_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, millis(now), id)
	if err != nil || !revoked {
		return false, err
	}
	if err := t.exec(ctx, "revoke oidc grant: delete its access tokens",
		`DELETE FROM oidc_access_tokens WHERE grant_id = $1`, id); err != nil {
		return false, err
	}
	return true, nil
}

func (t *tx) DeleteOIDCAccessToken(ctx context.Context, id string) (bool, error) {
	return t.changed(ctx, "delete oidc access token", `DELETE FROM oidc_access_tokens WHERE id = $1`, id)
}

// CreateOIDCSigningKey implements account.Tx: a concurrent insert for the
// same algorithm makes this one wait for its commit, then do nothing.
func (t *tx) CreateOIDCSigningKey(ctx context.Context, k *account.OIDCSigningKey) (bool, error) {
	return t.changed(ctx, "create oidc signing key",
		`INSERT INTO oidc_signing_keys (`+rowmap.OIDCSigningKeyColumns+`) VALUES ($1, $2, $3, $4, $5, NULL)
		ON CONFLICT (algorithm) WHERE retired_at IS NULL DO NOTHING`,
		k.ID, k.Algorithm, k.Sealed.KeyID, k.Sealed.Ciphertext, millis(k.CreatedAt))
}

func (t *tx) RetireOIDCSigningKeys(ctx context.Context, now time.Time) (int, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE oidc_signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, millis(now))
	if err != nil {
		return 0, fmt.Errorf("postgres: retire oidc signing keys: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
