package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

const (
	openHelpRequestsSQL = `SELECT ` + rowmap.HelpRequestColumns + ` FROM help_requests h JOIN users u ON u.id = h.user_id
		WHERE h.resolved_at IS NULL ORDER BY h.id`
	latestVerificationSQL = `SELECT ` + rowmap.PhoneVerificationColumns + ` FROM phone_verifications WHERE user_id = ? AND purpose = ? ORDER BY id DESC LIMIT 1`
	insertHelpRequestSQL  = `INSERT INTO help_requests (user_id, message, ip, user_agent, created_at)
		SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM help_requests WHERE user_id = ?1 AND resolved_at IS NULL) RETURNING id`
	resolveHelpRequestsSQL = `UPDATE help_requests SET resolved_at = ?, resolved_by = ? WHERE user_id = ? AND resolved_at IS NULL`
	insertVerificationSQL  = `INSERT INTO phone_verifications (user_id, phone, code_hash, sent_by, purpose, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`
	failVerificationSQL = `UPDATE phone_verifications SET failures = failures + 1
		WHERE id = ?1 AND verified_at IS NULL AND failures < ?2 AND expires_at > ?3`
	verifyVerificationSQL = `UPDATE phone_verifications SET verified_at = ?3
		WHERE id = ?1 AND verified_at IS NULL AND failures < ?2 AND expires_at > ?3`
	consumeVerificationSQL = `UPDATE phone_verifications SET consumed_at = ?3 WHERE consumed_at IS NULL AND verified_at > ?2
		AND id = (SELECT id FROM phone_verifications WHERE user_id = ?1 AND purpose = ?4 ORDER BY id DESC LIMIT 1)`
)

// OpenHelpRequests implements account.Store.
func (s *Store) OpenHelpRequests(ctx context.Context) ([]*account.HelpRequest, error) {
	rows, err := s.read.QueryContext(ctx, openHelpRequestsSQL)
	if err != nil {
		return nil, fmt.Errorf("sqlite: help requests: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanHelpRequest)
	if err != nil {
		return nil, fmt.Errorf("sqlite: help requests: %w", err)
	}
	return out, nil
}

// LatestPhoneVerification implements account.Store.
func (s *Store) LatestPhoneVerification(ctx context.Context, userID int64, purpose string) (*account.PhoneVerification, error) {
	v, err := rowmap.ScanPhoneVerification(s.queryRow(ctx, latestVerificationSQL, userID, purpose))
	if err != nil {
		return nil, fmt.Errorf("sqlite: phone verification: %w", notFound(err))
	}
	return v, nil
}

func (t *tx) AddHelpRequest(ctx context.Context, r *account.HelpRequest) (bool, error) {
	err := t.row(ctx, insertHelpRequestSQL, r.UserID, r.Message, r.IP, r.UserAgent, millis(r.CreatedAt)).Scan(&r.ID)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil // one is open
		}
		return false, fmt.Errorf("sqlite: add help request: %w", err)
	}
	return true, nil
}

func (t *tx) ResolveHelpRequests(ctx context.Context, userID int64, by string, now time.Time) (int, error) {
	n, err := t.exec(ctx, resolveHelpRequestsSQL, millis(now), by, userID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: resolve help requests: %w", err)
	}
	return int(n), nil
}

func (t *tx) CreatePhoneVerification(ctx context.Context, v *account.PhoneVerification) error {
	err := t.row(ctx, insertVerificationSQL, v.UserID, v.Phone, v.CodeHash, v.SentBy, v.Purpose, millis(v.CreatedAt), millis(v.ExpiresAt)).Scan(&v.ID)
	if err != nil {
		return fmt.Errorf("sqlite: create phone verification: %w", err)
	}
	return nil
}

func (t *tx) FailPhoneVerification(ctx context.Context, id int64, tries int, now time.Time) (bool, error) {
	return t.changed(ctx, "count wrong phone code", failVerificationSQL, id, tries, millis(now))
}

func (t *tx) VerifyPhoneVerification(ctx context.Context, id int64, tries int, now time.Time) (bool, error) {
	return t.changed(ctx, "verify phone", verifyVerificationSQL, id, tries, millis(now))
}

func (t *tx) ConsumePhoneVerification(ctx context.Context, userID int64, purpose string, since, now time.Time) (bool, error) {
	return t.changed(ctx, "use phone verification", consumeVerificationSQL, userID, millis(since), millis(now), purpose)
}

// changed runs a conditional statement and reports whether it changed a row.
func (t *tx) changed(ctx context.Context, what, query string, args ...any) (bool, error) {
	n, err := t.exec(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return n > 0, nil
}
