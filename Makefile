# tracelake — the front door. `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go

TOOLS               := $(CURDIR)/.tools/bin
MINIO_VERSION       := v0.0.0-20260212201848-7aac2a2c5b7c
STATICCHECK_VERSION := v0.8.2
OTELCOL_VERSION     := v0.158.0
HELM_VERSION        := v3.22.0
KUBE_VERSION        := v1.36.3
VERSION             ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS             := -s -w -X main.version=$(VERSION)
FUZZTIME            ?= 20s
BENCH_DURATION      ?= 30s
BENCH_SCALE_FLAGS   ?=

.DEFAULT_GOAL := help
.PHONY: help build run test bench bench-scale lint fmt fuzz check tools clean kube-tools etcd-server knative-validate deploy-manifests ui ui-check chromium firefox bench-ui

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/tracelake (static, no cgo)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tracelake ./cmd/tracelake

run: build ## start the all-in-one, storing under ./data (OTLP :4317/:4318, Jaeger API :16686, admin :14269)
	./bin/tracelake all-in-one --storage ./data

test: tools plugins ui-check chromium firefox ## run every test; builds a pinned MinIO and OpenTelemetry Collector and the plugins first
	TRACELAKE_REQUIRE_MINIO=1 TRACELAKE_MINIO_BIN=$(TOOLS)/minio TRACELAKE_REQUIRE_PLUGINS=1 \
	TRACELAKE_REQUIRE_OTELCOL=1 TRACELAKE_OTELCOL_BIN=$(TOOLS)/otelcol-tracelake-test \
	TRACELAKE_REQUIRE_HELM=1 TRACELAKE_HELM_BIN=$(TOOLS)/helm TRACELAKE_REQUIRE_KUBE=1 \
	TRACELAKE_KUBECTL_BIN=$(TOOLS)/kubectl TRACELAKE_KUBE_APISERVER_BIN=$(TOOLS)/kube-apiserver \
	TRACELAKE_REQUIRE_CHROMIUM=1 TRACELAKE_CHROMIUM_BIN=$(CHROMIUM_BIN) \
	TRACELAKE_REQUIRE_FIREFOX=1 TRACELAKE_FIREFOX_BIN=$(FIREFOX_BIN) \
		$(GO) test -race -count=1 -timeout 25m ./...

bench: build plugins ## Go benchmarks (storage, ingest, query, plugins), then `tracelake load` against a fresh all-in-one (BENCH_DURATION=30s)
	$(GO) test -run '^$$' -bench . -benchmem ./storage/... ./functions/... ./query/... ./wasm/...
	BENCH_DURATION=$(BENCH_DURATION) scripts/bench.sh bin/tracelake

bench-scale: build $(TOOLS)/.minio-$(MINIO_VERSION) ## scale benchmark: 10 M spans over 24 h on MinIO, compacted, queried by a query process; report and profiles in bin/bench-scale (BENCH_SCALE_FLAGS="--spans 1000000")
	$(GO) run ./cmd/tracelake/internal/scalebench/cmd/bench-scale --tracelake bin/tracelake --minio $(TOOLS)/minio --out bin/bench-scale $(BENCH_SCALE_FLAGS)

# AWS Lambda (deploy/aws, localstack/): the binary as a provided.al2023 bootstrap.
.PHONY: lambda-package lambda-local bench-lambda lambda-bootstrap-local
LAMBDA_BUILD := CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags '$(LDFLAGS)'
LAMBDA_LOCAL := $(GO) run ./cmd/tracelake/internal/lambdalocal/cmd/lambda-local

lambda-package: ## Lambda packages: bin/lambda/tracelake-arm64.zip and tracelake-x86_64.zip (the binary as bootstrap)
	GOOS=linux GOARCH=arm64 $(LAMBDA_BUILD) -o bin/lambda/arm64/bootstrap ./cmd/tracelake
	GOOS=linux GOARCH=amd64 $(LAMBDA_BUILD) -o bin/lambda/x86_64/bootstrap ./cmd/tracelake
	$(LAMBDA_LOCAL) zip -o bin/lambda/tracelake-arm64.zip bin/lambda/arm64/bootstrap
	$(LAMBDA_LOCAL) zip -o bin/lambda/tracelake-x86_64.zip bin/lambda/x86_64/bootstrap

lambda-bootstrap-local: # the bootstrap for this machine, for the emulator
	$(LAMBDA_BUILD) -o bin/lambda/local/bootstrap ./cmd/tracelake

lambda-local: lambda-bootstrap-local $(TOOLS)/.minio-$(MINIO_VERSION) ## the ingest, query and compact functions under a local Lambda Runtime API emulator, behind Function URLs on :4318 and :16686, on MinIO (LAMBDA_LOCAL_FLAGS=)
	$(LAMBDA_LOCAL) serve --bootstrap bin/lambda/local/bootstrap --minio $(TOOLS)/minio $(LAMBDA_LOCAL_FLAGS)

