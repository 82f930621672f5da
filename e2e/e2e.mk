# e2e rig targets, included by the top-level Makefile. The rig is its own Go
# module (e2e/go.mod) so the main module stays lean; binaries are cached by
# version under ${XDG_CACHE_HOME:-~/.cache}/kubeiam/e2e.
# -mod=mod: the e2e module requires the main module through a replace, so
# a dependency added there would otherwise stop these targets until someone
# tidies e2e/go.mod.
E2E_GO  := cd e2e && GOWORK=off GOFLAGS="-mod=mod $$GOFLAGS" $(GO)
E2E_CMD := $(E2E_GO) run ./cmd/kubeiam-e2e

.PHONY: e2e e2e-tools demo demo-down bench-backends
e2e-tools: ## build the rig's binaries (kube-apiserver, aws-iam-authenticator, etcd) if not cached
	$(E2E_CMD) build

e2e: e2e-tools ## run the e2e scenarios against a real etcd, kube-apiserver and authenticator
	$(E2E_GO) vet ./...
	$(E2E_GO) test -count=1 -timeout 25m ./...

bench-backends: e2e-tools ## on the rig, same run: `server sync` → changed user admitted, EKSConfigMap vs CRD vs CRD --wait (medians in the log)
	$(E2E_GO) test -count=1 -timeout 10m -run 'TestBackendSyncLatency' -v .

demo: ## the main job: build what is missing, run the seed workflow narrated (KEEP=1 leaves it running)
	$(E2E_CMD) demo $(if $(filter-out 0,$(KEEP)),-keep)

demo-down: ## stop a stack left running by `make demo KEEP=1`
	$(E2E_CMD) down

tools: e2e-tools
test: e2e
