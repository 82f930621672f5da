# kubeiam — see README.md. `make help` lists the targets.
GO      ?= go
BIN     ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/kubeiam/kubeiam/internal/buildinfo.Version=$(VERSION) -X github.com/kubeiam/kubeiam/internal/buildinfo.Commit=$(COMMIT)

.PHONY: help build test unit vet
help: ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# CGO_ENABLED=0: godbus pulls in net and os/user, which link libc dynamically
# with cgo; the dynamic loader alone costs about 1 ms on every kubectl call.
build: ## build bin/kubeiam and bin/kubeiam-core (install both side by side)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/kubeiam ./cmd/kubeiam-core

vet: ## go vet the main module
	$(GO) vet ./...

unit: ## unit and CLI-script tests with the race detector
	$(GO) test -race -count=1 ./...

test: vet unit ## everything CI runs: vet, unit tests, e2e scenarios

# Peer binaries the tests compare against, built once and cached by version.
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kubeiam
AUTHENTICATOR_VERSION ?= v0.7.2
AUTHENTICATOR_BIN := $(CACHE_DIR)/e2e/bin/aws-iam-authenticator-$(AUTHENTICATOR_VERSION)/aws-iam-authenticator
export KUBEIAM_AUTHENTICATOR_BIN := $(AUTHENTICATOR_BIN)

.PHONY: tools walkthrough
tools: $(AUTHENTICATOR_BIN) ## build the peer and rig binaries the tests need (cached)

$(AUTHENTICATOR_BIN):
	@echo "building aws-iam-authenticator $(AUTHENTICATOR_VERSION) (first time only, ~10 min on 2 cores)..."
	@mkdir -p $(dir $@)
	GOBIN=$(dir $@) $(GO) install -v sigs.k8s.io/aws-iam-authenticator/cmd/aws-iam-authenticator@$(AUTHENTICATOR_VERSION) 2>&1 | awk '{n++; printf "\r  %d packages built", n; fflush()} END {print ""}'

walkthrough: build ## a local tour of token + verify with example credentials (no cluster)
	@./scripts/walkthrough.sh $(BIN)/kubeiam

.PHONY: bench
bench: build $(AUTHENTICATOR_BIN) ## benchmarks vs the floor and the peers: BENCHMARKS.md, bench/results.json (BENCH_QUICK=1: few runs, no files)
	$(GO) run ./bench -bin $(BIN) -authenticator $(AUTHENTICATOR_BIN) $(if $(filter-out 0,$(BENCH_QUICK)),-quick)

include e2e/e2e.mk
