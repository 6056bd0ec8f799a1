package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// notFound maps the driver's no-rows error to account.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return account.ErrNotFound
	}
	return err
}

const (
	userByIDSQL    = `SELECT ` + rowmap.UserColumns + ` FROM users WHERE id = ?`
	userByEmailSQL = `SELECT ` + rowmap.UserColumns + ` FROM users WHERE email = ?`
)

// sessionProfileSQL is the one read behind every authenticated request.
var sessionProfileSQL = `SELECT ` + rowmap.SessionProfileColumns + `
	FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN settings st ON st.id = 1 WHERE s.token_hash = ?`

// UserByID implements account.Store.
func (s *Store) UserByID(ctx context.Context, id int64) (*account.User, error) {
	u, err := rowmap.ScanUser(s.queryRow(ctx, userByIDSQL, id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: user %d: %w", id, notFound(err))
	}
	return u, nil
}

// UserByEmail implements account.Store.
func (s *Store) UserByEmail(ctx context.Context, email string) (*account.User, error) {
	u, err := rowmap.ScanUser(s.queryRow(ctx, userByEmailSQL, email))
	if err != nil {
		return nil, fmt.Errorf("sqlite: user by email: %w", notFound(err))
	}
	return u, nil
}

// ListUsers implements account.Store.
func (s *Store) ListUsers(ctx context.Context) ([]*account.User, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+rowmap.UserColumns+" FROM users ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	users, err := rowmap.ScanAll(rows, rowmap.ScanUser)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return users, nil
}

// SessionByTokenHash implements account.Store: the session, its user and
// the user's unused backup codes in one query.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash string) (*account.Session, error) {
	sess, err := rowmap.ScanSessionProfile(s.queryRow(ctx, sessionProfileSQL, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("sqlite: session: %w", notFound(err))
	}
	return sess, nil
}

// PendingSignUpByTokenHash implements account.Store.
func (s *Store) PendingSignUpByTokenHash(ctx context.Context, tokenHash string) (*account.PendingSignUp, error) {
	p, err := rowmap.ScanPendingSignUp(s.queryRow(ctx,
		`SELECT `+rowmap.PendingSignUpColumns+` FROM pending_signups WHERE token_hash = ?`, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending sign-up: %w", notFound(err))
	}
	return p, nil
}

// Events implements account.Store: newest first.
func (s *Store) Events(ctx context.Context, userID int64, limit int) ([]*account.Event, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+rowmap.EventColumns+` FROM security_events WHERE user_id = ? ORDER BY id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	defer rows.Close()
	events, err := rowmap.ScanAll(rows, rowmap.ScanEvent)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	return events, nil
}

// CountBackupCodes returns the user's unused backup codes (for tests and
// tools; the service reads the count with the session).
func (s *Store) CountBackupCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM backup_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count backup codes: %w", err)
	}
	return n, nil
}

// RowCounts returns how many rows each table holds (backup_codes: the
// unused ones), for tests that check a use case left all of its effect or
// none. Not part of account.Store.
func (s *Store) RowCounts(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{}
	for table, query := range rowmap.CountQueries {
		var n int
		if err := s.queryRow(ctx, query).Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlite: count %s: %w", table, err)
		}
		counts[table] = n
	}
	return counts, nil
}
