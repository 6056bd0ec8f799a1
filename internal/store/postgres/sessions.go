package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/twofold/twofold/internal/account"
)

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func insertSession(ctx context.Context, db execer, sess *account.Session) error {
	_, err := db.Exec(ctx,
		`INSERT INTO sessions (token_hash, user_id, stage, created_at, last_seen_at, authenticated_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		sess.TokenHash, sess.UserID, string(sess.Stage), millis(sess.CreatedAt), millis(sess.LastSeenAt),
		millis(sess.AuthenticatedAt), millis(sess.ExpiresAt), sess.IP, sess.UserAgent)
	return err
}

// CreateSession implements account.Store.
func (s *Store) CreateSession(ctx context.Context, sess *account.Session) error {
	if err := insertSession(ctx, s.pool, sess); err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
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
	err := s.pool.QueryRow(ctx,
		`SELECT token_hash, user_id, stage, created_at, last_seen_at, authenticated_at, expires_at, ip, user_agent
		FROM sessions WHERE token_hash = $1`, tokenHash).
		Scan(&sess.TokenHash, &sess.UserID, &stage, &created, &lastSeen, &authenticated, &expiry, &sess.IP, &sess.UserAgent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: session: %w", account.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: session: %w", err)
	}
	sess.Stage = account.Stage(stage)
	sess.CreatedAt, sess.LastSeenAt = fromMillis(created), fromMillis(lastSeen)
	sess.AuthenticatedAt, sess.ExpiresAt = fromMillis(authenticated), fromMillis(expiry)
	return &sess, nil
}

// ReplaceSession implements account.Store in one statement (one round trip
// and commit instead of four). The DELETE's row count decides: the INSERT
// only runs when it removed the old session, and a concurrent replacement
// of the same session waits on the row lock and then deletes, and so
// inserts, nothing.
func (s *Store) ReplaceSession(ctx context.Context, oldHash string, next *account.Session) error {
	tag, err := s.pool.Exec(ctx,
		`WITH old AS (DELETE FROM sessions WHERE token_hash = $1 RETURNING 1)
		INSERT INTO sessions (token_hash, user_id, stage, created_at, last_seen_at, authenticated_at, expires_at, ip, user_agent)
		SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM old)`,
		oldHash, next.TokenHash, next.UserID, string(next.Stage), millis(next.CreatedAt), millis(next.LastSeenAt),
		millis(next.AuthenticatedAt), millis(next.ExpiresAt), next.IP, next.UserAgent)
	if err != nil {
		return fmt.Errorf("postgres: replace session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: replace session: %w", account.ErrNotFound)
	}
	return nil
}

// TouchSession implements account.Store.
func (s *Store) TouchSession(ctx context.Context, tokenHash string, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1`,
		millis(now), tokenHash); err != nil {
		return fmt.Errorf("postgres: touch session: %w", err)
	}
	return nil
}

// SetSessionAuthenticatedAt implements account.Store.
func (s *Store) SetSessionAuthenticatedAt(ctx context.Context, tokenHash string, at time.Time) error {
	return s.execOne(ctx, "set session authenticated_at", `UPDATE sessions SET authenticated_at = $1 WHERE token_hash = $2`, millis(at), tokenHash)
}

// DeleteSession implements account.Store.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	return s.execOne(ctx, "delete session", `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
}

// DeleteUserSessions implements account.Store.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64, keepHash string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, userID, keepHash); err != nil {
		return fmt.Errorf("postgres: delete user sessions: %w", err)
	}
	return nil
}

// cleanupBatch bounds the rows one cleanup statement deletes, so that a
// backlog never holds many row locks or one long transaction.
const cleanupBatch = 1000

