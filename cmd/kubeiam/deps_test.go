package main

import (
	"os/exec"
	"strings"
	"testing"
)

// Go runs the init of every linked package whichever subcommand runs, and
// kubectl runs kubeiam on every call. These lists keep the heavy packages
// out of the binaries they would slow down; each entry was measured with
// GODEBUG=inittrace=1 (see README, "Start-up cost").
var (
	// The front answers cached tokens: nothing but the cache, the exec
	// protocol and the standard library.
	frontBanned = []string{
		// The SigV4 signer (aws, aws/signer/v4) is cheap and allowed; the
		// config chain, services and credential providers are not: ~3 ms
		// of endpoint rule sets and schemas of sts/sso/ssooidc/signin.
		"github.com/aws/aws-sdk-go-v2/config",
		"github.com/aws/aws-sdk-go-v2/service/",
		"github.com/aws/aws-sdk-go-v2/credentials",
		"github.com/aws/aws-sdk-go-v2/feature/",
		"github.com/aws/aws-sdk-go-v2/internal/endpoints",
		"k8s.io/",                 // apimachinery/client-go: ~1-5 ms
		"github.com/spf13/cobra",  // text/template and the command tree
		"github.com/mikefarah/yq", // yqlib: ~1× a process start
		"sigs.k8s.io/",
		// ~0.1 ms of init; the session key's keyctl calls and the agent
		// client use syscall (the agent itself, internal/agent, lives in
		// kubeiam-core).
		"golang.org/x/sys/unix",
		"github.com/kubeiam/kubeiam/internal/ststest",
		"github.com/kubeiam/kubeiam/internal/seccomptest", // test helper
		"github.com/kubeiam/kubeiam/internal/keyringtest", // test helper
		"github.com/kubeiam/kubeiam/internal/testwait",    // test helper
	}
	// kubeiam-core signs tokens on a miss: no clientset (~20-90 ms of init).
	coreBanned = []string{
		// From v1.100.0 the EKS client builds a registry of every shape of
		// the API at init (~3 ms, 565 KB, on every kubeiam-core start) for
		// the two calls kubeiam makes: go.mod pins v1.99.0, which has
		// DescribeCluster, ListClusters and the Outposts fields.
		"github.com/aws/aws-sdk-go-v2/service/eks/schemas",
		// The same for IAM (GetRole, for role paths) from v1.65.0: go.mod
		// pins v1.64.9.
		"github.com/aws/aws-sdk-go-v2/service/iam/schemas",
		// Typed Kubernetes objects (core/v1 alone: ~1 ms, 150 KB of init);
		// installer builds its few as unstructured maps.
		"k8s.io/api/",
		"github.com/kubeiam/kubeiam/internal/ststest",     // test stand-in, never shipped
		"github.com/kubeiam/kubeiam/internal/seccomptest", // test helper
		"github.com/kubeiam/kubeiam/internal/keyringtest", // test helper
		"github.com/kubeiam/kubeiam/internal/testwait",    // test helper
		"k8s.io/client-go/kubernetes",
		"k8s.io/kubernetes/",
		"sigs.k8s.io/controller-runtime",
	}
)

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestBinariesStayLean(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for pkg, banned := range map[string][]string{
		"github.com/kubeiam/kubeiam/cmd/kubeiam":      frontBanned,
		"github.com/kubeiam/kubeiam/cmd/kubeiam-core": coreBanned,
	} {
		ds := deps(t, pkg)
		if len(ds) < 10 {
			t.Fatalf("%s: only %d deps listed", pkg, len(ds))
		}
		for _, d := range ds {
			for _, b := range banned {
				if d == b || strings.HasPrefix(d, b) || strings.HasPrefix(d, b+"/") {
					t.Errorf("%s links %s", pkg, d)
				}
			}
		}
	}
}

// The layers: domain packages (what a library user would import) never
// reach up into the CLI layer, the front, or the CLI's hint printer; they
// return typed errors that carry their own Hint() and the CLI renders them.
var (
	domainPackages = []string{
		"github.com/kubeiam/kubeiam/token/...",
		"github.com/kubeiam/kubeiam/cache/...",
		"github.com/kubeiam/kubeiam/kubeconfig/...",
		"github.com/kubeiam/kubeiam/eks/...",
		"github.com/kubeiam/kubeiam/bundle/...",
		"github.com/kubeiam/kubeiam/installer/...",
		"github.com/kubeiam/kubeiam/mappings/...",
	}
	domainBanned = []string{
		"github.com/kubeiam/kubeiam/internal/cmd/",       // the CLI layer
		"github.com/kubeiam/kubeiam/internal/execplugin", // the front
		"github.com/kubeiam/kubeiam/internal/clierr",     // CLI hints
		"github.com/spf13/cobra",
	}
	// domainAllowed are imports that break the rule today, each with the
	// issue that removes it.
	domainAllowed = map[string]string{
		// None since issue 22: hints are typed errors with Hint()
		// (internal/hint), rendered by internal/clierr.
	}
)

// TestDomainPackagesStayBelowTheCLI checks every domain package's
// dependencies (direct and indirect) against domainBanned.
func TestDomainPackagesStayBelowTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	args := append([]string{"list", "-e", "-f", `{{.ImportPath}} {{join .Deps " "}}`}, domainPackages...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("only %d domain packages listed", len(lines))
	}
	used := map[string]bool{}
	for _, line := range lines {
		f := strings.Fields(line)
		for _, d := range f[1:] {
			for _, b := range domainBanned {
				if d != b && !strings.HasPrefix(d, b) {
					continue
				}
				edge := f[0] + " -> " + d
				if _, ok := domainAllowed[edge]; ok {
					used[edge] = true
					continue
				}
				t.Errorf("%s imports %s, which is above it", f[0], d)
			}
		}
	}
	for edge, why := range domainAllowed {
		if !used[edge] {
			t.Errorf("allowed %s (%s) is gone: drop it from domainAllowed", edge, why)
		}
	}
}
