package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// The OpenID provider's reads.
const (
	oidcClientSQL      = `SELECT ` + rowmap.OIDCClientColumns + ` FROM oidc_clients WHERE id = ?`
	oidcClientsSQL     = `SELECT ` + rowmap.OIDCClientColumns + ` FROM oidc_clients ORDER BY name, id`
	oidcAuthRequestSQL = `SELECT ` + rowmap.OIDCAuthRequestColumns + ` FROM oidc_auth_requests WHERE id = ?`
	oidcAuthByCodeSQL  = `SELECT ` + rowmap.OIDCAuthRequestColumns + ` FROM oidc_auth_requests WHERE code_hash = ?`
	oidcSigningKeysSQL = `SELECT ` + rowmap.OIDCSigningKeyColumns + ` FROM oidc_signing_keys
		WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at DESC, id DESC`
	oidcSubjectSQL = `SELECT subject FROM oidc_subjects WHERE user_id = ?`
)

// The joined reads of a token: the token, its grant and the grant's
// account, in one query.
var (
	oidcAccessTokenSQL = `SELECT ` + rowmap.OIDCAccessTokenColumns + `
		FROM oidc_access_tokens t JOIN oidc_grants g ON g.id = t.grant_id JOIN users u ON u.id = g.user_id WHERE t.id = ?`
	oidcRefreshTokenSQL = `SELECT ` + rowmap.OIDCRefreshTokenColumns + `
		FROM oidc_refresh_tokens r JOIN oidc_grants g ON g.id = r.grant_id JOIN users u ON u.id = g.user_id WHERE r.token_hash = ?`
)

