-- +goose Up
-- A webhook endpoint's format (webhooks.Format): standard (Standard
-- Webhooks, the default), or a chat service's own message shape: slack
-- (incoming webhook), discord (webhook), telegram (Bot API sendMessage,
-- with the bot's token sealed like a secret and the chat it posts to).
ALTER TABLE webhook_endpoints
    ADD COLUMN format text NOT NULL DEFAULT 'standard'
        CONSTRAINT webhook_endpoints_format_check CHECK (format IN ('standard', 'slack', 'discord', 'telegram')),
    ADD COLUMN bot_token text,
    ADD COLUMN chat_id text,
    ADD CONSTRAINT webhook_endpoints_telegram_check CHECK (format <> 'telegram' OR (bot_token IS NOT NULL AND chat_id IS NOT NULL));

-- +goose Down
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_telegram_check,
    DROP COLUMN chat_id, DROP COLUMN bot_token, DROP COLUMN format;
