package autocommit

import (
	"context"

	"github.com/twofold/twofold/internal/account"
)

func (a Store) CreateProtectedApp(ctx context.Context, app *account.ProtectedApp) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreateProtectedApp(ctx, app) })
}

func (a Store) UpdateProtectedApp(ctx context.Context, app *account.ProtectedApp) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.UpdateProtectedApp(ctx, app) })
}

func (a Store) DeleteProtectedApp(ctx context.Context, id int64) (*account.ProtectedApp, error) {
	var app *account.ProtectedApp
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		app, err = tx.DeleteProtectedApp(ctx, id)
		return err
	})
	return app, err
}

func (a Store) SetDefaultAppAccess(ctx context.Context, access account.AppAccess) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.SetDefaultAppAccess(ctx, access) })
}

func (a Store) RequireProtectedApp(ctx context.Context, was *account.ProtectedApp) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.RequireProtectedApp(ctx, was) })
}
