# Intake — `make help` lists the targets.

DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/intake?sslmode=disable
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT       ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS      := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
export DATABASE_URL

.DEFAULT_GOAL := help
.PHONY: help run build test test-race lint openapi-check mcp-check bench load sweep chaos cluster fuzz generate

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## serve on :8080 with the local Postgres (creates the database, applies migrations)
	go run -ldflags "$(LDFLAGS)" ./cmd/intake serve

build: ## build bin/intake
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/intake ./cmd/intake

test: lint ## lint, then every test against the local Postgres with the race detector
	go test -race -count=1 ./...

test-race: ## the concurrency tests, five times over, with the race detector
	go test -race -count=5 ./submissions/ ./idempotency/ ./api/

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

# openapi-check runs the tools TestOpenAPIForTools stands in for (api/):
# Redocly's recommended rules, and a Go client from oapi-codegen with its
# default settings, which must compile. It needs the npm registry and the
# Go module proxy, so it is not part of make test.
REDOCLY      ?= @redocly/cli@2.77.0
OAPI_CODEGEN ?= github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2
openapi-check: SHELL := /bin/bash
openapi-check: ## needs the network: Redocly lint of api/openapi.json, and an oapi-codegen client of it that compiles
	@set -euo pipefail; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	npx -y $(REDOCLY) lint api/openapi.json; \
	go run $(OAPI_CODEGEN) -package client api/openapi.json >"$$dir/client.gen.go"; \
	cd "$$dir"; go mod init example.com/openapicheck 2>/dev/null; GOFLAGS=-mod=mod go mod tidy 2>/dev/null; \
	go vet ./... && echo "oapi-codegen client compiles"

mcp-check: ## needs the npm registry: the MCP Inspector's CLI against a fresh Intake, over /mcp and over intake mcp's stdio
	scripts/mcp-check.sh

# The load targets (bench, load, sweep, chaos) share BENCH_SHELL: it builds
# bin/intake and bin/intake-bench, picks a free port ($$port) and a fresh
# database on LOAD_SERVER ($$db, $$dburl; intake creates it, and it is
# dropped on exit when psql is at hand), and on exit stops the intake a
# recipe started in the background ($$pid) with SIGTERM. SERVE_INTAKE starts
# that intake, its log in $(1); BENCH is intake-bench pointed at it.
LOAD_SERVER ?= postgres://postgres@127.0.0.1:5432
BENCH_SHELL = set -euo pipefail; mkdir -p bin; \
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/intake ./cmd/intake; \
	CGO_ENABLED=0 go build -trimpath -o bin/intake-bench ./cmd/intake-bench; \
	db=intake_load_$$(date +%s); dburl="$(LOAD_SERVER)/$$db?sslmode=disable"; pid=; \
	port=$$(for p in $$(seq 18080 18280); do (exec 3<>/dev/tcp/127.0.0.1/$$p) 2>/dev/null || { echo $$p; break; }; done); \
	trap 'if [ -n "$$pid" ]; then kill -TERM $$pid 2>/dev/null; wait $$pid 2>/dev/null || true; fi; \
		if command -v psql >/dev/null; then psql "$(LOAD_SERVER)/postgres" -qc "DROP DATABASE IF EXISTS $$db WITH (FORCE)"; fi' EXIT
SERVE_INTAKE = echo "intake serve on 127.0.0.1:$$port, fresh database $$db; its log in $(1)"; \
	DATABASE_URL="$$dburl" INTAKE_ADDR=127.0.0.1:$$port INTAKE_BASE_URL=http://127.0.0.1:$$port \
		INTAKE_SUBMIT_RATE_LIMIT=0 INTAKE_LOG_LEVEL=warn bin/intake serve $(SERVE_ARGS) >$(1) 2>&1 & pid=$$!
# LOAD_ARGS adds intake-bench flags (e.g. LOAD_ARGS="-dup 0 -browser 0" for
# pure ingest); SERVE_ARGS adds intake serve flags (e.g. --workers=false).
BENCH = bin/intake-bench -url http://127.0.0.1:$$port -database-url "$$dburl" $(LOAD_ARGS)

bench: SHELL := /bin/bash
bench: ## under 2 min: the accept-path Go benchmarks (1 s each), then 5 s of load + the ceiling; fails on a bad verdict
	go test -run '^$$' -bench . -benchtime 1s -count 1 ./submissions/
	@$(BENCH_SHELL); $(call SERVE_INTAKE,bin/bench-serve.log); \
	$(BENCH) -intake-pid $$pid -wait 60s -duration 5s -ceiling

load: SHELL := /bin/bash
load: ## build intake and intake-bench, serve a fresh database, 15 s of load, then both naive ceilings (Intake's schema; the minimal one with pgbench); fails on a bad verdict
	@$(BENCH_SHELL); $(call SERVE_INTAKE,bin/load-serve.log); \
	$(BENCH) -intake-pid $$pid -wait 60s -duration 15s -ceiling -ceiling-minimal

SWEEP ?= 1,2,4,8,16,32,64,128
STEP  ?= 10s
sweep: SHELL := /bin/bash
sweep: ## the load at each concurrency in SWEEP for STEP, with the ceiling: a table and docs/concurrency.svg
	@$(BENCH_SHELL); $(call SERVE_INTAKE,bin/sweep-serve.log); \
	$(BENCH) -intake-pid $$pid -wait 60s -sweep $(SWEEP) -step $(STEP) -ceiling -plot docs/concurrency.svg

# make chaos restarts the Postgres server with PG_RESTART: do not run it
# where others share that server (docs/BENCHMARKS.md shows a private one).
PG_RESTART ?= pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main restart
chaos: SHELL := /bin/bash
chaos: ## ~2.5 min: load while intake is SIGKILLed 3 times, Postgres restarts (PG_RESTART) and webhooks stall; fails on a bad verdict
	@$(BENCH_SHELL); \
	$(BENCH) -chaos -intake bin/intake -intake-log bin/chaos-serve.log -duration 40s -concurrency 16 \
		-kills 3 -stall 10s -pg-restart '$(PG_RESTART)'

# make cluster restarts the Postgres server with PG_RESTART as chaos does
# (PG_RESTART= skips it).
cluster: SHELL := /bin/bash
cluster: ## ~2 min: HAProxy in front of 3 intake serve and 1 intake worker; load through it while a node is SIGKILLed, all three restart one by one (no request may fail) and Postgres restarts; fails on a bad verdict
	@$(BENCH_SHELL); \
	$(BENCH) -chaos -cluster 3 -intake bin/intake -intake-log bin/cluster.log -duration 40s -concurrency 16 \
		-kills 1 -stall 10s -pg-restart '$(PG_RESTART)'

# FUZZTIME is a count of executions (Nx) rather than a duration: Go 1.26's
# fuzz coordinator can fail a timed run that found nothing with "context
# deadline exceeded" as the time runs out (go.dev/issue/75804, fixed in Go
# 1.27); a count has no deadline to race. A duration still works.
FUZZTIME ?= 20000x
fuzz: ## run each fuzz target for FUZZTIME executions (default 20000x, a few seconds each); seed corpora in testdata/fuzz
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./submissions/
	go test -run '^$$' -fuzz '^FuzzFingerprintAcrossEncodings$$' -fuzztime $(FUZZTIME) ./submissions/
	go test -run '^$$' -fuzz '^FuzzParseHeader$$' -fuzztime $(FUZZTIME) ./idempotency/
	go test -run '^$$' -fuzz '^FuzzRules$$' -fuzztime $(FUZZTIME) ./forms/

generate: ## regenerate River's goose migrations after a River upgrade
	go generate ./migrations
