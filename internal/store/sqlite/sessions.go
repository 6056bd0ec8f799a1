package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
)

const insertSessionSQL = `INSERT INTO sessions (token_hash, user_id, stage, created_at, last_seen_at, authenticated_at, expires_at, ip, user_agent)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

const deleteSessionSQL = `DELETE FROM sessions WHERE token_hash = ?`

func (s *Store) insertSession(ctx context.Context, tx *sql.Tx, sess *account.Session) error {
	_, err := s.txExec(ctx, tx, insertSessionSQL,
		sess.TokenHash, sess.UserID, string(sess.Stage), millis(sess.CreatedAt), millis(sess.LastSeenAt),
		millis(sess.AuthenticatedAt), millis(sess.ExpiresAt), sess.IP, sess.UserAgent)
	return err
}

// CreateSession implements account.Store.
func (s *Store) CreateSession(ctx context.Context, sess *account.Session) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.insertSession(ctx, tx, sess) })
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// SessionByTokenHash implements account.Store.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash string) (*account.Session, error) {
	var (
		sess                                     account.Session
		stage                                    string
		created, lastSeen, authenticated, expiry int64
	)
	err := s.queryRow(ctx,
		`SELECT token_hash, user_id, stage, created_at, last_seen_at, authenticated_at, expires_at, ip, user_agent
		FROM sessions WHERE token_hash = ?`, tokenHash).
		Scan(&sess.TokenHash, &sess.UserID, &stage, &created, &lastSeen, &authenticated, &expiry, &sess.IP, &sess.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: session: %w", account.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: session: %w", err)
	}
	sess.Stage = account.Stage(stage)
	sess.CreatedAt, sess.LastSeenAt = fromMillis(created), fromMillis(lastSeen)
	sess.AuthenticatedAt, sess.ExpiresAt = fromMillis(authenticated), fromMillis(expiry)
	return &sess, nil
}

// ReplaceSession implements account.Store.
func (s *Store) ReplaceSession(ctx context.Context, oldHash string, next *account.Session) error {
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, deleteSessionSQL, oldHash)
		if err != nil {
			return fmt.Errorf("sqlite: replace session: %w", err)
		}
		if n, err := affected(res); err != nil || n == 0 {
			return fmt.Errorf("sqlite: replace session: %w", errors.Join(err, account.ErrNotFound))
		}
		if err := s.insertSession(ctx, tx, next); err != nil {
			return fmt.Errorf("sqlite: replace session: %w", err)
		}
		return nil
	})
}

// TouchSession implements account.Store.
func (s *Store) TouchSession(ctx context.Context, tokenHash string, now time.Time) error {
	_, err := s.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ? AND last_seen_at < ?`,
		millis(now), tokenHash, millis(now))
	if err != nil {
		return fmt.Errorf("sqlite: touch session: %w", err)
	}
	return nil
}

// SetSessionAuthenticatedAt implements account.Store.
func (s *Store) SetSessionAuthenticatedAt(ctx context.Context, tokenHash string, at time.Time) error {
	return s.execOne(ctx, "set session authenticated_at", `UPDATE sessions SET authenticated_at = ? WHERE token_hash = ?`, millis(at), tokenHash)
}

// DeleteSession implements account.Store.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	return s.execOne(ctx, "delete session", deleteSessionSQL, tokenHash)
}

// DeleteUserSessions implements account.Store.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64, keepHash string) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`, userID, keepHash); err != nil {
		return fmt.Errorf("sqlite: delete user sessions: %w", err)
	}
	return nil
}

// cleanupBatch bounds the rows one cleanup transaction deletes, so that a
// backlog (a million idle sessions) never holds the write lock for long.
const cleanupBatch = 1000

// DeleteExpired implements account.Store, in batches of cleanupBatch rows,
// each its own write transaction.
func (s *Store) DeleteExpired(ctx context.Context, now, idleBefore, linksBefore, attemptsBefore time.Time) error {
	batches := []struct {
		what, query string
		args        []any
	}{
		{"expired sessions", `DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions
			WHERE expires_at <= ? OR last_seen_at <= ? LIMIT ?)`, []any{millis(now), millis(idleBefore), cleanupBatch}},
		{"expired sign-up links", `DELETE FROM pending_signups WHERE id IN (SELECT id FROM pending_signups
			WHERE expires_at <= ? LIMIT ?)`, []any{millis(now), cleanupBatch}},
		{"messages with expired sign-up links", `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
			WHERE kind = ? AND created_at <= ? LIMIT ?)`, []any{string(account.NotificationSignUpLink), millis(linksBefore), cleanupBatch}},
		{"old throttle attempts", `DELETE FROM throttle_attempts WHERE id IN (SELECT id FROM throttle_attempts
			WHERE attempted_at <= ? LIMIT ?)`, []any{millis(attemptsBefore), cleanupBatch}},
	}
	for _, b := range batches {
		for {
			var n int64
			err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
				res, err := tx.ExecContext(ctx, b.query, b.args...)
				if err != nil {
					return err
				}
				n, err = affected(res)
				return err
			})
			if err != nil {
				return fmt.Errorf("sqlite: delete %s: %w", b.what, err)
			}
			if n < cleanupBatch {
				break
			}
		}
	}
	return nil
}
