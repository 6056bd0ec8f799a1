-- The administrators' audit log: every administrative action, with who
-- did it (kept by email, so it outlives the account), on whom, from where
-- and why. Earlier versions ignore the table.

-- +goose Up
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    actor_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target       TEXT    NOT NULL DEFAULT '',
    detail       TEXT    NOT NULL DEFAULT '',
    ip           TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE INDEX audit_log_created_at ON audit_log (created_at);

-- +goose Down
DROP TABLE audit_log;
