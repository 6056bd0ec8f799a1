package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// OutboxBacklog counts the messages not sent yet, for metrics, per
// channel (every channel, empty or not): those still to be tried, and
// those that used all maxAttempts.
func (s *Store) OutboxBacklog(ctx context.Context, maxAttempts int) ([]account.OutboxBacklog, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT channel, COALESCE(SUM(CASE WHEN attempts < ? THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN attempts >= ? THEN 1 ELSE 0 END), 0),
			MIN(CASE WHEN attempts < ? THEN created_at END)
		FROM outbox WHERE sent_at IS NULL GROUP BY channel`, maxAttempts, maxAttempts, maxAttempts)
	if err != nil {
		return nil, fmt.Errorf("sqlite: outbox backlog: %w", err)
	}
	defer rows.Close()
	out := rowmap.Backlogs()
	for rows.Next() {
		var channel string
		var b account.OutboxBacklog
		var oldest sql.NullInt64
		if err := rows.Scan(&channel, &b.Queued, &b.GivenUp, &oldest); err != nil {
			return nil, fmt.Errorf("sqlite: outbox backlog: %w", err)
		}
		if oldest.Valid {
			b.Oldest = fromMillis(oldest.Int64)
		}
		if err := rowmap.AddBacklog(out, channel, b); err != nil {
			return nil, fmt.Errorf("sqlite: outbox backlog: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: outbox backlog: %w", err)
	}
	return out, nil
}

// Pools returns the connection pools, for their metrics: the readers and
// the one writer.
func (s *Store) Pools() (read, write *sql.DB) { return s.read, s.write }
