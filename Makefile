# kubeiam — see README.md. `make help` lists the targets.
GO      ?= go
BIN     ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/kubeiam/kubeiam/internal/buildinfo.Version=$(VERSION) -X github.com/kubeiam/kubeiam/internal/buildinfo.Commit=$(COMMIT)

.PHONY: help build test unit vet
help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build bin/kubeiam
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kubeiam ./cmd/kubeiam

vet: ## go vet the main module
	$(GO) vet ./...

unit: ## unit and CLI-script tests with the race detector
	$(GO) test -race -count=1 ./...

test: vet unit ## everything CI runs: vet, unit tests, e2e scenarios

-include e2e/e2e.mk
