package main

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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
	}
	// kubeiam-core signs tokens on a miss: no clientset (~20-90 ms of init).
	// Neither binary links a test stand-in (TestBinariesStayLean adds the
	// kinds table's to both lists).
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
		banned = slices.Concat(banned, ofKind(kindStandin))
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

// The layers. Every package of the module has one kind, and imports of
// kubeiam's own only packages of the kinds mayImport lists for it;
// internal/README.md shows the same table (TestInternalREADMEShowsTheKinds
// keeps the two in step). A new package fails TestLayers until it is given
// a kind here.
type kind string

const (
	kindBinary  kind = "Binaries"
	kindCLI     kind = "CLI layer"
	kindFront   kind = "Front"
	kindDomain  kind = "Domain"
	kindLeaf    kind = "Leaf helpers"
	kindStandin kind = "Test stand-ins"
	kindTool    kind = "Tools"
)

// kinds maps package paths (relative to the module; "x/..." is x and every
// package under it) to their kind.
var kinds = []struct {
	kind kind
	pkgs []string
}{
	{kindBinary, []string{"cmd/kubeiam", "cmd/kubeiam-core"}},
	// cobra wiring, one package per verb; rendering errors and hints.
	{kindCLI, []string{"internal/cmd/...", "internal/completion", "internal/iostreams", "internal/clierr"}},
	// The small kubeiam binary's main; the exec-credential protocol and
	// cached-token rule it shares with kubeiam-core; the agent (in
	// kubeiam-core) that serves it.
	{kindFront, []string{"internal/front", "internal/execcred", "internal/agent"}},
	// The public packages: what a library user imports.
	{kindDomain, []string{"token/...", "cache/...", "kubeconfig/...", "eks/...", "bundle/...", "installer/...", "mappings/..."}},
	// The standard library, syscall and leafMayImport only.
	{kindLeaf, []string{
		"internal/handover", "internal/session", "internal/kcnames", "internal/shellenv", "internal/proc",
		"internal/fsafe", "internal/input", "internal/jsonstr", "internal/text", "internal/suggest",
		"internal/ctxsleep", "internal/deadline", "internal/hint", "internal/agentproto", "internal/buildinfo",
		"internal/kubeerr",
	}},
	// Imported by tests alone.
	{kindStandin, []string{"internal/ststest", "internal/keyringtest", "internal/seccomptest", "internal/testwait", "internal/kubeconfigtest"}},
	// Run from the source tree, never shipped (make bench, make api).
	{kindTool, []string{"bench/...", "internal/tools/..."}},
}

// mayImport: what each kind may import of kubeiam's own. Below the CLI,
// nothing reaches up: domain packages return typed errors with Hint() that
// the CLI renders, and take what the front would tell them (FrontEnv, the
// session files) from leaf helpers.
var mayImport = map[kind][]kind{
	kindBinary:  {kindCLI, kindFront, kindDomain, kindLeaf},
	kindCLI:     {kindCLI, kindFront, kindDomain, kindLeaf},
	kindFront:   {kindFront, kindDomain, kindLeaf},
	kindDomain:  {kindDomain, kindLeaf},
	kindLeaf:    {kindLeaf},
	kindStandin: {kindStandin, kindLeaf},
	kindTool:    {kindDomain, kindLeaf, kindStandin},
}

// leafMayImport: besides the standard library, what leaf helpers may
// import — modules that themselves import only the standard library, so a
// leaf stays cheap for the front (pflag: input checks flag values).
var leafMayImport = []string{"golang.org/x", "github.com/spf13/pflag"}

// kindOf is the kind of a package of the module (by import path), or "".
func kindOf(importPath string) kind {
	rel, ok := strings.CutPrefix(importPath, modulePath+"/")
	if !ok {
		return ""
	}
	for _, k := range kinds {
		for _, p := range k.pkgs {
			if base, tree := strings.CutSuffix(p, "/..."); tree && (rel == base || strings.HasPrefix(rel, base+"/")) || rel == p {
				return k.kind
			}
		}
	}
	return ""
}

// ofKind lists the import paths (trees as a prefix) of a kind.
func ofKind(want kind) []string {
	var out []string
	for _, k := range kinds {
		if k.kind == want {
			for _, p := range k.pkgs {
				out = append(out, modulePath+"/"+strings.TrimSuffix(p, "/..."))
			}
		}
	}
	return out
}

