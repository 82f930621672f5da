package main

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSmoke runs the whole harness once with the fewest runs, against
// binaries built from this checkout, so `make bench` cannot rot between
// the rare full runs. It checks that every phase ran and that the checks
// inside the harness held (tokens verified, one AssumeRole per herd,
// merges kept every context); the numbers themselves are not asserted —
// they mean nothing at these run counts, under -race, on a shared machine.
func TestSmoke(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin+"/", "./cmd/kubeiam", "./cmd/kubeiam-core")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("could not build kubeiam: %v\n%s", err, out)
	}
	out := t.TempDir()
	cfg := &config{Root: root, Bin: bin, Quick: true, Authenticator: defaultAuthenticator(), Keyring: true,
		MD: filepath.Join(out, "BENCHMARKS.md"), JSON: filepath.Join(out, "results.json"), Out: io.Discard, Log: t.Logf}
	if p := os.Getenv("KUBEIAM_AUTHENTICATOR_BIN"); p != "" {
		cfg.Authenticator = p
	}
	defaults(cfg)
	// Cheaper than quick: the aws CLI alone takes seconds per call, and the
	// 1,000-context merge is the slowest phase; the sizes below exercise
	// the same code.
	cfg.Rounds, cfg.MergeSizes, cfg.BundleMB = 2, []int{10, 100}, 1

	res, err := run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Broken) > 0 {
		t.Fatalf("broken subjects: %v", res.Broken)
	}
	keys := map[string]bool{}
	for _, s := range res.Subjects {
		keys[s.Key] = true
		if s.Wall.N != cfg.Rounds || s.Failures > 0 {
			t.Errorf("%s: %d timed runs, %d failed; want %d and 0", s.Label, s.Wall.N, s.Failures, cfg.Rounds)
		}
	}
	want := []string{kFloor, kCachedFile, kUncached, kUncachedRol}
	if keys[kProbe] { // a keyring session was started
		want = append(want, kCachedKeyr, kCachedDBus)
		if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" { // the seccomp filter's platform
			want = append(want, kCachedAgent)
		}
	}
	for _, k := range want {
		if !keys[k] {
			t.Errorf("subject %s missing", k)
		}
	}
	if len(res.Herds) != 2 || res.Herds[1].N != 8 || !allOne(res.Herds[1].AssumeRoles) {
		t.Errorf("herds %+v, want a cold call and a herd of 8 making one AssumeRole", res.Herds)
	}
	if len(res.Merge) != 2 || res.Merge[1].Wall.N != cfg.MergeRuns {
		t.Errorf("merge results %+v", res.Merge)
	}
	if h := res.LockHold; h == nil || h.Settled.N != 15 || h.Fresh.N != 15 || h.Settled.Median <= 0 {
		t.Errorf("lock hold results %+v", h)
	}
	if res.Bundle == nil || res.Bundle.Curl.N != cfg.BundleRuns || res.Bundle.Present && res.Bundle.Kubeiam.N != cfg.BundleRuns {
		t.Errorf("bundle install and its baseline %+v", res.Bundle)
	}
	if d := res.DeadNet; d == nil || d.GiveUp.N != 1 || d.Stale.N != 2 || !strings.Contains(d.Message, "no answer from ") || d.Stale.Median >= d.GiveUp.Median {
		t.Errorf("dead network results %+v: want a give-up naming the endpoint, and stale tokens served sooner", d)
	}
	if len(res.Init) != 3 || res.Init[1].Total.Median <= 0 || res.Init[2].Packages <= res.Init[1].Packages {
		t.Errorf("init results %+v: want the floor, front and core traced, core with more packages than the front", res.Init)
	}

	md, err := os.ReadFile(cfg.MD)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Machine: ", "### Targets", "cached (file) ≤ 2× floor", "| floor (hello-world Go, prints JSON) |", "with a dead network", "blackholed STS"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
	var back Results
	data, err := os.ReadFile(cfg.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &back); err != nil || len(back.Targets) != len(res.Targets) {
		t.Errorf("results.json does not round-trip: %v", err)
	}
}

func TestParseInitTrace(t *testing.T) {
	trace := "init internal/bytealg @0.007 ms, 0 ms clock, 0 bytes, 0 allocs\n" +
		"init runtime @0.11 ms, 0.069 ms clock, 0 bytes, 0 allocs\n" +
		"kubeiam: something else on stderr\n" +
		"init k8s.io/client-go/kubernetes/scheme @4.1 ms, 1.25 ms clock, 345 bytes, 6 allocs\n"
	got := parseInitTrace([]byte(trace))
	if len(got) != 3 || got["runtime"].Microseconds() != 69 || got["k8s.io/client-go/kubernetes/scheme"].Microseconds() != 1250 {
		t.Errorf("parsed %v", got)
	}
}

func TestModuleOf(t *testing.T) {
	for pkg, want := range map[string]string{
		"encoding/json": "std",
		"github.com/aws/aws-sdk-go-v2/service/sts/internal/endpoints": "github.com/aws/aws-sdk-go-v2",
		"golang.org/x/net/http2":               "golang.org/x/net",
		"k8s.io/apimachinery/pkg/apis/meta/v1": "k8s.io/apimachinery",
		"sigs.k8s.io/yaml":                     "sigs.k8s.io/yaml",
	} {
		if got := moduleOf(pkg); got != want {
			t.Errorf("moduleOf(%s) = %s, want %s", pkg, got, want)
		}
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 100}
	if m := quantile(xs, 0.5); m != 3 {
		t.Errorf("median %v, want 3", m)
	}
	if p := quantile(xs, 0.9); math.Abs(p-61.6) > 1e-9 {
		t.Errorf("p90 %v, want 61.6 (interpolated between 4 and 100)", p)
	}
}
