package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

const (
	insertInvitationSQL = `INSERT INTO invitations (token_hash, email, role, invited_by, created_at, expires_at)
			VALUES (?, ?, ?, NULLIF(?, 0), ?, ?) RETURNING id`
	acceptInvitationSQL = `UPDATE invitations SET accepted_at = ?1
		WHERE id = ?2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?1`
	revokeInvitationSQL = `UPDATE invitations SET revoked_at = ? WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL`
	countAdminsSQL      = `SELECT count(*) FROM users WHERE role = 'admin' AND deactivated_at IS NULL`
)

// InvitationByTokenHash implements account.Store.
func (s *Store) InvitationByTokenHash(ctx context.Context, tokenHash string) (*account.Invitation, error) {
	inv, err := rowmap.ScanInvitation(s.queryRow(ctx,
		`SELECT `+rowmap.InvitationColumns+` FROM invitations WHERE token_hash = ?`, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("sqlite: invitation: %w", notFound(err))
	}
	return inv, nil
}

// Invitations implements account.Store.
func (s *Store) Invitations(ctx context.Context, limit int) ([]*account.Invitation, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+rowmap.InvitationColumns+` FROM invitations ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: invitations: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanInvitation)
	if err != nil {
		return nil, fmt.Errorf("sqlite: invitations: %w", err)
	}
	return out, nil
}

// CountAdministrators implements account.Store.
func (s *Store) CountAdministrators(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, countAdminsSQL).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count administrators: %w", err)
	}
	return n, nil
}

func (t *tx) CreateInvitation(ctx context.Context, inv *account.Invitation) error {
	err := t.row(ctx, insertInvitationSQL, inv.TokenHash, inv.Email, string(inv.Role), inv.InvitedBy,
		millis(inv.CreatedAt), millis(inv.ExpiresAt)).Scan(&inv.ID)
	if err != nil {
		return fmt.Errorf("sqlite: create invitation: %w", err)
	}
	return nil
}

func (t *tx) AcceptInvitation(ctx context.Context, id int64, now time.Time) error {
	return t.one(ctx, "accept invitation", account.ErrNotFound, acceptInvitationSQL, millis(now), id)
}

func (t *tx) RevokeInvitation(ctx context.Context, id int64, now time.Time) error {
	return t.one(ctx, "revoke invitation", account.ErrNotFound, revokeInvitationSQL, millis(now), id)
}

// LockAdministrators implements account.Tx: SQLite runs one write
// transaction at a time, for every process on the file, so the count
// cannot change before this transaction ends.
func (t *tx) LockAdministrators(ctx context.Context) (int, error) {
	var n int
	if err := t.row(ctx, countAdminsSQL).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count administrators: %w", err)
	}
	return n, nil
}

const (
	setRoleSQL        = `UPDATE users SET role = ?, security_version = security_version + 1 WHERE id = ?`
	setDeactivatedSQL = `UPDATE users SET deactivated_at = ?, security_version = security_version + 1 WHERE id = ?`
)

// UserSummaries implements account.Store.
func (s *Store) UserSummaries(ctx context.Context) ([]*account.UserSummary, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+rowmap.UserSummaryColumns+` FROM users u ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user summaries: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanUserSummary)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user summaries: %w", err)
	}
	return out, nil
}

func (t *tx) SetRole(ctx context.Context, userID int64, role account.Role) error {
	return t.one(ctx, "set role", account.ErrNotFound, setRoleSQL, string(role), userID)
}

func (t *tx) SetDeactivated(ctx context.Context, userID int64, at time.Time) error {
	var v any
	if !at.IsZero() {
		v = millis(at)
	}
	return t.one(ctx, "set deactivated", account.ErrNotFound, setDeactivatedSQL, v, userID)
}

const updateSettingsSQL = `UPDATE settings SET require_two_factor = ?1, grace_period_days = ?2, required_since = ?3, recovery_delay_hours = ?7
	WHERE id = 1 AND require_two_factor = ?4 AND grace_period_days = ?5 AND COALESCE(required_since, 0) = ?6 AND recovery_delay_hours = ?8`

// Settings implements account.Store.
func (s *Store) Settings(ctx context.Context) (account.Settings, error) {
	st, err := rowmap.ScanSettings(s.queryRow(ctx, `SELECT `+rowmap.SettingsColumns("st")+` FROM settings st WHERE st.id = 1`))
	if err != nil {
		return st, fmt.Errorf("sqlite: settings: %w", err)
	}
	return st, nil
}

func (t *tx) UpdateSettings(ctx context.Context, was, next account.Settings) error {
	var since any
	if !next.RequiredSince.IsZero() {
		since = millis(next.RequiredSince)
	}
	return t.one(ctx, "update settings", account.ErrStale, updateSettingsSQL,
		boolInt(next.RequireTwoFactor), next.GracePeriodDays, since, boolInt(was.RequireTwoFactor), was.GracePeriodDays, sinceMillis(was.RequiredSince),
		next.RecoveryDelayHours, was.RecoveryDelayHours)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

const insertAuditSQL = `INSERT INTO audit_log (actor_id, actor, action, target, detail, ip, created_at) VALUES (NULLIF(?, 0), ?, ?, ?, ?, ?, ?) RETURNING id`

// AuditLog implements account.Store.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]*account.AuditEntry, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+rowmap.AuditColumns+` FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit log: %w", err)
	}
	defer rows.Close()
	out, err := rowmap.ScanAll(rows, rowmap.ScanAudit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit log: %w", err)
	}
	return out, nil
}

func (t *tx) AddAudit(ctx context.Context, e *account.AuditEntry) error {
	err := t.row(ctx, insertAuditSQL, e.ActorID, e.Actor, string(e.Action), e.Target, e.Detail, e.IP, millis(e.CreatedAt)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("sqlite: add audit entry: %w", err)
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
