package autocommit

import (
	"context"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// The OpenID provider's writes, each a transaction of its own.

func (a Store) CreateOIDCClient(ctx context.Context, c *account.OIDCClient) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreateOIDCClient(ctx, c) })
}

func (a Store) SetOIDCClientSecret(ctx context.Context, id, secretHash string) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.SetOIDCClientSecret(ctx, id, secretHash) })
}

func (a Store) DeleteOIDCClient(ctx context.Context, id string) (*account.OIDCClient, error) {
	var r0 *account.OIDCClient
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.DeleteOIDCClient(ctx, id)
		return err
	})
	return r0, err
}

func (a Store) CreateOIDCAuthRequest(ctx context.Context, r *account.OIDCAuthRequest) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreateOIDCAuthRequest(ctx, r) })
}

func (a Store) SatisfyOIDCAuthRequest(ctx context.Context, id string, userID, securityVersion int64, sessionHash string, authTime time.Time, amr []string, now time.Time) (bool, error) {
	var r0 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.SatisfyOIDCAuthRequest(ctx, id, userID, securityVersion, sessionHash, authTime, amr, now)
		return err
	})
	return r0, err
}

func (a Store) SetOIDCAuthCode(ctx context.Context, id, codeHash string, now time.Time) (bool, error) {
	var r0 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.SetOIDCAuthCode(ctx, id, codeHash, now)
		return err
	})
	return r0, err
}

func (a Store) DeleteOIDCAuthRequest(ctx context.Context, id, codeHash string, now time.Time) (bool, error) {
	var r0 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.DeleteOIDCAuthRequest(ctx, id, codeHash, now)
		return err
	})
	return r0, err
}

func (a Store) SetOIDCSubject(ctx context.Context, userID int64, subject string) (string, error) {
	var r0 string
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.SetOIDCSubject(ctx, userID, subject)
		return err
	})
	return r0, err
}

func (a Store) CreateOIDCGrant(ctx context.Context, g *account.OIDCGrant) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreateOIDCGrant(ctx, g) })
}

func (a Store) CreateOIDCAccessToken(ctx context.Context, t *account.OIDCAccessToken) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreateOIDCAccessToken(ctx, t) })
}

func (a Store) CreateOIDCRefreshToken(ctx context.Context, t *account.OIDCRefreshToken) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreateOIDCRefreshToken(ctx, t) })
}

func (a Store) UseOIDCRefreshToken(ctx context.Context, tokenHash string, now time.Time) (bool, error) {
	var r0 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.UseOIDCRefreshToken(ctx, tokenHash, now)
		return err
	})
	return r0, err
}

func (a Store) RevokeOIDCGrant(ctx context.Context, id int64, now time.Time) (bool, error) {
	var r0 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.RevokeOIDCGrant(ctx, id, now)
		return err
	})
	return r0, err
}

func (a Store) DeleteOIDCAccessToken(ctx context.Context, id string) (bool, error) {
	var r0 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.DeleteOIDCAccessToken(ctx, id)
		return err
	})
	return r0, err
}

func (a Store) CreateOIDCSigningKey(ctx context.Context, k *account.OIDCSigningKey) (bool, error) {
	var r0 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.CreateOIDCSigningKey(ctx, k)
		return err
	})
	return r0, err
}

func (a Store) RetireOIDCSigningKeys(ctx context.Context, now time.Time) (int, error) {
	var r0 int
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.RetireOIDCSigningKeys(ctx, now)
		return err
	})
	return r0, err
}
