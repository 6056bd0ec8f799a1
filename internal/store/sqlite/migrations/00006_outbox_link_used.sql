-- A sign-up link's message remembers its link (the token's hash, as the
-- pending sign-up stores it) and when the link finished a sign-up, so that
-- `twofold outbox list` shows a used link as used. Both columns stay NULL
-- for every other message. Instances of the previous version keep working
-- beside this one: they leave the columns NULL, so a link they send or
-- that is used through them is not marked.

-- +goose Up
ALTER TABLE outbox ADD COLUMN link_token_hash TEXT;
ALTER TABLE outbox ADD COLUMN link_used_at INTEGER;
CREATE INDEX outbox_link_token_hash ON outbox (link_token_hash) WHERE link_token_hash IS NOT NULL;

-- +goose Down
DROP INDEX outbox_link_token_hash;
ALTER TABLE outbox DROP COLUMN link_used_at;
ALTER TABLE outbox DROP COLUMN link_token_hash;
