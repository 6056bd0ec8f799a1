-- Consecutive failed second-factor codes, and the suspension of the
-- authenticator they lead to; plus the outbox of security notifications.

-- +goose Up
ALTER TABLE users ADD COLUMN totp_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_suspended_at INTEGER;

CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recipient  TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    -- Set when a sender claims the message, so two instances never both send it.
    claimed_at INTEGER,
    sent_at    INTEGER,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (sent_at, id);

-- +goose Down
DROP TABLE outbox;
ALTER TABLE users DROP COLUMN totp_suspended_at;
ALTER TABLE users DROP COLUMN totp_failures;
