# headroom — see README.md. `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go
STACK := bin/localstack

.DEFAULT_GOAL := help

.PHONY: help
help: ## list targets
	@awk 'BEGIN{FS=":.*## "} /^[a-z-]+:.*## /{printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

build: ## build headroomd and headroom into bin/ (--version prints VERSION, git describe by default)
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/ ./cmd/...

.PHONY: lint
lint: ## gofmt and go vet; fails on any finding
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: stack-binaries
stack-binaries: ## build the local stack's servers into the per-user cache (once per machine)
	bash test/localstack/build.sh >/dev/null

$(STACK): $(shell find test/localstack -name '*.go' -o -name '*.yaml') go.mod
	$(GO) build -o $@ ./test/localstack/cmd/localstack

.PHONY: stack-up
stack-up: stack-binaries $(STACK) ## start the local stack (clusters from test/stack.yaml, InfluxDB, Alertmanager)
	$(STACK) up

.PHONY: stack-down
stack-down: ## stop every process the local stack started
	@if [ -x $(STACK) ]; then $(STACK) down; else $(GO) run ./test/localstack/cmd/localstack down; fi

.PHONY: test
test: lint stack-binaries ## unit tests with -race, then end-to-end tests on the local stack (started if not up)
	$(GO) test -race -count=1 -timeout 60m ./...

.PHONY: demo
demo: stack-up build ## bring up the local stack, run headroomd against it, show data arriving in InfluxDB
	$(GO) run ./test/demo
	bin/headroom clusters --kubeconfig .stack/kubeconfig
	@echo; echo '$$ headroom check --context osl2 --replicas 30 --cpu 1 --memory 2Gi --policy-n-plus-one node'
	@bin/headroom check --kubeconfig .stack/kubeconfig --context osl2 --replicas 30 --cpu 1 --memory 2Gi --policy-n-plus-one node; \
		rc=$$?; [ $$rc -le 1 ] # the deploy gate: 0 pass, 1 fail are both answers

.PHONY: bench-collector
bench-collector: stack-binaries build ## headroomd vs metrics-server on 500 and 1,000 kwok nodes × 30 pods: CPU-s per cycle, peak RSS
	$(GO) run ./test/bench/collector | tee bin/bench-collector.txt

.PHONY: bench
bench: ## run benchmarks and print a table
	@mkdir -p bin
	$(GO) test -run '^$$' -bench . -benchmem ./collector/... ./sink/... ./capacity/forecast/ | tee bin/bench.txt
