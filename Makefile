# kubeiam — see README.md. `make help` lists the targets.
GO      ?= go
BIN     ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/kubeiam/kubeiam/internal/buildinfo.Version=$(VERSION) -X github.com/kubeiam/kubeiam/internal/buildinfo.Commit=$(COMMIT)

# yqlib links every format it knows (Lua, TOML, XML, HCL, CSV, …); kubeiam
# reads YAML only. yq's own build tags leave the rest out: ~2.5 ms less package
# init in kubeiam-core and ~8 MB less binary. Exported through GOFLAGS so
# tests, builds and cross-builds all compile the same code.
YQ_TAGS := yq_nolua,yq_noini,yq_notoml,yq_noxml,yq_nojson,yq_nohcl,yq_nocsv,yq_nobase64,yq_nouri,yq_noprops,yq_nosh,yq_noshell
export GOFLAGS += -tags=$(YQ_TAGS)

.PHONY: help build test unit norace vet
help: ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# CGO_ENABLED=0: godbus pulls in net and os/user, which link libc dynamically
# with cgo; the dynamic loader alone costs about 1 ms on every kubectl call.
build: ## build bin/kubeiam and bin/kubeiam-core (install both side by side)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/kubeiam ./cmd/kubeiam-core

vet: ## go vet the main module
	$(GO) vet ./...

unit: ## unit and CLI-script tests with the race detector
	$(GO) test -race -count=1 -timeout 30m ./...

# The race detector slows code several times over, so the crash-safety and
# speed tests skip under it (kubeconfig's raceEnabled) or hold only a loose
# bound (cmd/kubeiam's faultBudget, timingSlack). This pass runs exactly those
# without -race, so the bounds they claim are checked on every CI run; -v puts
# their PASS lines and measured numbers in the CI log.
NORACE_KUBECONFIG := ^(TestKillLoop|TestMergeSpeed)$$
NORACE_CMD        := ^(TestTokenCacheFaults|TestTokenSessionKey|TestTokenAgent)$$
norace: ## the crash and speed tests that skip under -race, run without it
	$(GO) test -count=1 -v -run '$(NORACE_KUBECONFIG)' ./kubeconfig
	$(GO) test -count=1 -run '$(NORACE_CMD)' ./cmd/kubeiam

test: vet unit norace ## everything CI runs: vet, unit tests, the tests -race skips, e2e scenarios

# api/kubeiam.txt records the exported API of the public packages (the
# library); internal/tools/apicheck's TestAPISnapshot, part of `make unit`,
# fails when the code and the record differ. After an intended change,
# rewrite the record and commit it with the change.
.PHONY: api
api: ## rewrite api/kubeiam.txt, the record of the library's exported API, after an intended change
	$(GO) run ./internal/tools/apicheck -w

# Peer binaries the tests compare against, built once and cached by version.
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kubeiam
AUTHENTICATOR_VERSION ?= v0.7.2
AUTHENTICATOR_BIN := $(CACHE_DIR)/e2e/bin/aws-iam-authenticator-$(AUTHENTICATOR_VERSION)/aws-iam-authenticator
export KUBEIAM_AUTHENTICATOR_BIN := $(AUTHENTICATOR_BIN)

# krew and its manifest validator, to check plugins/iam.yaml and install the
# release archive through the real kubectl plugin manager in cmd/kubeiam's
# install tests (KUBEIAM_TEST_PEERS=1); ~1.5 min the first time.
KREW_VERSION ?= v0.4.3
KREW_BIN := $(CACHE_DIR)/tools/krew-$(KREW_VERSION)/krew
export KUBEIAM_KREW_BIN := $(KREW_BIN)

.PHONY: tools walkthrough
tools: $(AUTHENTICATOR_BIN) $(KREW_BIN) ## build the peer and rig binaries the tests need (cached)

$(AUTHENTICATOR_BIN):
	@echo "building aws-iam-authenticator $(AUTHENTICATOR_VERSION) (first time only, ~10 min on 2 cores)..."
	@mkdir -p $(dir $@)
	GOBIN=$(dir $@) $(GO) install -v sigs.k8s.io/aws-iam-authenticator/cmd/aws-iam-authenticator@$(AUTHENTICATOR_VERSION) 2>&1 | awk '{n++; printf "\r  %d packages built", n; fflush()} END {print ""}'

$(KREW_BIN):
	@echo "building krew $(KREW_VERSION) (first time only)..."
	@mkdir -p $(dir $@)
	GOBIN=$(dir $@) $(GO) install -v sigs.k8s.io/krew/cmd/krew@$(KREW_VERSION) sigs.k8s.io/krew/cmd/validate-krew-manifest@$(KREW_VERSION) 2>&1 | awk '{n++; printf "\r  %d packages built", n; fflush()} END {print ""}'

walkthrough: build ## a local tour of token + verify with example credentials (no cluster)
	@./scripts/walkthrough.sh $(BIN)/kubeiam

.PHONY: bench
bench: build $(AUTHENTICATOR_BIN) ## benchmarks vs the floor and the peers: BENCHMARKS.md, bench/results.json (BENCH_QUICK=1: few runs, no files)
	$(GO) run ./bench -bin $(BIN) -authenticator $(AUTHENTICATOR_BIN) $(if $(filter-out 0,$(BENCH_QUICK)),-quick)


# Release platforms: CI cross-compiles all six on every run so a platform
# break (a Unix-only syscall, a cgo dependency) shows before a release.
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
GORELEASER_VERSION ?= v2.15.1
GORELEASER := $(CACHE_DIR)/tools/goreleaser-$(GORELEASER_VERSION)/goreleaser

.PHONY: cross release-snapshot
cross: ## cross-compile kubeiam and kubeiam-core for the six release platforms into $(BIN)/cross/OS-ARCH (CI runs this)
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		printf '  %-14s' "$$os/$$arch"; start=$$(date +%s); \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/cross/$$os-$$arch/ ./cmd/kubeiam ./cmd/kubeiam-core; \
		echo " ok ($$(( $$(date +%s) - start ))s)"; \
	done

release-snapshot: $(GORELEASER) ## goreleaser build of every platform into dist/ (archives, checksums.txt, krew/iam.yaml); publishes nothing
	KUBEIAM_COMMIT=$(COMMIT) $(GORELEASER) release --snapshot --clean
	@mkdir -p dist/krew
	./scripts/krew-manifest.sh "$$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' dist/metadata.json)" dist/checksums.txt > dist/krew/iam.yaml
	@echo "dist/: $$(ls dist/*.tar.gz dist/*.zip | wc -l) archives, dist/checksums.txt, dist/krew/iam.yaml"

# goreleaser from the Go module proxy, built once per version (~10 min on 2
# cores the first time; the count below is packages built so far).
$(GORELEASER):
	@echo "building goreleaser $(GORELEASER_VERSION) (first time only)..."
	@mkdir -p $(dir $@)
	GOBIN=$(dir $@) $(GO) install -v github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION) 2>&1 | awk '{n++; printf "\r  %d packages built", n; fflush()} END {print ""}'

include e2e/e2e.mk
