package accounttest

import (
	"context"

	"github.com/twofold/twofold/internal/account"
)

// SessionForApp implements account.Store.
func (f *FaultStore) SessionForApp(ctx context.Context, tokenHash string) (*account.Session, account.AppsState, error) {
	f.read("SessionForApp")
	return f.Store.SessionForApp(ctx, tokenHash)
}

// ProtectedAppsVersion implements account.Store.
func (f *FaultStore) ProtectedAppsVersion(ctx context.Context) ([]*account.ProtectedApp, int64, error) {
	f.read("ProtectedAppsVersion")
	return f.Store.ProtectedAppsVersion(ctx)
}

// ProtectedApps implements account.Store.
func (f *FaultStore) ProtectedApps(ctx context.Context) ([]*account.ProtectedApp, error) {
	f.read("ProtectedApps")
	return f.Store.ProtectedApps(ctx)
}

func (t *faultTx) CreateProtectedApp(ctx context.Context, a *account.ProtectedApp) error {
	if err := t.write("CreateProtectedApp"); err != nil {
		return err
	}
	return t.tx.CreateProtectedApp(ctx, a)
}

func (t *faultTx) UpdateProtectedApp(ctx context.Context, a *account.ProtectedApp) error {
	if err := t.write("UpdateProtectedApp"); err != nil {
		return err
	}
	return t.tx.UpdateProtectedApp(ctx, a)
}

func (t *faultTx) DeleteProtectedApp(ctx context.Context, id int64) (*account.ProtectedApp, error) {
	if err := t.write("DeleteProtectedApp"); err != nil {
		return nil, err
	}
	return t.tx.DeleteProtectedApp(ctx, id)
}

func (t *faultTx) SetDefaultAppAccess(ctx context.Context, access account.AppAccess) error {
	if err := t.write("SetDefaultAppAccess"); err != nil {
		return err
	}
	return t.tx.SetDefaultAppAccess(ctx, access)
}

func (t *faultTx) RequireProtectedApp(ctx context.Context, was *account.ProtectedApp) error {
	if err := t.write("RequireProtectedApp"); err != nil {
		return err
	}
	return t.tx.RequireProtectedApp(ctx, was)
}
