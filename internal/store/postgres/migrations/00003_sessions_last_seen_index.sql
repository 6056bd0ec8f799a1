-- The cleanup job finds idle sessions by last_seen_at.

-- +goose Up
CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at);

-- +goose Down
DROP INDEX sessions_last_seen_at;