// The OpenID provider's writes. Each "only if" is in the statement's
// WHERE, and its row count decides.
const (
	insertOIDCClientSQL = `INSERT INTO oidc_clients (` + rowmap.OIDCClientColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	setOIDCSecretSQL    = `UPDATE oidc_clients SET secret_hash = ? WHERE id = ? AND public = 0`
	deleteOIDCClientSQL = `DELETE FROM oidc_clients WHERE id = ? RETURNING ` + rowmap.OIDCClientColumns

	insertOIDCAuthSQL = `INSERT INTO oidc_auth_requests (id, client_id, params, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`
	satisfyOIDCSQL    = `UPDATE oidc_auth_requests SET user_id = ?, security_version = ?, auth_time = ?, amr = ?, session_hash = ?
		WHERE id = ? AND user_id IS NULL AND expires_at > ?`
	setOIDCCodeSQL = `UPDATE oidc_auth_requests SET code_hash = ?
		WHERE id = ? AND user_id IS NOT NULL AND code_hash IS NULL AND expires_at > ?`
	deleteOIDCAuthSQL = `DELETE FROM oidc_auth_requests WHERE id = ?1 AND expires_at > ?2 AND (?3 = '' OR code_hash = ?3)`

	insertOIDCSubjectSQL = `INSERT INTO oidc_subjects (user_id, subject) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING`

	insertOIDCGrantSQL = `INSERT INTO oidc_grants (client_id, user_id, scopes, amr, auth_time, security_version, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	insertOIDCAccessSQL  = `INSERT INTO oidc_access_tokens (id, grant_id, created_at, expires_at) VALUES (?, ?, ?, ?)`
	insertOIDCRefreshSQL = `INSERT INTO oidc_refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES (?, ?, ?, ?)`
	useOIDCRefreshSQL    = `UPDATE oidc_refresh_tokens SET used_at = ?1
		WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
		AND EXISTS (SELECT 1 FROM oidc_grants g WHERE g.id = oidc_refresh_tokens.grant_id AND g.revoked_at IS NULL)`
	revokeOIDCGrantSQL   = `UPDATE oidc_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`
	deleteGrantAccessSQL = `DELETE FROM oidc_access_tokens WHERE grant_id = ?`
	deleteOIDCAccessSQL  = `DELETE FROM oidc_access_tokens WHERE id = ?`
	insertOIDCKeySQL     = `INSERT INTO oidc_signing_keys (` + rowmap.OIDCSigningKeyColumns + `) VALUES (?, ?, ?, ?, ?, NULL)
		ON CONFLICT (algorithm) WHERE retired_at IS NULL DO NOTHING`
	retireOIDCKeysSQL = `UPDATE oidc_signing_keys SET retired_at = ? WHERE retired_at IS NULL`
)

// The OpenID provider's writes are prepared at Open with the others.
func init() {
	txStatements = append(txStatements, insertOIDCClientSQL, setOIDCSecretSQL, deleteOIDCClientSQL,
		insertOIDCAuthSQL, satisfyOIDCSQL, setOIDCCodeSQL, deleteOIDCAuthSQL, insertOIDCSubjectSQL, oidcSubjectSQL,
		insertOIDCGrantSQL, insertOIDCAccessSQL, insertOIDCRefreshSQL, useOIDCRefreshSQL, revokeOIDCGrantSQL,
		deleteGrantAccessSQL, deleteOIDCAccessSQL, insertOIDCKeySQL, retireOIDCKeysSQL)
}

// OIDCClient implements account.Store.
func (s *Store) OIDCClient(ctx context.Context, id string) (*account.OIDCClient, error) {
	c, err := rowmap.ScanOIDCClient(s.queryRow(ctx, oidcClientSQL, id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: oidc client: %w", notFound(err))
	}
	return c, nil
}

// OIDCClients implements account.Store.
func (s *Store) OIDCClients(ctx context.Context) ([]*account.OIDCClient, error) {
	rows, err := s.read.QueryContext(ctx, oidcClientsSQL)
	if err != nil {
		return nil, fmt.Errorf("sqlite: oidc clients: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanOIDCClient)
	if err != nil {
		return nil, fmt.Errorf("sqlite: oidc clients: %w", err)
	}
	return out, nil
}

// OIDCAuthRequest implements account.Store.
func (s *Store) OIDCAuthRequest(ctx context.Context, id string) (*account.OIDCAuthRequest, error) {
	r, err := rowmap.ScanOIDCAuthRequest(s.queryRow(ctx, oidcAuthRequestSQL, id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: oidc auth request: %w", notFound(err))
	}
	return r, nil
}

// OIDCAuthRequestByCode implements account.Store.
func (s *Store) OIDCAuthRequestByCode(ctx context.Context, codeHash string) (*account.OIDCAuthRequest, error) {
	r, err := rowmap.ScanOIDCAuthRequest(s.queryRow(ctx, oidcAuthByCodeSQL, codeHash))
	if err != nil {
		return nil, fmt.Errorf("sqlite: oidc auth request by code: %w", notFound(err))
	}
	return r, nil
}

// OIDCAccessToken implements account.Store: the token, its grant and the
// account as it is now, in one query.
func (s *Store) OIDCAccessToken(ctx context.Context, id string) (*account.OIDCAccessToken, *account.OIDCGrantHolder, error) {
	t, h, err := rowmap.ScanOIDCAccessToken(s.queryRow(ctx, oidcAccessTokenSQL, id))
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: oidc access token: %w", notFound(err))
	}
	return t, h, nil
}

// OIDCRefreshToken implements account.Store: the token, its grant and the
// account as it is now, in one query.
func (s *Store) OIDCRefreshToken(ctx context.Context, tokenHash string) (*account.OIDCRefreshToken, *account.OIDCGrantHolder, error) {
	t, h, err := rowmap.ScanOIDCRefreshToken(s.queryRow(ctx, oidcRefreshTokenSQL, tokenHash))
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: oidc refresh token: %w", notFound(err))
	}
	return t, h, nil
}

// OIDCSigningKeys implements account.Store.
func (s *Store) OIDCSigningKeys(ctx context.Context, retiredAfter time.Time) ([]*account.OIDCSigningKey, error) {
	rows, err := s.read.QueryContext(ctx, oidcSigningKeysSQL, millis(retiredAfter))
	if err != nil {
		return nil, fmt.Errorf("sqlite: oidc signing keys: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanOIDCSigningKey)
	if err != nil {
		return nil, fmt.Errorf("sqlite: oidc signing keys: %w", err)
	}
	return out, nil
}

// OIDCSubject implements account.Store.
func (s *Store) OIDCSubject(ctx context.Context, userID int64) (string, error) {
	var subject string
	if err := s.queryRow(ctx, oidcSubjectSQL, userID).Scan(&subject); err != nil {
		return "", fmt.Errorf("sqlite: oidc subject: %w", notFound(err))
	}
	return subject, nil
}

func isUnique(err error, table string) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed: "+table)
}

func (t *tx) CreateOIDCClient(ctx context.Context, c *account.OIDCClient) error {
	_, err := t.exec(ctx, insertOIDCClientSQL, c.ID, c.Name, c.SecretHash, boolInt(c.Public),
		rowmap.Lines(c.RedirectURIs), rowmap.Lines(c.PostLogoutRedirectURIs), boolInt(c.RequireTwoFactor), millis(c.CreatedAt), c.IDTokenAlgorithm)
	if isUnique(err, "oidc_clients.id") {
		return fmt.Errorf("sqlite: create oidc client: %w", account.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create oidc client: %w", err)
	}
	return nil
}

func (t *tx) SetOIDCClientSecret(ctx context.Context, id, secretHash string) error {
	return t.one(ctx, "oidc client secret", account.ErrNotFound, setOIDCSecretSQL, secretHash, id)
}

func (t *tx) DeleteOIDCClient(ctx context.Context, id string) (*account.OIDCClient, error) {
	c, err := rowmap.ScanOIDCClient(t.row(ctx, deleteOIDCClientSQL, id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete oidc client: %w", notFound(err))
	}
	return c, nil
}

func (t *tx) CreateOIDCAuthRequest(ctx context.Context, r *account.OIDCAuthRequest) error {
	if _, err := t.exec(ctx, insertOIDCAuthSQL, r.ID, r.ClientID, r.Params, millis(r.CreatedAt), millis(r.ExpiresAt)); err != nil {
		return fmt.Errorf("sqlite: create oidc auth request: %w", err)
	}
	return nil
}

func (t *tx) SatisfyOIDCAuthRequest(ctx context.Context, id string, userID, securityVersion int64, sessionHash string, authTime time.Time, amr []string, now time.Time) (bool, error) {
	return t.changed(ctx, "satisfy oidc auth request", satisfyOIDCSQL,
		userID, securityVersion, millis(authTime), rowmap.Words(amr), sessionHash, id, millis(now))
}

func (t *tx) SetOIDCAuthCode(ctx context.Context, id, codeHash string, now time.Time) (bool, error) {
	return t.changed(ctx, "set oidc auth code", setOIDCCodeSQL, codeHash, id, millis(now))
}

func (t *tx) DeleteOIDCAuthRequest(ctx context.Context, id, codeHash string, now time.Time) (bool, error) {
	return t.changed(ctx, "delete oidc auth request", deleteOIDCAuthSQL, id, millis(now), codeHash)
}

// SetOIDCSubject implements account.Tx: the write transaction excludes
// every other, so the subject read back is the one stored.
func (t *tx) SetOIDCSubject(ctx context.Context, userID int64, subject string) (string, error) {
	if _, err := t.exec(ctx, insertOIDCSubjectSQL, userID, subject); err != nil {
		return "", fmt.Errorf("sqlite: set oidc subject: %w", err)
	}
	var stored string
	if err := t.row(ctx, oidcSubjectSQL, userID).Scan(&stored); err != nil {
		return "", fmt.Errorf("sqlite: set oidc subject: %w", notFound(err))
	}
	return stored, nil
}

func (t *tx) CreateOIDCGrant(ctx context.Context, g *account.OIDCGrant) error {
	err := t.row(ctx, insertOIDCGrantSQL, g.ClientID, g.UserID, rowmap.Words(g.Scopes), rowmap.Words(g.AMR),
		millis(g.AuthTime), g.SecurityVersion, millis(g.CreatedAt), rowmap.NullMillis(g.RevokedAt)).Scan(&g.ID)
	if err != nil {
		return fmt.Errorf("sqlite: create oidc grant: %w", err)
	}
	return nil
}

func (t *tx) CreateOIDCAccessToken(ctx context.Context, a *account.OIDCAccessToken) error {
	if _, err := t.exec(ctx, insertOIDCAccessSQL, a.ID, a.GrantID, millis(a.CreatedAt), millis(a.ExpiresAt)); err != nil {
		return fmt.Errorf("sqlite: create oidc access token: %w", err)
	}
	return nil
}

func (t *tx) CreateOIDCRefreshToken(ctx context.Context, r *account.OIDCRefreshToken) error {
	if _, err := t.exec(ctx, insertOIDCRefreshSQL, r.TokenHash, r.GrantID, millis(r.CreatedAt), millis(r.ExpiresAt)); err != nil {
		return fmt.Errorf("sqlite: create oidc refresh token: %w", err)
	}
	return nil
}

func (t *tx) UseOIDCRefreshToken(ctx context.Context, tokenHash string, now time.Time) (bool, error) {
	return t.changed(ctx, "use oidc refresh token", useOIDCRefreshSQL, millis(now), tokenHash)
}

// RevokeOIDCGrant implements account.Tx. The write transaction excludes
// every other, so no access token of the grant is added between the two
// statements.
func (t *tx) RevokeOIDCGrant(ctx context.Context, id int64, now time.Time) (bool, error) {
	revoked, err := t.changed(ctx, "revoke oidc grant", revokeOIDCGrantSQL, millis(now), id)
	if err != nil || !revoked {
		return false, err
	}
	if _, err := t.exec(ctx, deleteGrantAccessSQL, id); err != nil {
		return false, fmt.Errorf("sqlite: revoke oidc grant: delete its access tokens: %w", err)
	}
	return true, nil
}

func (t *tx) DeleteOIDCAccessToken(ctx context.Context, id string) (bool, error) {
	return t.changed(ctx, "delete oidc access token", deleteOIDCAccessSQL, id)
}

func (t *tx) CreateOIDCSigningKey(ctx context.Context, k *account.OIDCSigningKey) (bool, error) {
	return t.changed(ctx, "create oidc signing key", insertOIDCKeySQL,
		k.ID, k.Algorithm, k.Sealed.KeyID, k.Sealed.Ciphertext, millis(k.CreatedAt))
}

func (t *tx) RetireOIDCSigningKeys(ctx context.Context, now time.Time) (int, error) {
	n, err := t.exec(ctx, retireOIDCKeysSQL, millis(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: retire oidc signing keys: %w", err)
	}
	return int(n), nil
}
