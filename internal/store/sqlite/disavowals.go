package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// The statements of the "This wasn't me" links (disavowals).
const (
	disavowalByTokenSQL = `SELECT ` + rowmap.DisavowalColumns + ` FROM disavowals WHERE token_hash = ?`
	insertDisavowalSQL  = `INSERT INTO disavowals (token_hash, user_id, kind, previous_password_hash, created_at, expires_at)
		VALUES (?, ?, ?, NULLIF(?, ''), ?, ?) RETURNING id`
	useDisavowalSQL = `UPDATE disavowals SET used_at = ?3, previous_password_hash = NULL
		WHERE id = ?1 AND user_id = ?2 AND used_at IS NULL AND expires_at > ?3`
	bumpSecurityVersionSQL = `UPDATE users SET security_version = security_version + 1 WHERE id = ?`
)

// disavowalStatements are prepared at Open with txStatements.
var disavowalStatements = []string{insertDisavowalSQL, useDisavowalSQL, bumpSecurityVersionSQL}

// DisavowalByTokenHash implements account.Store.
func (s *Store) DisavowalByTokenHash(ctx context.Context, tokenHash string) (*account.Disavowal, error) {
	d, err := rowmap.ScanDisavowal(s.queryRow(ctx, disavowalByTokenSQL, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("sqlite: this-wasn't-me link: %w", notFound(err))
	}
	return d, nil
}

func (t *tx) CreateDisavowal(ctx context.Context, d *account.Disavowal) error {
	err := t.row(ctx, insertDisavowalSQL, d.TokenHash, d.UserID, string(d.Kind), d.PreviousPasswordHash,
		millis(d.CreatedAt), millis(d.ExpiresAt)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("sqlite: create this-wasn't-me link: %w", err)
	}
	return nil
}

// UseDisavowal implements account.Tx. The write transaction excludes every
// other, so the two statements need no further guard.
func (t *tx) UseDisavowal(ctx context.Context, id, userID int64, now time.Time) (bool, error) {
	used, err := t.changed(ctx, "use this-wasn't-me link", useDisavowalSQL, id, userID, millis(now))
	if err != nil || !used {
		return false, err
	}
	if _, err := t.exec(ctx, bumpSecurityVersionSQL, userID); err != nil {
		return false, fmt.Errorf("sqlite: bump security version: %w", err)
	}
	return true, nil
}
