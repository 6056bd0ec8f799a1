package postgres

import (
	"context"
	"fmt"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// matchAppSQL picks the app for host $2 and path $3, as
// account.ProtectedApp.Matches and account.MoreSpecific say: the exact
// host or a "*.domain" the host ends in, a path prefix the path (with a
// "/" added) starts with, the most specific first. It scans the apps
// (there are few) inside the one read of a decision.
const matchAppSQL = `SELECT p.id FROM protected_apps p
	WHERE (p.host = $2::text OR (left(p.host, 2) = '*.' AND length($2::text) > length(p.host) - 1
			AND right($2::text, length(p.host) - 1) = substr(p.host, 2)))
		AND (p.path_prefix = '' OR left($3::text || '/', length(p.path_prefix)) = p.path_prefix)
	ORDER BY (left(p.host, 2) <> '*.') DESC, length(p.host) DESC, length(p.path_prefix) DESC LIMIT 1`

// sessionForAppSQL is the one read behind a forward-auth decision.
var sessionForAppSQL = `SELECT ` + rowmap.SessionForAppColumns + `
	FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN settings st ON st.id = 1
	LEFT JOIN protected_apps a ON a.id = (` + matchAppSQL + `)
	WHERE s.token_hash = $1`

// SessionForApp implements account.Store.
func (s *Store) SessionForApp(ctx context.Context, tokenHash, host, urlPath string) (*account.Session, account.AppRule, error) {
	sess, rule, err := rowmap.ScanSessionForApp(s.pool.QueryRow(ctx, sessionForAppSQL, tokenHash, host, urlPath))
	if err != nil {
		return nil, account.AppRule{}, fmt.Errorf("postgres: session for app: %w", notFound(err))
	}
	return sess, rule, nil
}

// ProtectedApps implements account.Store.
func (s *Store) ProtectedApps(ctx context.Context) ([]*account.ProtectedApp, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+rowmap.AppColumns+` FROM protected_apps ORDER BY host, path_prefix`)
	if err != nil {
		return nil, fmt.Errorf("postgres: protected apps: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanApp)
	if err != nil {
		return nil, fmt.Errorf("postgres: protected apps: %w", err)
	}
	return out, nil
}

// DefaultAppAccess implements account.Store; a missing settings row reads
// as the default, everyone signed in.
func (s *Store) DefaultAppAccess(ctx context.Context) (account.AppAccess, error) {
	var access string
	err := s.pool.QueryRow(ctx, `SELECT COALESCE((SELECT default_app_access FROM settings WHERE id = 1), 'everyone')`).Scan(&access)
	if err != nil {
		return "", fmt.Errorf("postgres: default app access: %w", err)
	}
	return account.AppAccess(access), nil
}

func (t *tx) CreateProtectedApp(ctx context.Context, a *account.ProtectedApp) error {
	err := t.tx.QueryRow(ctx,
		`INSERT INTO protected_apps (host, path_prefix, access, require_two_factor, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		a.Host, a.PathPrefix, string(a.Access), boolInt(a.RequireTwoFactor), millis(a.CreatedAt)).Scan(&a.ID)
	if isUniqueViolation(err) {
		return account.ErrAppExists
	}
	if err != nil {
		return fmt.Errorf("postgres: create protected app: %w", err)
	}
	return nil
}

func (t *tx) UpdateProtectedApp(ctx context.Context, a *account.ProtectedApp) error {
	err := t.one(ctx, "update protected app", account.ErrNotFound,
		`UPDATE protected_apps SET host = $1, path_prefix = $2, access = $3, require_two_factor = $4 WHERE id = $5`,
		a.Host, a.PathPrefix, string(a.Access), boolInt(a.RequireTwoFactor), a.ID)
	if isUniqueViolation(err) {
		return account.ErrAppExists
	}
	return err
}

func (t *tx) DeleteProtectedApp(ctx context.Context, id int64) (*account.ProtectedApp, error) {
	a, err := rowmap.ScanApp(t.tx.QueryRow(ctx, `DELETE FROM protected_apps WHERE id = $1 RETURNING `+rowmap.AppColumns, id))
	if err != nil {
		return nil, fmt.Errorf("postgres: delete protected app: %w", notFound(err))
	}
	return a, nil
}

func (t *tx) SetDefaultAppAccess(ctx context.Context, access account.AppAccess) error {
	return t.one(ctx, "default app access", account.ErrNotFound, `UPDATE settings SET default_app_access = $1 WHERE id = 1`, string(access))
}
