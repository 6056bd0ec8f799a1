package accounttest

import (
	"context"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// The OpenID provider's reads and writes, counted and failed like every other.

// OIDCClient implements account.Store.
func (f *FaultStore) OIDCClient(ctx context.Context, id string) (*account.OIDCClient, error) {
	f.read("OIDCClient")
	return f.Store.OIDCClient(ctx, id)
}

// OIDCClients implements account.Store.
func (f *FaultStore) OIDCClients(ctx context.Context) ([]*account.OIDCClient, error) {
	f.read("OIDCClients")
	return f.Store.OIDCClients(ctx)
}

// OIDCAuthRequest implements account.Store.
func (f *FaultStore) OIDCAuthRequest(ctx context.Context, id string) (*account.OIDCAuthRequest, error) {
	f.read("OIDCAuthRequest")
	return f.Store.OIDCAuthRequest(ctx, id)
}

// OIDCAuthRequestByCode implements account.Store.
func (f *FaultStore) OIDCAuthRequestByCode(ctx context.Context, codeHash string) (*account.OIDCAuthRequest, error) {
	f.read("OIDCAuthRequestByCode")
	return f.Store.OIDCAuthRequestByCode(ctx, codeHash)
}

// OIDCAccessToken implements account.Store.
func (f *FaultStore) OIDCAccessToken(ctx context.Context, id string) (*account.OIDCAccessToken, *account.OIDCGrantHolder, error) {
	f.read("OIDCAccessToken")
	return f.Store.OIDCAccessToken(ctx, id)
}

// OIDCRefreshToken implements account.Store.
func (f *FaultStore) OIDCRefreshToken(ctx context.Context, tokenHash string) (*account.OIDCRefreshToken, *account.OIDCGrantHolder, error) {
	f.read("OIDCRefreshToken")
	return f.Store.OIDCRefreshToken(ctx, tokenHash)
}

// OIDCSigningKeys implements account.Store.
func (f *FaultStore) OIDCSigningKeys(ctx context.Context, retiredAfter time.Time) ([]*account.OIDCSigningKey, error) {
	f.read("OIDCSigningKeys")
	return f.Store.OIDCSigningKeys(ctx, retiredAfter)
}

// OIDCSubject implements account.Store.
func (f *FaultStore) OIDCSubject(ctx context.Context, userID int64) (string, error) {
	f.read("OIDCSubject")
	return f.Store.OIDCSubject(ctx, userID)
}

func (t *faultTx) CreateOIDCClient(ctx context.Context, c *account.OIDCClient) error {
	if err := t.write("CreateOIDCClient"); err != nil {
		return err
	}
	return t.tx.CreateOIDCClient(ctx, c)
}

func (t *faultTx) SetOIDCClientSecret(ctx context.Context, id, secretHash string) error {
	if err := t.write("SetOIDCClientSecret"); err != nil {
		return err
	}
	return t.tx.SetOIDCClientSecret(ctx, id, secretHash)
}

func (t *faultTx) DeleteOIDCClient(ctx context.Context, id string) (*account.OIDCClient, error) {
	if err := t.write("DeleteOIDCClient"); err != nil {
		return nil, err
	}
	return t.tx.DeleteOIDCClient(ctx, id)
}

func (t *faultTx) CreateOIDCAuthRequest(ctx context.Context, r *account.OIDCAuthRequest) error {
	if err := t.write("CreateOIDCAuthRequest"); err != nil {
		return err
	}
	return t.tx.CreateOIDCAuthRequest(ctx, r)
}

func (t *faultTx) SatisfyOIDCAuthRequest(ctx context.Context, id string, userID, securityVersion int64, sessionHash string, authTime time.Time, amr []string, now time.Time) (bool, error) {
	if err := t.write("SatisfyOIDCAuthRequest"); err != nil {
		return false, err
	}
	return t.tx.SatisfyOIDCAuthRequest(ctx, id, userID, securityVersion, sessionHash, authTime, amr, now)
}

func (t *faultTx) SetOIDCAuthCode(ctx context.Context, id, codeHash string, now time.Time) (bool, error) {
	if err := t.write("SetOIDCAuthCode"); err != nil {
		return false, err
	}
	return t.tx.SetOIDCAuthCode(ctx, id, codeHash, now)
}

func (t *faultTx) DeleteOIDCAuthRequest(ctx context.Context, id, codeHash string, now time.Time) (bool, error) {
	if err := t.write("DeleteOIDCAuthRequest"); err != nil {
		return false, err
	}
	return t.tx.DeleteOIDCAuthRequest(ctx, id, codeHash, now)
}

func (t *faultTx) SetOIDCSubject(ctx context.Context, userID int64, subject string) (string, error) {
	if err := t.write("SetOIDCSubject"); err != nil {
		return "", err
	}
	return t.tx.SetOIDCSubject(ctx, userID, subject)
}

func (t *faultTx) CreateOIDCGrant(ctx context.Context, g *account.OIDCGrant) error {
	if err := t.write("CreateOIDCGrant"); err != nil {
		return err
	}
	return t.tx.CreateOIDCGrant(ctx, g)
}

func (t *faultTx) CreateOIDCAccessToken(ctx context.Context, tok *account.OIDCAccessToken) error {
	if err := t.write("CreateOIDCAccessToken"); err != nil {
		return err
	}
	return t.tx.CreateOIDCAccessToken(ctx, tok)
}

func (t *faultTx) CreateOIDCRefreshToken(ctx context.Context, tok *account.OIDCRefreshToken) error {
	if err := t.write("CreateOIDCRefreshToken"); err != nil {
		return err
	}
	return t.tx.CreateOIDCRefreshToken(ctx, tok)
}

func (t *faultTx) UseOIDCRefreshToken(ctx context.Context, tokenHash string, now time.Time) (bool, error) {
	if err := t.write("UseOIDCRefreshToken"); err != nil {
		return false, err
	}
	return t.tx.UseOIDCRefreshToken(ctx, tokenHash, now)
}

func (t *faultTx) RevokeOIDCGrant(ctx context.Context, id int64, now time.Time) (bool, error) {
	if err := t.write("RevokeOIDCGrant"); err != nil {
		return false, err
	}
	return t.tx.RevokeOIDCGrant(ctx, id, now)
}

func (t *faultTx) DeleteOIDCAccessToken(ctx context.Context, id string) (bool, error) {
	if err := t.write("DeleteOIDCAccessToken"); err != nil {
		return false, err
	}
	return t.tx.DeleteOIDCAccessToken(ctx, id)
}

func (t *faultTx) CreateOIDCSigningKey(ctx context.Context, k *account.OIDCSigningKey) (bool, error) {
	if err := t.write("CreateOIDCSigningKey"); err != nil {
		return false, err
	}
	return t.tx.CreateOIDCSigningKey(ctx, k)
}

func (t *faultTx) RetireOIDCSigningKeys(ctx context.Context, now time.Time) (int, error) {
	if err := t.write("RetireOIDCSigningKeys"); err != nil {
		return 0, err
	}
	return t.tx.RetireOIDCSigningKeys(ctx, now)
}
