package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// execOne runs one write statement as a transaction of its own and wants
// it to change a row (account.ErrNotFound otherwise). For the outbox
// sender's bookkeeping, which is not an account use case.
func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	s.prepareWrites(ctx, query)
	err := s.inTx(ctx, func(ctx context.Context, sqlTx *sql.Tx) error {
		return (&tx{s: s, tx: sqlTx}).one(ctx, what, account.ErrNotFound, query, args...)
	})
	return err
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
		{"expired remembered devices", `DELETE FROM remembered_devices WHERE id IN (SELECT id FROM remembered_devices
			WHERE expires_at <= ? LIMIT ?)`, []any{millis(now), cleanupBatch}},
		{"expired this-wasn't-me links", `DELETE FROM disavowals WHERE id IN (SELECT id FROM disavowals
			WHERE expires_at <= ? LIMIT ?)`, []any{millis(now), cleanupBatch}},
		{"expired oidc auth requests", `DELETE FROM oidc_auth_requests WHERE id IN (SELECT id FROM oidc_auth_requests
			WHERE expires_at <= ? LIMIT ?)`, []any{millis(now), cleanupBatch}},
		{"expired oidc access tokens", `DELETE FROM oidc_access_tokens WHERE id IN (SELECT id FROM oidc_access_tokens
			WHERE expires_at <= ? LIMIT ?)`, []any{millis(now), cleanupBatch}},
		{"expired oidc refresh tokens", `DELETE FROM oidc_refresh_tokens WHERE token_hash IN (SELECT token_hash FROM oidc_refresh_tokens
			WHERE expires_at <= ? LIMIT ?)`, []any{millis(now), cleanupBatch}},
		// After the tokens: a grant is kept while one of its tokens is (a
		// revoked one too, so that presenting its refresh token again finds
		// it revoked rather than nothing); with none left it serves nobody.
		{"oidc grants with no token left", `DELETE FROM oidc_grants WHERE id IN (SELECT id FROM oidc_grants g WHERE NOT EXISTS (SELECT 1 FROM oidc_access_tokens a WHERE a.grant_id = g.id)
			AND NOT EXISTS (SELECT 1 FROM oidc_refresh_tokens r WHERE r.grant_id = g.id) LIMIT ?)`, []any{cleanupBatch}},
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
