package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// sessionForAppSQL is the one read behind a forward-auth decision.
var sessionForAppSQL = `SELECT ` + rowmap.SessionForAppColumns + `
	FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN settings st ON st.id = 1
	WHERE s.token_hash = ? AND u.deactivated_at IS NULL`

const (
	insertAppSQL  = `INSERT INTO protected_apps (host, path_prefix, access, require_two_factor, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`
	updateAppSQL  = `UPDATE protected_apps SET host = ?, path_prefix = ?, access = ?, require_two_factor = ? WHERE id = ?`
	deleteAppSQL  = `DELETE FROM protected_apps WHERE id = ? RETURNING ` + rowmap.AppColumns
	setDefaultSQL = `UPDATE settings SET default_app_access = ? WHERE id = 1`
	bumpAppsSQL   = `UPDATE settings SET apps_version = apps_version + 1 WHERE id = 1`
)

// The protected apps' writes are prepared at Open with the others.
func init() {
	txStatements = append(txStatements, insertAppSQL, updateAppSQL, deleteAppSQL, setDefaultSQL, bumpAppsSQL)
}

// SessionForApp implements account.Store.
//
// The query itself runs without the request's cancellation: with a
// context that can end, database/sql and the driver each start a
// goroutine per query to watch it (two goroutines, their wake-ups and a
// progress handler for a read of about 10 µs, on every forward-auth
// check). This read is a primary-key lookup on a WAL database, which
// writers never block; the only waits it can meet are the driver's
// busy_timeout (10 s, below the request's 20 s deadline) and its turn
// for one of the read pool's connections. A request that has already
// ended is refused before the read.
func (s *Store) SessionForApp(ctx context.Context, tokenHash string) (*account.Session, account.AppsState, error) {
	if err := ctx.Err(); err != nil {
		return nil, account.AppsState{}, fmt.Errorf("sqlite: session for app: %w", err)
	}
	sess, state, err := rowmap.ScanSessionForApp(s.queryRow(context.WithoutCancel(ctx), sessionForAppSQL, tokenHash), tokenHash)
	if err != nil {
		return nil, account.AppsState{}, fmt.Errorf("sqlite: session for app: %w", notFound(err))
	}
	return sess, state, nil
}

// ProtectedAppsVersion implements account.Store.
func (s *Store) ProtectedAppsVersion(ctx context.Context) ([]*account.ProtectedApp, int64, error) {
	rows, err := s.read.QueryContext(ctx, rowmap.AppsVersionSQL)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: protected apps: %w", err)
	}
	defer rows.Close()
	apps, v, err := rowmap.ScanAppsVersion(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: protected apps: %w", err)
	}
	return apps, v, nil
}

// bumpApps counts a change to the apps (account.AppsState.Version).
func (t *tx) bumpApps(ctx context.Context) error {
	if _, err := t.exec(ctx, bumpAppsSQL); err != nil {
		return fmt.Errorf("sqlite: apps version: %w", err)
	}
	return nil
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
	return t.bumpApps(ctx)
}

func (t *tx) RequireProtectedApp(ctx context.Context, was *account.ProtectedApp) error {
	var one int
	err := t.row(ctx, `SELECT 1 FROM protected_apps WHERE id = ? AND host = ? AND path_prefix = ? AND access = ? AND require_two_factor = ?`,
		was.ID, was.Host, was.PathPrefix, string(was.Access), boolInt(was.RequireTwoFactor)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: protected app %d changed: %w", was.ID, account.ErrStale)
	}
	if err != nil {
		return fmt.Errorf("sqlite: protected app %d: %w", was.ID, err)
	}
	return nil
}

func (t *tx) UpdateProtectedApp(ctx context.Context, a *account.ProtectedApp) error {
	err := t.one(ctx, "update protected app", account.ErrNotFound, updateAppSQL, a.Host, a.PathPrefix, string(a.Access), boolInt(a.RequireTwoFactor), a.ID)
	if appExists(err) {
		return account.ErrAppExists
	}
	if err != nil {
		return err
	}
	return t.bumpApps(ctx)
}

func (t *tx) DeleteProtectedApp(ctx context.Context, id int64) (*account.ProtectedApp, error) {
	a, err := rowmap.ScanApp(t.row(ctx, deleteAppSQL, id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete protected app: %w", notFound(err))
	}
	return a, t.bumpApps(ctx)
}

func (t *tx) SetDefaultAppAccess(ctx context.Context, access account.AppAccess) error {
	if err := t.one(ctx, "default app access", account.ErrNotFound, setDefaultSQL, string(access)); err != nil {
		return err
	}
	return t.bumpApps(ctx)
}
