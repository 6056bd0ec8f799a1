-- Roles (every account is a member; administrators are members too) and
-- deactivation, plus invitations: the way accounts are made when sign-up
-- is by invitation. An invitation with an empty email is a setup link,
-- which creates the first administrator and lets its owner choose the
-- email. Instances of earlier versions keep working beside this one: they
-- see every account as it was (they ignore the new columns) and create
-- accounts with the default role, member.

-- +goose Up
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
ALTER TABLE users ADD COLUMN deactivated_at INTEGER;

CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    email       TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    invited_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_at INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX invitations_email ON invitations (email);

-- +goose Down
DROP TABLE invitations;
ALTER TABLE users DROP COLUMN deactivated_at;
ALTER TABLE users DROP COLUMN role;
