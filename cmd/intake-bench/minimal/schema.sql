-- Application tables for the form-backend hot-path benchmark.
-- Applied after River's migrations (intake-bench -ceiling-minimal runs rivermigrate).
CREATE TABLE IF NOT EXISTS forms (
    id   bigserial PRIMARY KEY,
    slug text UNIQUE NOT NULL
);

CREATE TABLE IF NOT EXISTS submissions (
    id         bigserial PRIMARY KEY,
    form_id    bigint REFERENCES forms (id),
    data       jsonb,
    created_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS idempotency_keys (
    form_id         bigint,
    key             text,
    request_hash    bytea,
    status          text,
    response_status int,
    response_body   jsonb,
    submission_id   bigint,
    created_at      timestamptz DEFAULT now(),
    expires_at      timestamptz,
    PRIMARY KEY (form_id, key)
);

-- 100 forms; the benchmarks pick form ids in 1..nforms (default 1 = one hot form).
INSERT INTO forms (slug)
SELECT 'form-' || g FROM generate_series(1, 100) g
ON CONFLICT (slug) DO NOTHING;
