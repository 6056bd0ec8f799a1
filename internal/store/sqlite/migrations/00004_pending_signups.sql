-- Sign-ups wait for their owner to open a mailed link before an account
-- exists; the message carrying the link has no user yet, so the outbox's
-- user_id may be NULL (SQLite changes a column's constraint by rebuilding
-- the table). The rebuild is safe with foreign_keys on only because no
-- table references outbox: do not copy it for a table others reference
-- (users), where DROP TABLE would delete or refuse their rows.
--
-- Instances of earlier versions cannot read a NULL user_id: stop them
-- before an instance of this version migrates a shared database.

-- +goose Up
CREATE TABLE pending_signups (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    mobile_phone  TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    -- wrong passwords so far; at SignUpConfirmAttempts the row is deleted
    failures      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pending_signups_email ON pending_signups (email);
CREATE INDEX pending_signups_expires_at ON pending_signups (expires_at);

CREATE TABLE outbox_new (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    recipient  TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    claimed_at INTEGER,
    sent_at    INTEGER,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT    NOT NULL DEFAULT ''
);
INSERT INTO outbox_new SELECT id, user_id, recipient, kind, subject, body, created_at, claimed_at, sent_at, attempts, last_error FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (sent_at, id);

-- +goose Down
DELETE FROM outbox WHERE user_id IS NULL;
CREATE TABLE outbox_old (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recipient  TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    claimed_at INTEGER,
    sent_at    INTEGER,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT    NOT NULL DEFAULT ''
);
INSERT INTO outbox_old SELECT id, user_id, recipient, kind, subject, body, created_at, claimed_at, sent_at, attempts, last_error FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (sent_at, id);
DROP TABLE pending_signups;
