package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/twofold/twofold/internal/account"
)

// OutboxBacklog counts the messages not sent yet, for metrics: those still
// to be tried, and those that used all maxAttempts.
func (s *Store) OutboxBacklog(ctx context.Context, maxAttempts int) (account.OutboxBacklog, error) {
	var b account.OutboxBacklog
	var oldest *int64
	err := s.pool.QueryRow(ctx,
		`SELECT COUNT(*) FILTER (WHERE attempts < $1), COUNT(*) FILTER (WHERE attempts >= $1),
			MIN(created_at) FILTER (WHERE attempts < $1)
		FROM outbox WHERE sent_at IS NULL`, maxAttempts).Scan(&b.Queued, &b.GivenUp, &oldest)
	if err != nil {
		return b, fmt.Errorf("postgres: outbox backlog: %w", err)
	}
	if oldest != nil {
		b.Oldest = fromMillis(*oldest)
	}
	return b, nil
}

// Pool returns the connection pool, for its metrics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
