-- Webhook endpoints, their deliveries and attempts, and every email Intake
-- sends or keeps in the outbox.

-- +goose Up
CREATE TABLE webhook_endpoints (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id                  text NOT NULL,
    form_id                    bigint NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    url                        text NOT NULL,
    enabled                    boolean NOT NULL DEFAULT true,
    include_spam               boolean NOT NULL DEFAULT false,
    secret                     text NOT NULL,   -- whsec_…
    previous_secret            text,            -- still signed with until previous_secret_expires_at
    previous_secret_expires_at timestamptz,
    disabled_reason            text,
    failing_since              timestamptz,     -- first failure of the current run of failures
    last_failure_at            timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX webhook_endpoints_public_id_key ON webhook_endpoints (public_id);
CREATE INDEX webhook_endpoints_form_idx ON webhook_endpoints (form_id) WHERE enabled;

-- One row per submission × endpoint, made by the first attempt. message_id is
-- derived from the pair, so it is the same on every retry and redelivery.
CREATE TABLE deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id       text NOT NULL,
    endpoint_id     bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    submission_id   uuid NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    message_id      text NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'retrying', 'delivered', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    snoozes         integer NOT NULL DEFAULT 0,
    redeliveries    integer NOT NULL DEFAULT 0,
    last_status     integer,
    last_error      text,
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX deliveries_public_id_key ON deliveries (public_id);
CREATE UNIQUE INDEX deliveries_submission_endpoint_key ON deliveries (submission_id, endpoint_id);
CREATE INDEX deliveries_endpoint_idx ON deliveries (endpoint_id, id DESC);

CREATE TABLE delivery_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    status        integer,        -- HTTP status; NULL when no answer came
    latency_ms    integer NOT NULL,
    response_body text,           -- the first 4 KiB of the answer
    error         text
);
CREATE INDEX delivery_attempts_delivery_idx ON delivery_attempts (delivery_id, id);

-- Every email: sent over SMTP, kept in the outbox when no SMTP is configured,
-- or failed for good. message_id is derived from (submission, recipient,
-- kind), so a resend after a crash finds its row.
CREATE TABLE outbound_emails (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    submission_id uuid REFERENCES submissions (id) ON DELETE SET NULL,
    kind          text NOT NULL,   -- notification, autoresponse, endpoint_disabled
    message_id    text NOT NULL,
    recipient     text NOT NULL,
    subject       text NOT NULL,
    body_text     text NOT NULL,
    body_html     text NOT NULL,
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'sent', 'outbox', 'failed')),
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE UNIQUE INDEX outbound_emails_message_id_key ON outbound_emails (message_id);
CREATE INDEX outbound_emails_account_idx ON outbound_emails (account_id, id DESC);

-- +goose Down
DROP TABLE outbound_emails;
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE webhook_endpoints;
