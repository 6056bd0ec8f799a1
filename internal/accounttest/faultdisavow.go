package accounttest

import (
	"context"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// The "This wasn't me" links, counted and failed like every other read and write.

func (f *FaultStore) DisavowalByTokenHash(ctx context.Context, tokenHash string) (*account.Disavowal, error) {
	f.read("DisavowalByTokenHash")
	return f.Store.DisavowalByTokenHash(ctx, tokenHash)
}

func (t *faultTx) CreateDisavowal(ctx context.Context, d *account.Disavowal) error {
	if err := t.write("CreateDisavowal"); err != nil {
		return err
	}
	return t.tx.CreateDisavowal(ctx, d)
}

func (t *faultTx) UseDisavowal(ctx context.Context, id, userID int64, now time.Time) (bool, error) {
	if err := t.write("UseDisavowal"); err != nil {
		return false, err
	}
	return t.tx.UseDisavowal(ctx, id, userID, now)
}
