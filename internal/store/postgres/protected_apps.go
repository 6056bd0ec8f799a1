package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

const bumpAppsSQL = `UPDATE settings SET apps_version = apps_version + 1 WHERE id = 1`

// ProtectedAppsVersion implements account.Store.
func (s *Store) ProtectedAppsVersion(ctx context.Context) ([]*account.ProtectedApp, int64, error) {
	rows, err := s.pool.Query(ctx, rowmap.AppsVersionSQL)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: protected apps: %w", err)
	}
	defer rows.Close()
	apps, v, err := rowmap.ScanAppsVersion(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: protected apps: %w", err)
	}
	return apps, v, nil
}

// bumpApps counts a change to the apps (account.AppsState.Version).
func (t *tx) bumpApps(ctx context.Context) error {
	return t.exec(ctx, "apps version", bumpAppsSQL)
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
	return t.bumpApps(ctx)
}

// RequireProtectedApp implements account.Tx: FOR UPDATE holds the row, so
// a concurrent change waits for this transaction.
func (t *tx) RequireProtectedApp(ctx context.Context, was *account.ProtectedApp) error {
	var one int
	err := t.tx.QueryRow(ctx, `SELECT 1 FROM protected_apps WHERE id = $1 AND host = $2 AND path_prefix = $3 AND access = $4
		AND require_two_factor = $5 FOR UPDATE`, was.ID, was.Host, was.PathPrefix, string(was.Access), boolInt(was.RequireTwoFactor)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: protected app %d changed: %w", was.ID, account.ErrStale)
	}
	if err != nil {
		return fmt.Errorf("postgres: protected app %d: %w", was.ID, err)
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
	if err != nil {
		return err
	}
	return t.bumpApps(ctx)
}

func (t *tx) DeleteProtectedApp(ctx context.Context, id int64) (*account.ProtectedApp, error) {
	a, err := rowmap.ScanApp(t.tx.QueryRow(ctx, `DELETE FROM protected_apps WHERE id = $1 RETURNING `+rowmap.AppColumns, id))
	if err != nil {
		return nil, fmt.Errorf("postgres: delete protected app: %w", notFound(err))
	}
	return a, t.bumpApps(ctx)
}

func (t *tx) SetDefaultAppAccess(ctx context.Context, access account.AppAccess) error {
	if err := t.one(ctx, "default app access", account.ErrNotFound, `UPDATE settings SET default_app_access = $1 WHERE id = 1`, string(access)); err != nil {
		return err
	}
	return t.bumpApps(ctx)
}
