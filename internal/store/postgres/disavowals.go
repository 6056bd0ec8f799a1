package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// DisavowalByTokenHash implements account.Store.
func (s *Store) DisavowalByTokenHash(ctx context.Context, tokenHash string) (*account.Disavowal, error) {
	d, err := rowmap.ScanDisavowal(s.pool.QueryRow(ctx, `SELECT `+rowmap.DisavowalColumns+` FROM disavowals WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("postgres: this-wasn't-me link: %w", notFound(err))
	}
	return d, nil
}

// CreateDisavowal implements account.Tx.
func (t *tx) CreateDisavowal(ctx context.Context, d *account.Disavowal) error {
	err := t.tx.QueryRow(ctx, `INSERT INTO disavowals (token_hash, user_id, kind, previous_password_hash, created_at, expires_at)
		VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6) RETURNING id`,
		d.TokenHash, d.UserID, string(d.Kind), d.PreviousPasswordHash, millis(d.CreatedAt), millis(d.ExpiresAt)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("postgres: create this-wasn't-me link: %w", err)
	}
	return nil
}

// UseDisavowal implements account.Tx in one statement: the link's row is
// updated only while unused (a second use waits for the first's row lock,
// then finds used_at set and changes nothing), and the user's security
// version is bumped only when it was. Only a link's own use locks its
// row, so taking it before the user's row makes no cycle with the other
// use cases.
func (t *tx) UseDisavowal(ctx context.Context, id, userID int64, now time.Time) (bool, error) {
	return t.changed(ctx, "use this-wasn't-me link", `WITH used AS (
			UPDATE disavowals SET used_at = $3, previous_password_hash = NULL
			WHERE id = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id)
		UPDATE users SET security_version = security_version + 1 WHERE id IN (SELECT user_id FROM used)`,
		id, userID, millis(now))
}
