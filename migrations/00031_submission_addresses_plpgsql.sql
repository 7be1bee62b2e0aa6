-- submission_addresses (00024) runs for every submission written: its
-- GIN index (submissions_addresses_idx) is over it. As a LANGUAGE sql
-- function that cannot be inlined (it has a FROM), Postgres parses and
-- plans its body anew in every statement that calls it: under load that
-- was about 3 % of the machine's CPU (docs/BENCHMARKS.md, "Where the CPU
-- goes"). In PL/pgSQL the plan is made once per connection and kept.
-- The body is the same query, so the function returns the same for every
-- input and the index stays valid (migrations/person_addresses_test.go
-- checks both definitions against the same inputs).

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION submission_addresses(data jsonb, meta jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
BEGIN
	RETURN (
		SELECT coalesce(array_agg(DISTINCT m[1] ORDER BY m[1]), '{}')
		FROM (SELECT v #>> '{}' AS t FROM jsonb_path_query(data, 'strict $.** ? (@.type() == "string")') AS v
		      UNION ALL SELECT meta ->> 'reply_to') AS texts,
		     regexp_matches(lower(texts.t), '([[:alnum:]._%+-]+@[[:alnum:]-]+(?:\.[[:alnum:]-]+)*)', 'g') AS m);
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION submission_addresses(data jsonb, meta jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
SELECT coalesce(array_agg(DISTINCT m[1] ORDER BY m[1]), '{}')
FROM (SELECT v #>> '{}' AS t FROM jsonb_path_query(data, 'strict $.** ? (@.type() == "string")') AS v
      UNION ALL SELECT meta ->> 'reply_to') AS texts,
     regexp_matches(lower(texts.t), '([[:alnum:]._%+-]+@[[:alnum:]-]+(?:\.[[:alnum:]-]+)*)', 'g') AS m
$$;
-- +goose StatementEnd
