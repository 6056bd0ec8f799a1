-- A message is an email or a text message (SMS): the outbox worker sends
-- each channel through its own sender, and a channel with no sender
-- configured stays queued. Every message before this one is an email.
-- Instances of the previous version read no channel: beside this one they
-- would claim a text as a mail to a phone number, fail it and use up its
-- attempts. Stop them before anything queues a text.

-- +goose Up
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';

-- +goose Down
ALTER TABLE outbox DROP COLUMN channel;