bench-lambda: lambda-bootstrap-local $(TOOLS)/.minio-$(MINIO_VERSION) ## Lambda cold starts (ingest, query) and peak memory of a 4 MiB OTLP request in a 128 MB function, under the emulator
	$(LAMBDA_LOCAL) bench --bootstrap bin/lambda/local/bootstrap --minio $(TOOLS)/minio

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

UI_WEB := query/ui/web

ui: ## rebuild the web UI's committed bundle query/ui/dist from query/ui/web (Node and npm)
	cd $(UI_WEB) && npm ci --no-audit --no-fund && node build.mjs

ui-check: ## web UI: npm ci, typecheck, unit tests, and fail if query/ui/dist is not what the sources build
	cd $(UI_WEB) && npm ci --no-audit --no-fund
	cd $(UI_WEB) && npm run --silent typecheck
	cd $(UI_WEB) && npx vitest run
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
		(cd $(UI_WEB) && node build.mjs --outdir "$$tmp" >/dev/null) || exit 1; \
		if ! diff -r "$$tmp" query/ui/dist >/dev/null; then \
			diff -rq "$$tmp" query/ui/dist; \
			echo "query/ui/dist is not what query/ui/web builds: run 'make ui' and commit query/ui/dist"; exit 1; \
		fi; echo "query/ui/dist matches its sources"

# The web UI's browser tests (cmd/tracelake/e2e_ui_test.go) and bench-ui drive
# Debian's Chromium with playwright-core (installed by npm ci in $(UI_WEB)); the
# browser tests also drive Debian's firefox-esr with puppeteer-core over WebDriver BiDi.
CHROMIUM_BIN ?= /usr/bin/chromium
FIREFOX_BIN ?= /usr/bin/firefox-esr

chromium: ## install Debian's chromium for the web UI's browser tests (skipped when /usr/bin/chromium, or CHROMIUM_BIN, exists)
	@test -x $(CHROMIUM_BIN) || { \
		echo "installing chromium from Debian's packages for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
		$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

firefox: ## install Debian's firefox-esr for the web UI's browser tests (skipped when /usr/bin/firefox-esr, or FIREFOX_BIN, exists)
	@test -x $(FIREFOX_BIN) || { \
		echo "installing firefox-esr from Debian's packages for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
		$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr; }

bench-ui: chromium ## web UI: time to first render of a 10,000-span trace and of 1,500 search results in headless Chromium
	cd $(UI_WEB) && npm ci --no-audit --no-fund
	TRACELAKE_BENCH_UI=1 TRACELAKE_REQUIRE_CHROMIUM=1 TRACELAKE_CHROMIUM_BIN=$(CHROMIUM_BIN) \
		$(GO) test -run '^TestWebUIBenchmark$$' -count=1 -v -timeout 20m ./cmd/tracelake

tools: $(TOOLS)/.minio-$(MINIO_VERSION) $(TOOLS)/.otelcol-$(OTELCOL_VERSION) kube-tools ## build the pinned MinIO server, test Collector, helm, kubectl and kube-apiserver into .tools/bin (skipped when present)

# What deploy/deploytest validates the Helm chart and manifests with: helm, a real
# kube-apiserver and kubectl built from k8s.io/kubernetes (about 8 minutes, once),
# Debian's etcd, and Knative's own validation (a module of its own, compiled here so the
# tests find it in the build cache).
kube-tools: $(TOOLS)/.helm-$(HELM_VERSION) $(TOOLS)/.kube-$(KUBE_VERSION) etcd-server knative-validate

knative-validate:
	cd deploy/deploytest/knativevalidate && GOWORK=off GOFLAGS='-mod=mod -buildvcs=false' $(GO) build -o /dev/null .

# The -X flags are what helm's own release build sets (the Kubernetes version its
# client-go speaks, 1.37 for v3.22); without them `helm template` assumes 1.20.
$(TOOLS)/.helm-$(HELM_VERSION):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install -ldflags "$(foreach p,pkg/chartutil pkg/lint/rules,-X helm.sh/helm/v3/$(p).k8sVersionMajor=1 -X helm.sh/helm/v3/$(p).k8sVersionMinor=37)" helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	@touch $@

$(TOOLS)/.kube-$(KUBE_VERSION): scripts/build-kube.sh
	@mkdir -p $(TOOLS)
	@echo "building kube-apiserver and kubectl $(KUBE_VERSION) into $(TOOLS) (several minutes, once)"
	scripts/build-kube.sh $(TOOLS) $(KUBE_VERSION)
	@touch $@

etcd-server:
	@command -v etcd >/dev/null || { \
		echo "installing etcd from Debian's packages"; \
		if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
		$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client; }

deploy-manifests: $(TOOLS)/.helm-$(HELM_VERSION) $(TOOLS)/.kube-$(KUBE_VERSION) ## regenerate deploy/kubernetes/base and the single-file manifest from the Helm chart
	TRACELAKE_HELM_BIN=$(TOOLS)/helm TRACELAKE_KUBECTL_BIN=$(TOOLS)/kubectl \
		$(GO) test -count=1 -run TestPlainManifestsMatchChart ./deploy/deploytest -update

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
