package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

const countAdminsSQL = `SELECT count(*) FROM users WHERE role = 'admin' AND deactivated_at IS NULL`

// administratorsLock is the advisory lock key LockAdministrators takes.
const administratorsLock = "twofold:administrators"

// InvitationByTokenHash implements account.Store.
func (s *Store) InvitationByTokenHash(ctx context.Context, tokenHash string) (*account.Invitation, error) {
	inv, err := rowmap.ScanInvitation(s.pool.QueryRow(ctx,
		`SELECT `+rowmap.InvitationColumns+` FROM invitations WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("postgres: invitation: %w", notFound(err))
	}
	return inv, nil
}

// Invitations implements account.Store.
func (s *Store) Invitations(ctx context.Context, limit int) ([]*account.Invitation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+rowmap.InvitationColumns+` FROM invitations ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: invitations: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanInvitation)
	if err != nil {
		return nil, fmt.Errorf("postgres: invitations: %w", err)
	}
	return out, nil
}

// CountAdministrators implements account.Store.
func (s *Store) CountAdministrators(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, countAdminsSQL).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count administrators: %w", err)
	}
	return n, nil
}

func (t *tx) CreateInvitation(ctx context.Context, inv *account.Invitation) error {
	err := t.tx.QueryRow(ctx,
		`INSERT INTO invitations (token_hash, email, role, invited_by, created_at, expires_at)
		VALUES ($1, $2, $3, NULLIF($4::bigint, 0), $5, $6) RETURNING id`,
		inv.TokenHash, inv.Email, string(inv.Role), inv.InvitedBy, millis(inv.CreatedAt), millis(inv.ExpiresAt)).Scan(&inv.ID)
	if err != nil {
		return fmt.Errorf("postgres: create invitation: %w", err)
	}
	return nil
}

// AcceptInvitation implements account.Tx. Under READ COMMITTED a second
// transaction accepting the same invitation waits for the first one's row
// lock and then re-checks the condition on the updated row: it changes
// nothing.
func (t *tx) AcceptInvitation(ctx context.Context, id int64, now time.Time) error {
	return t.one(ctx, "accept invitation", account.ErrNotFound,
		`UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1`, millis(now), id)
}

func (t *tx) RevokeInvitation(ctx context.Context, id int64, now time.Time) error {
	return t.one(ctx, "revoke invitation", account.ErrNotFound,
		`UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL`, millis(now), id)
}

// LockAdministrators implements account.Tx with a transaction-scoped
// advisory lock: every transaction that decides on who the administrators
// are takes it first, so two of them (two setup links accepted at once,
// two administrators demoting each other) run one after the other, and
// the second counts what the first committed.
func (t *tx) LockAdministrators(ctx context.Context) (int, error) {
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, administratorsLock); err != nil {
		return 0, fmt.Errorf("postgres: lock administrators: %w", err)
	}
	var n int
	if err := t.tx.QueryRow(ctx, countAdminsSQL).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count administrators: %w", err)
	}
	return n, nil
}

// UserSummaries implements account.Store.
func (s *Store) UserSummaries(ctx context.Context) ([]*account.UserSummary, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+rowmap.UserSummaryColumns+` FROM users u ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: user summaries: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanUserSummary)
	if err != nil {
		return nil, fmt.Errorf("postgres: user summaries: %w", err)
	}
	return out, nil
}

func (t *tx) SetRole(ctx context.Context, userID int64, role account.Role) error {
	return t.one(ctx, "set role", account.ErrNotFound,
		`UPDATE users SET role = $1, security_version = security_version + 1 WHERE id = $2`, string(role), userID)
}

func (t *tx) SetDeactivated(ctx context.Context, userID int64, at time.Time) error {
	var v *int64
	if !at.IsZero() {
		ms := millis(at)
		v = &ms
	}
	return t.one(ctx, "set deactivated", account.ErrNotFound,
		`UPDATE users SET deactivated_at = $1, security_version = security_version + 1 WHERE id = $2`, v, userID)
}

// Settings implements account.Store.
func (s *Store) Settings(ctx context.Context) (account.Settings, error) {
	st, err := rowmap.ScanSettings(s.pool.QueryRow(ctx, `SELECT `+rowmap.SettingsColumns("st")+` FROM settings st WHERE st.id = 1`))
	if err != nil {
		return st, fmt.Errorf("postgres: settings: %w", err)
	}
	return st, nil
}

// UpdateSettings implements account.Tx. Under READ COMMITTED a concurrent
// update waits for this one's row lock and then re-checks its condition
// on the new values: it changes nothing.
func (t *tx) UpdateSettings(ctx context.Context, was, next account.Settings) error {
	var since *int64
	if !next.RequiredSince.IsZero() {
		ms := millis(next.RequiredSince)
		since = &ms
	}
	return t.one(ctx, "update settings", account.ErrStale,
		`UPDATE settings SET require_two_factor = $1, grace_period_days = $2, required_since = $3, recovery_delay_hours = $7
		WHERE id = 1 AND require_two_factor = $4 AND grace_period_days = $5 AND COALESCE(required_since, 0) = $6 AND recovery_delay_hours = $8`,
		boolInt(next.RequireTwoFactor), next.GracePeriodDays, since, boolInt(was.RequireTwoFactor), was.GracePeriodDays, sinceMillis(was.RequiredSince),
		next.RecoveryDelayHours, was.RecoveryDelayHours)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// AuditLog implements account.Store.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]*account.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+rowmap.AuditColumns+` FROM audit_log ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit log: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanAudit)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit log: %w", err)
	}
	return out, nil
}

func (t *tx) AddAudit(ctx context.Context, e *account.AuditEntry) error {
	err := t.tx.QueryRow(ctx,
		`INSERT INTO audit_log (actor_id, actor, action, target, detail, ip, created_at) VALUES (NULLIF($1::bigint, 0), $2, $3, $4, $5, $6, $7) RETURNING id`,
		e.ActorID, e.Actor, string(e.Action), e.Target, e.Detail, e.IP, millis(e.CreatedAt)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("postgres: add audit entry: %w", err)
	}
	return nil
}

// sinceMillis is t in milliseconds, 0 for the zero time (as COALESCE reads NULL).
func sinceMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return millis(t)
}
