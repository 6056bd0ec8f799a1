package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/twofold/twofold/internal/account"
)

// AddEvent implements account.Store.
func (s *Store) AddEvent(ctx context.Context, e *account.Event) error {
	if err := s.writeTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.insertEvent(ctx, tx, e) }, insertEventSQL); err != nil {
		return fmt.Errorf("sqlite: add event: %w", err)
	}
	return nil
}

// Events implements account.Store: newest first.
func (s *Store) Events(ctx context.Context, userID int64, limit int) ([]*account.Event, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT id, user_id, kind, detail, ip, user_agent, created_at FROM security_events
		WHERE user_id = ? ORDER BY id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	defer rows.Close()
	var events []*account.Event
	for rows.Next() {
		var e account.Event
		var kind string
		var created int64
		if err := rows.Scan(&e.ID, &e.UserID, &kind, &e.Detail, &e.IP, &e.UserAgent, &created); err != nil {
			return nil, fmt.Errorf("sqlite: events: %w", err)
		}
		e.Kind, e.CreatedAt = account.EventKind(kind), fromMillis(created)
		events = append(events, &e)
	}
	return events, rows.Err()
}
