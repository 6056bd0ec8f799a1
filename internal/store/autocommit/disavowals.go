package autocommit

import (
	"context"
	"time"

	"github.com/twofold/twofold/internal/account"
)

func (a Store) CreateDisavowal(ctx context.Context, d *account.Disavowal) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreateDisavowal(ctx, d) })
}

func (a Store) UseDisavowal(ctx context.Context, id, userID int64, now time.Time) (bool, error) {
	var ok bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		ok, err = tx.UseDisavowal(ctx, id, userID, now)
		return err
	})
	return ok, err
}
