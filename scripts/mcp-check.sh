#!/usr/bin/env bash
# make mcp-check: the MCP Inspector's CLI (npm @modelcontextprotocol/inspector)
# against a fresh Intake, over streamable HTTP (/mcp) and over stdio
# (intake mcp --url): list the tools and the resource templates, submit
# twice with one key (the second answer a replay), read the schema
# resource. Needs the npm registry, so it is not part of make test.
set -euo pipefail
INSPECTOR=${INSPECTOR:-@modelcontextprotocol/inspector@2.12.0}
SERVER=${LOAD_SERVER:-postgres://postgres@127.0.0.1:5432}
dir=$(mktemp -d); db=intake_mcpcheck_$(date +%s); pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  command -v psql >/dev/null && psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$dir"
}
trap cleanup EXIT
CGO_ENABLED=0 go build -o "$dir/intake" ./cmd/intake
port=$(for p in $(seq 18300 18400); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; break; }; done)
export DATABASE_URL="$SERVER/$db?sslmode=disable" INTAKE_ADDR=127.0.0.1:$port INTAKE_BASE_URL=http://127.0.0.1:$port INTAKE_LOG_LEVEL=warn
"$dir/intake" migrate up >/dev/null
"$dir/intake" users create --email mcp-check@example.com --password 'correct horse battery' >/dev/null
key=$("$dir/intake" apikeys create --email mcp-check@example.com --name mcp-check)
"$dir/intake" serve --workers=false >"$dir/serve.log" 2>&1 & pid=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
form=$(curl -fs -X POST "http://127.0.0.1:$port/api/v1/forms" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"name":"MCP check","fields":[{"name":"email","type":"email","required":true}]}' | sed -E 's/.*"id":"([^"]+)".*/\1/')

inspect() { npx -y "$INSPECTOR" --cli "$@" 2>/dev/null; }
check() { # check WHAT PATTERN OUTPUT
  if grep -q -- "$2" <<<"$3"; then echo "ok   $1"; else echo "FAIL $1: no $2 in:"; echo "$3" | head -40; exit 1; fi
}
http=(http://127.0.0.1:$port/mcp --transport http --header "Authorization: Bearer $key")
stdio=(-e INTAKE_API_KEY="$key" "$dir/intake" mcp --url "http://127.0.0.1:$port")
submit=(--method tools/call --tool-name submit --tool-arg form_id="$form" --tool-arg idempotency_key=mcp-check-1
  --tool-arg 'data={"email":"ada@example.com"}')
for via in http stdio; do
  declare -n args=$via
  check "$via tools/list has submit" '"name": "submit"' "$(inspect "${args[@]}" --method tools/list)"
  check "$via resources/templates/list" 'intake://forms/{id}/schema' "$(inspect "${args[@]}" --method resources/templates/list)"
  check "$via resources/read" 'x-contract-version' "$(inspect "${args[@]}" --method resources/read --uri "intake://forms/$form/schema")"
done
check "http submit stores" '"replayed": false' "$(inspect "${http[@]}" "${submit[@]}")"
check "stdio submit again replays" '"replayed": true' "$(inspect "${stdio[@]}" "${submit[@]}")"
check "a bad argument is a validation problem" 'validation-error' \
  "$(inspect "${http[@]}" --method tools/call --tool-name submit --tool-arg form_id="$form" --tool-arg 'data={}')"
echo "mcp-check: the MCP Inspector ($INSPECTOR) passed over HTTP and stdio"
