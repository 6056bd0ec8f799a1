package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// OutboxBacklog counts the messages not sent yet, for metrics, per
// channel (every channel, empty or not): those still to be tried, and
// those that used all maxAttempts.
func (s *Store) OutboxBacklog(ctx context.Context, maxAttempts int) ([]account.OutboxBacklog, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT channel, COUNT(*) FILTER (WHERE attempts < $1), COUNT(*) FILTER (WHERE attempts >= $1),
			MIN(created_at) FILTER (WHERE attempts < $1)
		FROM outbox WHERE sent_at IS NULL GROUP BY channel`, maxAttempts)
	if err != nil {
		return nil, fmt.Errorf("postgres: outbox backlog: %w", err)
	}
	defer rows.Close()
	out := rowmap.Backlogs()
	for rows.Next() {
		var channel string
		var b account.OutboxBacklog
		var oldest *int64
		if err := rows.Scan(&channel, &b.Queued, &b.GivenUp, &oldest); err != nil {
			return nil, fmt.Errorf("postgres: outbox backlog: %w", err)
		}
		if oldest != nil {
			b.Oldest = fromMillis(*oldest)
		}
		if err := rowmap.AddBacklog(out, channel, b); err != nil {
			return nil, fmt.Errorf("postgres: outbox backlog: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: outbox backlog: %w", err)
	}
	return out, nil
}

// Pool returns the connection pool, for its metrics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
