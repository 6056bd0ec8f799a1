package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// cleanupBatch bounds the rows one cleanup statement deletes, so that a
// backlog never holds many row locks or one long transaction.
const cleanupBatch = 1000

// DeleteExpired implements account.Store, in batches of cleanupBatch rows.
// SKIP LOCKED lets several instances clean up at once, each taking rows the
// others are not deleting.
func (s *Store) DeleteExpired(ctx context.Context, now, idleBefore, linksBefore, attemptsBefore time.Time) error {
	if ctx.Value(inTx{}) != nil {
		return errWriteInsideTx
	}
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
		{"expired remembered devices", `DELETE FROM remembered_devices WHERE id IN (SELECT id FROM remembered_devices
			WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, []any{millis(now), cleanupBatch}},
		{"expired this-wasn't-me links", `DELETE FROM disavowals WHERE id IN (SELECT id FROM disavowals
			WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, []any{millis(now), cleanupBatch}},
		{"expired oidc auth requests", `DELETE FROM oidc_auth_requests WHERE id IN (SELECT id FROM oidc_auth_requests
			WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, []any{millis(now), cleanupBatch}},
		{"expired oidc access tokens", `DELETE FROM oidc_access_tokens WHERE id IN (SELECT id FROM oidc_access_tokens
			WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, []any{millis(now), cleanupBatch}},
		{"expired oidc refresh tokens", `DELETE FROM oidc_refresh_tokens WHERE token_hash IN (SELECT token_hash FROM oidc_refresh_tokens
			WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, []any{millis(now), cleanupBatch}},
		// After the tokens: a grant is kept while one of its tokens is (a
		// revoked one too, so that presenting its refresh token again finds
		// it revoked rather than nothing); with none left it serves nobody.
		{"oidc grants with no token left", `DELETE FROM oidc_grants WHERE id IN (SELECT g.id FROM oidc_grants g WHERE NOT EXISTS (SELECT 1 FROM oidc_access_tokens a WHERE a.grant_id = g.id)
			AND NOT EXISTS (SELECT 1 FROM oidc_refresh_tokens r WHERE r.grant_id = g.id) LIMIT $1 FOR UPDATE OF g SKIP LOCKED)`, []any{cleanupBatch}},
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
