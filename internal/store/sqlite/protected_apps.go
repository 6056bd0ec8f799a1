package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// matchAppSQL picks the app for host ?2 and path ?3, as
// account.ProtectedApp.Matches and account.MoreSpecific say: the exact
// host or a "*.domain" the host ends in, a path prefix the path (with a
// "/" added) starts with, the most specific first. It scans the apps
// (there are few) inside the one read of a decision.
const matchAppSQL = `SELECT p.id FROM protected_apps p
	WHERE (p.host = ?2 OR (substr(p.host, 1, 2) = '*.' AND length(?2) > length(p.host) - 1
			AND substr(?2, 1 - length(p.host)) = substr(p.host, 2)))
		AND (p.path_prefix = '' OR substr(?3 || '/', 1, length(p.path_prefix)) = p.path_prefix)
	ORDER BY substr(p.host, 1, 2) <> '*.' DESC, length(p.host) DESC, length(p.path_prefix) DESC LIMIT 1`

// sessionForAppSQL is the one read behind a forward-auth decision.
var sessionForAppSQL = `SELECT ` + rowmap.SessionForAppColumns + `
	FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN settings st ON st.id = 1
	LEFT JOIN protected_apps a ON a.id = (` + matchAppSQL + `)
	WHERE s.token_hash = ?1`

const (
	insertAppSQL  = `INSERT INTO protected_apps (host, path_prefix, access, require_two_factor, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`
	updateAppSQL  = `UPDATE protected_apps SET host = ?, path_prefix = ?, access = ?, require_two_factor = ? WHERE id = ?`
	deleteAppSQL  = `DELETE FROM protected_apps WHERE id = ? RETURNING ` + rowmap.AppColumns
	setDefaultSQL = `UPDATE settings SET default_app_access = ? WHERE id = 1`
)

// The protected apps' writes are prepared at Open with the others.
func init() {
	txStatements = append(txStatements, insertAppSQL, updateAppSQL, deleteAppSQL, setDefaultSQL)
}

// SessionForApp implements account.Store.
func (s *Store) SessionForApp(ctx context.Context, tokenHash, host, urlPath string) (*account.Session, account.AppRule, error) {
	sess, rule, err := rowmap.ScanSessionForApp(s.queryRow(ctx, sessionForAppSQL, tokenHash, host, urlPath))
	if err != nil {
		return nil, account.AppRule{}, fmt.Errorf("sqlite: session for app: %w", notFound(err))
	}
	return sess, rule, nil
}

// ProtectedApps implements account.Store.
func (s *Store) ProtectedApps(ctx context.Context) ([]*account.ProtectedApp, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+rowmap.AppColumns+` FROM protected_apps ORDER BY host, path_prefix`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: protected apps: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanApp)
	if err != nil {
		return nil, fmt.Errorf("sqlite: protected apps: %w", err)
	}
	return out, nil
}

// DefaultAppAccess implements account.Store; a missing settings row reads
// as the default, everyone signed in.
func (s *Store) DefaultAppAccess(ctx context.Context) (account.AppAccess, error) {
	var access string
	err := s.queryRow(ctx, `SELECT COALESCE((SELECT default_app_access FROM settings WHERE id = 1), 'everyone')`).Scan(&access)
	if err != nil {
		return "", fmt.Errorf("sqlite: default app access: %w", err)
	}
	return account.AppAccess(access), nil
}

func appExists(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed: protected_apps")
}

func (t *tx) CreateProtectedApp(ctx context.Context, a *account.ProtectedApp) error {
	err := t.row(ctx, insertAppSQL, a.Host, a.PathPrefix, string(a.Access), boolInt(a.RequireTwoFactor), millis(a.CreatedAt)).Scan(&a.ID)
	if appExists(err) {
		return account.ErrAppExists
	}
	if err != nil {
		return fmt.Errorf("sqlite: create protected app: %w", err)
	}
	return nil
}

func (t *tx) UpdateProtectedApp(ctx context.Context, a *account.ProtectedApp) error {
	err := t.one(ctx, "update protected app", account.ErrNotFound, updateAppSQL, a.Host, a.PathPrefix, string(a.Access), boolInt(a.RequireTwoFactor), a.ID)
	if appExists(err) {
		return account.ErrAppExists
	}
	return err
}

func (t *tx) DeleteProtectedApp(ctx context.Context, id int64) (*account.ProtectedApp, error) {
	a, err := rowmap.ScanApp(t.row(ctx, deleteAppSQL, id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete protected app: %w", notFound(err))
	}
	return a, nil
}

func (t *tx) SetDefaultAppAccess(ctx context.Context, access account.AppAccess) error {
	return t.one(ctx, "default app access", account.ErrNotFound, setDefaultSQL, string(access))
}