// DeleteExpired implements account.Store, in batches of cleanupBatch rows.
// SKIP LOCKED lets several instances clean up at once, each taking rows the
// others are not deleting.
func (s *Store) DeleteExpired(ctx context.Context, now, idleBefore, linksBefore, attemptsBefore time.Time) error {
	batches := []struct {
		what, query string
		args        []any
	}{
		{"expired sessions", `DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions
			WHERE expires_at <= $1 OR last_seen_at <= $2 LIMIT $3 FOR UPDATE SKIP LOCKED)`, []any{millis(now), millis(idleBefore), cleanupBatch}},
		{"expired sign-up links", `DELETE FROM pending_signups WHERE id IN (SELECT id FROM pending_signups
			WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, []any{millis(now), cleanupBatch}},
		{"messages with expired sign-up links", `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
			WHERE kind = $1 AND created_at <= $2 LIMIT $3 FOR UPDATE SKIP LOCKED)`, []any{string(account.NotificationSignUpLink), millis(linksBefore), cleanupBatch}},
		{"old throttle attempts", `DELETE FROM throttle_attempts WHERE id IN (SELECT id FROM throttle_attempts
			WHERE attempted_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, []any{millis(attemptsBefore), cleanupBatch}},
	}
	for _, b := range batches {
		for {
			tag, err := s.pool.Exec(ctx, b.query, b.args...)
			if err != nil {
				return fmt.Errorf("postgres: delete %s: %w", b.what, err)
			}
			if tag.RowsAffected() < cleanupBatch {
				break
			}
		}
	}
	return nil
}

// ReserveAttempt implements account.Store. A transaction-scoped advisory
// lock on the key serializes the count and the insert across every
// instance, so concurrent attempts cannot both see room for one more.
//
// The three statements go as one pipelined batch: one round trip, and one
// implicit transaction (the batch ends with a single Sync), which holds the
// lock until it commits. Under READ COMMITTED each statement takes its
// snapshot when it starts, so the conditional INSERT counts, after the lock
// is held, every attempt committed before it.
func (s *Store) ReserveAttempt(ctx context.Context, key string, now, windowStart time.Time, limit int) (id int64, ok bool, oldest time.Time, err error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key)
	b.Queue(`INSERT INTO throttle_attempts (key, attempted_at)
		SELECT $1, $2 WHERE (SELECT count(*) FROM throttle_attempts WHERE key = $1 AND attempted_at > $3) < $4
		RETURNING id`, key, millis(now), millis(windowStart), limit)
	b.Queue(`SELECT min(attempted_at) FROM throttle_attempts WHERE key = $1 AND attempted_at > $2`, key, millis(windowStart))
	err = func() error {
		br := s.pool.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		switch err := br.QueryRow().Scan(&id); {
		case err == nil:
			ok = true
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		var first *int64
		if err := br.QueryRow().Scan(&first); err != nil {
			return err
		}
		if !ok && first != nil {
			oldest = fromMillis(*first)
		}
		return br.Close()
	}()
	if err != nil {
		return 0, false, time.Time{}, fmt.Errorf("postgres: reserve attempt: %w", err)
	}
	return id, ok, oldest, nil
}

// ReleaseAttempt implements account.Store.
func (s *Store) ReleaseAttempt(ctx context.Context, id int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM throttle_attempts WHERE id = $1`, id); err != nil {
		return fmt.Errorf("postgres: release attempt: %w", err)
	}
	return nil
}

// AddEvent implements account.Store.
func (s *Store) AddEvent(ctx context.Context, e *account.Event) error {
	if err := insertEvent(ctx, s.pool, e); err != nil {
		return fmt.Errorf("postgres: add event: %w", err)
	}
	return nil
}

// Events implements account.Store: newest first.
func (s *Store) Events(ctx context.Context, userID int64, limit int) ([]*account.Event, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT id, user_id, kind, detail, ip, user_agent, created_at FROM security_events
		WHERE user_id = $1 ORDER BY id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: events: %w", err)
	}
	defer rows.Close()
	var events []*account.Event
	for rows.Next() {
		var e account.Event
		var kind string
		var created int64
		if err := rows.Scan(&e.ID, &e.UserID, &kind, &e.Detail, &e.IP, &e.UserAgent, &created); err != nil {
			return nil, fmt.Errorf("postgres: events: %w", err)
		}
		e.Kind, e.CreatedAt = account.EventKind(kind), fromMillis(created)
		events = append(events, &e)
	}
	return events, rows.Err()
}
