-- Plans and monthly submission quotas. An account's plan sets how many
-- submissions it may take a calendar month (UTC); spam does not count.

-- +goose Up
CREATE TABLE plans (
    id                  text PRIMARY KEY CHECK (id ~ '^[a-z0-9_-]{1,32}$'),
    name                text NOT NULL,
    monthly_submissions integer CHECK (monthly_submissions > 0) -- NULL: no quota
);
INSERT INTO plans (id, name, monthly_submissions) VALUES
    ('free', 'Free', 1000),
    ('pro', 'Pro', 50000),
    ('business', 'Business', 1000000),
    ('unlimited', 'Unlimited', NULL);

-- Accounts made before plans existed keep taking everything; new ones start
-- on the free plan.
ALTER TABLE accounts ADD COLUMN plan_id text NOT NULL DEFAULT 'unlimited' REFERENCES plans (id);
ALTER TABLE accounts ALTER COLUMN plan_id SET DEFAULT 'free';

-- Submissions taken per account and month, counted in each submission's
-- own transaction. The count is spread over 64 shards (the connection's
-- backend pid picks one) so concurrent submissions of one account do not
-- queue on one row; the month's usage is the sum over its shards.
CREATE TABLE account_usage (
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    month       date NOT NULL, -- the first day of the month, UTC
    shard       smallint NOT NULL,
    submissions bigint NOT NULL,
    PRIMARY KEY (account_id, month, shard)
);
CREATE INDEX account_usage_month_idx ON account_usage (month);

-- The warnings sent at 80 % and 100 % of a month's quota: the primary key
-- makes each one once per account, month and quota (an account that moves
-- to a larger plan is warned again as it nears the new quota).
CREATE TABLE quota_warnings (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    month      date NOT NULL,
    quota      bigint NOT NULL,
    percent    smallint NOT NULL,
    used       bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, month, quota, percent)
);

-- +goose Down
DROP TABLE quota_warnings;
DROP TABLE account_usage;
ALTER TABLE accounts DROP COLUMN plan_id;
DROP TABLE plans;
