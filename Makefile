# tracelake — the front door. `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go

TOOLS               := $(CURDIR)/.tools/bin
MINIO_VERSION       := v0.0.0-20260212201848-7aac2a2c5b7c
STATICCHECK_VERSION := v0.8.2
OTELCOL_VERSION     := v0.158.0
VERSION             ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS             := -s -w -X main.version=$(VERSION)
FUZZTIME            ?= 20s
BENCH_DURATION      ?= 30s
BENCH_SCALE_FLAGS   ?=

.DEFAULT_GOAL := help
.PHONY: help build run test bench bench-scale lint fmt fuzz check tools clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/tracelake (static, no cgo)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tracelake ./cmd/tracelake

run: build ## start the all-in-one, storing under ./data (OTLP :4317/:4318, Jaeger API :16686, admin :14269)
	./bin/tracelake all-in-one --storage ./data

test: tools plugins ## run every test; builds a pinned MinIO and OpenTelemetry Collector and the plugins first
	TRACELAKE_REQUIRE_MINIO=1 TRACELAKE_MINIO_BIN=$(TOOLS)/minio TRACELAKE_REQUIRE_PLUGINS=1 \
	TRACELAKE_REQUIRE_OTELCOL=1 TRACELAKE_OTELCOL_BIN=$(TOOLS)/otelcol-tracelake-test \
		$(GO) test -race -count=1 -timeout 25m ./...

bench: build plugins ## Go benchmarks (storage, ingest, query, plugins), then `tracelake load` against a fresh all-in-one (BENCH_DURATION=30s)
	$(GO) test -run '^$$' -bench . -benchmem ./storage/... ./functions/... ./query/... ./wasm/...
	BENCH_DURATION=$(BENCH_DURATION) scripts/bench.sh bin/tracelake

bench-scale: build $(TOOLS)/.minio-$(MINIO_VERSION) ## scale benchmark: 10 M spans over 24 h on MinIO, compacted, queried by a query process; report and profiles in bin/bench-scale (BENCH_SCALE_FLAGS="--spans 1000000")
	$(GO) run ./cmd/tracelake/internal/scalebench/cmd/bench-scale --tracelake bin/tracelake --minio $(TOOLS)/minio --out bin/bench-scale $(BENCH_SCALE_FLAGS)

lint: $(TOOLS)/.staticcheck-$(STATICCHECK_VERSION) ## gofmt check, go vet and staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); \
		if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet $(WASM_GO_PACKAGES)
	GOOS=wasip1 GOARCH=wasm $(TOOLS)/staticcheck $(WASM_GO_PACKAGES)

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

fuzz: ## run every fuzz test for FUZZTIME (20s) each
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

check: lint test ## lint, then test: what CI runs

tools: $(TOOLS)/.minio-$(MINIO_VERSION) $(TOOLS)/.otelcol-$(OTELCOL_VERSION) ## build the pinned MinIO server and test Collector into .tools/bin (skipped when present)

$(TOOLS)/.minio-$(MINIO_VERSION):
	@mkdir -p $(TOOLS)
	@echo "installing MinIO $(MINIO_VERSION) into $(TOOLS) (a few minutes, once)"
	GOBIN=$(TOOLS) $(GO) install github.com/minio/minio@$(MINIO_VERSION)
	@touch $@

$(TOOLS)/.otelcol-$(OTELCOL_VERSION): cmd/tracelake/testdata/otelcol-builder.yaml
	@mkdir -p $(TOOLS)
	@echo "building the OpenTelemetry Collector $(OTELCOL_VERSION) for the end-to-end tests (about a minute, once)"
	GOBIN=$(TOOLS) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OTELCOL_VERSION)
	$(TOOLS)/builder --config cmd/tracelake/testdata/otelcol-builder.yaml
	cp .tools/otelcol-build/otelcol-tracelake-test $(TOOLS)/
	@touch $@

$(TOOLS)/.staticcheck-$(STATICCHECK_VERSION):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@touch $@

clean: ## remove build output (not ./data, not .tools)
	rm -rf bin

# The Go code that also builds for WebAssembly: the plugin SDK and plugins.
WASM_GO_PACKAGES := ./wasm/abi/... ./wasm/sdk/... ./wasm/plugins/go/...

include wasm/plugins/Makefile.inc
