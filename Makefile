# Intake — `make help` lists the targets.

DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/intake?sslmode=disable
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT       ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS      := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
export DATABASE_URL

.DEFAULT_GOAL := help
.PHONY: help run build test test-race lint bench load fuzz generate

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

bench: ## benchmarks of the accept path against the local Postgres
	go test -run '^$$' -bench . -benchtime 3s -count 1 ./submissions/

# make load: the server its fresh database is made on (a database per run,
# named intake_load_<time>, dropped afterwards when psql is at hand).
LOAD_SERVER ?= postgres://postgres@127.0.0.1:5432
load: SHELL := /bin/bash
load: ## build intake and intake-bench, serve a fresh database, 15 s of load + the naive SQL ceiling; fails on a bad verdict
	@set -euo pipefail; mkdir -p bin; \
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/intake ./cmd/intake; \
	CGO_ENABLED=0 go build -trimpath -o bin/intake-bench ./cmd/intake-bench; \
	db=intake_load_$$(date +%s); dburl="$(LOAD_SERVER)/$$db?sslmode=disable"; \
	port=$$(for p in $$(seq 18080 18280); do (exec 3<>/dev/tcp/127.0.0.1/$$p) 2>/dev/null || { echo $$p; break; }; done); \
	echo "intake serve on 127.0.0.1:$$port, fresh database $$db; its log in bin/load-serve.log"; \
	DATABASE_URL="$$dburl" INTAKE_ADDR=127.0.0.1:$$port INTAKE_BASE_URL=http://127.0.0.1:$$port \
		INTAKE_SUBMIT_RATE_LIMIT=0 INTAKE_LOG_LEVEL=warn bin/intake serve >bin/load-serve.log 2>&1 & pid=$$!; \
	trap 'kill -TERM $$pid 2>/dev/null; wait $$pid 2>/dev/null || true; \
		if command -v psql >/dev/null; then psql "$(LOAD_SERVER)/postgres" -qc "DROP DATABASE IF EXISTS $$db WITH (FORCE)"; fi' EXIT; \
	bin/intake-bench -url http://127.0.0.1:$$port -database-url "$$dburl" -wait 60s -duration 15s -ceiling

FUZZTIME ?= 10s
fuzz: ## run each fuzz target for FUZZTIME (default 10s); seed corpora in testdata/fuzz
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./submissions/
	go test -run '^$$' -fuzz '^FuzzFingerprintAcrossEncodings$$' -fuzztime $(FUZZTIME) ./submissions/
	go test -run '^$$' -fuzz '^FuzzParseHeader$$' -fuzztime $(FUZZTIME) ./idempotency/
	go test -run '^$$' -fuzz '^FuzzRules$$' -fuzztime $(FUZZTIME) ./forms/

generate: ## regenerate River's goose migrations after a River upgrade
	go generate ./migrations