// listPackages returns every package of the module with its direct
// imports (not its tests') and all its dependencies.
func listPackages(t *testing.T) (imports, deps map[string][]string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}`, modulePath+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports, deps = map[string][]string{}, map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			t.Fatalf("go list: %q", line)
		}
		imports[f[0]], deps[f[0]] = strings.Fields(f[1]), strings.Fields(f[2])
	}
	if len(imports) < 30 {
		t.Fatalf("only %d packages listed", len(imports))
	}
	return imports, deps
}

// TestLayers: every package has a kind and imports only what its kind may;
// leaf helpers import nothing outside the standard library and
// leafMayImport.
func TestLayers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	imports, _ := listPackages(t)
	for _, pkg := range slices.Sorted(maps.Keys(imports)) {
		k := kindOf(pkg)
		if k == "" {
			t.Errorf("%s has no kind: add it to kinds (cmd/kubeiam/deps_test.go) and to internal/README.md", pkg)
			continue
		}
		for _, imp := range imports[pkg] {
			ik := kindOf(imp)
			switch {
			case ik != "" && !slices.Contains(mayImport[k], ik):
				t.Errorf("%s (%s) imports %s (%s): %s may import only %v", pkg, k, imp, ik, k, mayImport[k])
			case ik == "" && strings.HasPrefix(imp, modulePath+"/"):
				t.Errorf("%s imports %s, which has no kind", pkg, imp)
			case k == kindLeaf && ik == "" && strings.Contains(strings.Split(imp, "/")[0], ".") &&
				!slices.ContainsFunc(leafMayImport, func(p string) bool { return imp == p || strings.HasPrefix(imp, p+"/") }):
				t.Errorf("%s is a leaf helper but imports %s: only the standard library and %v", pkg, imp, leafMayImport)
			}
		}
	}
}

// TestDomainPackagesStayBelowTheCLI checks every domain package's
// dependencies, direct and indirect, for the CLI layer, the front, the
// binaries, test stand-ins and cobra: what a library user imports never
// drags in kubeiam's command line.
func TestDomainPackagesStayBelowTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	_, deps := listPackages(t)
	banned := []string{"github.com/spf13/cobra"}
	for _, k := range []kind{kindCLI, kindFront, kindBinary, kindStandin, kindTool} {
		banned = append(banned, ofKind(k)...)
	}
	n := 0
	for _, pkg := range slices.Sorted(maps.Keys(deps)) {
		if kindOf(pkg) != kindDomain {
			continue
		}
		n++
		for _, d := range deps[pkg] {
			for _, b := range banned {
				if d == b || strings.HasPrefix(d, b+"/") {
					what := string(kindOf(d))
					if what == "" {
						what = "the CLI's command library"
					}
					t.Errorf("%s depends on %s (%s), which is above it", pkg, d, what)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d domain packages listed", n)
	}
}

// TestInternalREADMEShowsTheKinds: the table in internal/README.md lists
// the same packages under the same kinds as kinds (what lives outside
// internal/, but for the domain packages, is left out there). Names in the table are
// relative to internal/, or to the module for the domain packages, with
// "…" for a tree.
func TestInternalREADMEShowsTheKinds(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	kindRe := regexp.MustCompile(`^\| \*\*([^*]+)\*\*`)
	nameRe := regexp.MustCompile("`([^`]+)`")
	asideRe := regexp.MustCompile(`\([^)]*\)`)
	inREADME := map[kind][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		m := kindRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		cols := strings.Split(line, "|")
		if len(cols) < 4 {
			t.Fatalf("internal/README.md: %q: want | kind | packages | may import |", line)
		}
		k := kind(m[1])
		// Parentheses describe; the names outside them are the packages.
		for _, n := range nameRe.FindAllStringSubmatch(asideRe.ReplaceAllString(cols[2], ""), -1) {
			name := strings.Replace(n[1], "…", "/...", 1)
			name = strings.Replace(name, "//...", "/...", 1)
			if k != kindDomain {
				name = "internal/" + name
			}
			inREADME[k] = append(inREADME[k], name)
		}
	}
	for _, k := range kinds {
		// The table shows what lives under internal/, and the domain
		// packages it sits on.
		var want []string
		for _, p := range k.pkgs {
			if k.kind == kindDomain || strings.HasPrefix(p, "internal/") {
				want = append(want, p)
			}
		}
		if len(want) == 0 {
			continue
		}
		got := slices.Sorted(slices.Values(inREADME[k.kind]))
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("internal/README.md lists as %s:\n  %v\nkinds says:\n  %v", k.kind, got, want)
		}
		delete(inREADME, k.kind)
	}
	for k := range inREADME {
		t.Errorf("internal/README.md has a kind %q that kinds does not", k)
	}
}
