-- "This wasn't me": every security email carries a single-use link that,
-- after the account's password, signs out every session and forgets every
-- remembered device of the account. One row per link: only the hash of its
-- token is kept, with the account, the kind of email it came in, and when
-- it was used (NULL while unused). previous_password_hash is set on the
-- link of a "password changed" email only: the hash that change replaced,
-- which that link also accepts (the person who did not change it knows
-- only the old one); it is cleared when the link is used, and the row is
-- deleted when it expires. Instances of an earlier version mail no links
-- and ignore the table.

-- +goose Up
CREATE TABLE disavowals (
    id                     INTEGER PRIMARY KEY,
    token_hash             TEXT    NOT NULL UNIQUE,
    user_id                INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind                   TEXT    NOT NULL,
    previous_password_hash TEXT,
    created_at             INTEGER NOT NULL,
    expires_at             INTEGER NOT NULL,
    used_at                INTEGER
);
CREATE INDEX disavowals_user_id ON disavowals (user_id);
CREATE INDEX disavowals_expires_at ON disavowals (expires_at);

-- +goose Down
DROP TABLE disavowals;
