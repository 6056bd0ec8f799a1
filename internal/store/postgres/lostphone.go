package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// OpenHelpRequests implements account.Store.
func (s *Store) OpenHelpRequests(ctx context.Context) ([]*account.HelpRequest, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+rowmap.HelpRequestColumns+` FROM help_requests h JOIN users u ON u.id = h.user_id
		WHERE h.resolved_at IS NULL ORDER BY h.id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: help requests: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanHelpRequest)
	if err != nil {
		return nil, fmt.Errorf("postgres: help requests: %w", err)
	}
	return out, nil
}

// LatestPhoneVerification implements account.Store.
func (s *Store) LatestPhoneVerification(ctx context.Context, userID int64, purpose string) (*account.PhoneVerification, error) {
	v, err := rowmap.ScanPhoneVerification(s.pool.QueryRow(ctx,
		`SELECT `+rowmap.PhoneVerificationColumns+` FROM phone_verifications WHERE user_id = $1 AND purpose = $2 ORDER BY id DESC LIMIT 1`, userID, purpose))
	if err != nil {
		return nil, fmt.Errorf("postgres: phone verification: %w", notFound(err))
	}
	return v, nil
}

// AddHelpRequest implements account.Tx. The caller has locked the user's
// row (RequireSecurityVersion), so two requests of one user take turns and
// the second sees the first's open request.
func (t *tx) AddHelpRequest(ctx context.Context, r *account.HelpRequest) (bool, error) {
	err := t.tx.QueryRow(ctx, `INSERT INTO help_requests (user_id, message, ip, user_agent, created_at)
		SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM help_requests WHERE user_id = $1 AND resolved_at IS NULL) RETURNING id`,
		r.UserID, r.Message, r.IP, r.UserAgent, millis(r.CreatedAt)).Scan(&r.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: add help request: %w", err)
	}
	return true, nil
}

func (t *tx) ResolveHelpRequests(ctx context.Context, userID int64, by string, now time.Time) (int, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE help_requests SET resolved_at = $1, resolved_by = $2 WHERE user_id = $3 AND resolved_at IS NULL`,
		millis(now), by, userID)
	if err != nil {
		return 0, fmt.Errorf("postgres: resolve help requests: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func (t *tx) CreatePhoneVerification(ctx context.Context, v *account.PhoneVerification) error {
	err := t.tx.QueryRow(ctx, `INSERT INTO phone_verifications (user_id, phone, code_hash, sent_by, purpose, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		v.UserID, v.Phone, v.CodeHash, v.SentBy, v.Purpose, millis(v.CreatedAt), millis(v.ExpiresAt)).Scan(&v.ID)
	if err != nil {
		return fmt.Errorf("postgres: create phone verification: %w", err)
	}
	return nil
}

// FailPhoneVerification implements account.Tx: racing tries wait on the
// row lock and each sees the count the one before left.
func (t *tx) FailPhoneVerification(ctx context.Context, id int64, tries int, now time.Time) (bool, error) {
	return t.changed(ctx, "count wrong phone code", `UPDATE phone_verifications SET failures = failures + 1
		WHERE id = $1 AND verified_at IS NULL AND failures < $2 AND expires_at > $3`, id, tries, millis(now))
}

func (t *tx) VerifyPhoneVerification(ctx context.Context, id int64, tries int, now time.Time) (bool, error) {
	return t.changed(ctx, "verify phone", `UPDATE phone_verifications SET verified_at = $3
		WHERE id = $1 AND verified_at IS NULL AND failures < $2 AND expires_at > $3`, id, tries, millis(now))
}

// ConsumePhoneVerification implements account.Tx: the consumed_at
// condition is checked again on the locked row, so two resets racing for
// one verification use it once.
func (t *tx) ConsumePhoneVerification(ctx context.Context, userID int64, purpose string, since, now time.Time) (bool, error) {
	return t.changed(ctx, "use phone verification", `UPDATE phone_verifications SET consumed_at = $3
		WHERE consumed_at IS NULL AND verified_at > $2
			AND id = (SELECT id FROM phone_verifications WHERE user_id = $1 AND purpose = $4 ORDER BY id DESC LIMIT 1)`,
		userID, millis(since), millis(now), purpose)
}
