package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/twofold/twofold/internal/account"
)

// OutboxBacklog counts the messages not sent yet, for metrics: those still
// to be tried, and those that used all maxAttempts.
func (s *Store) OutboxBacklog(ctx context.Context, maxAttempts int) (account.OutboxBacklog, error) {
	var b account.OutboxBacklog
	var oldest sql.NullInt64
	err := s.read.QueryRowContext(ctx,
		`SELECT COALESCE(SUM(CASE WHEN attempts < ? THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN attempts >= ? THEN 1 ELSE 0 END), 0),
			MIN(CASE WHEN attempts < ? THEN created_at END)
		FROM outbox WHERE sent_at IS NULL`, maxAttempts, maxAttempts, maxAttempts).Scan(&b.Queued, &b.GivenUp, &oldest)
	if err != nil {
		return b, fmt.Errorf("sqlite: outbox backlog: %w", err)
	}
	if oldest.Valid {
		b.Oldest = fromMillis(oldest.Int64)
	}
	return b, nil
}

// Pools returns the connection pools, for their metrics: the readers and
// the one writer.
func (s *Store) Pools() (read, write *sql.DB) { return s.read, s.write }
