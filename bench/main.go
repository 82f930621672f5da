// Command bench is `make bench`: it measures kubeiam against a floor (a
// hello-world Go binary printing a small JSON document) and against what
// users run today (aws-iam-authenticator v0.7.2, `aws eks get-token`), on the
// same machine in the same run, and writes BENCHMARKS.md and
// bench/results.json.
//
// The machines it runs on are noisy (shared cores, other builds), so
// absolute times mean little: subjects are interleaved round-robin in a
// shuffled order each round, so a burst of load hits all of them alike, and
// the report gives medians, p90s and ratios to the floor. Every subject's
// output is checked once before it is timed (a token must pass `kubeiam
// verify --sts` against the STS stand-in), so a broken subject cannot look
// fast.
//
// It is a development tool like the tests: it uses the internal STS stand-in
// (internal/ststest) and is never linked into kubeiam or kubeiam-core.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if cfg.Compare != "" {
		if err := compareMain(ctx, cfg, cfg.Compare); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	// A subject whose output failed its check was not timed; that is a
	// broken build, not a slow one, so the command fails. Missed targets
	// are findings and do not.
	if len(res.Broken) > 0 {
		fmt.Fprintf(os.Stderr, "bench: broken subjects: %s\n", strings.Join(res.Broken, ", "))
		os.Exit(1)
	}
}

// config is everything a run depends on; tests fill it directly.
type config struct {
	Root          string // module root (where go.mod is)
	Bin           string // directory holding kubeiam and kubeiam-core
	Authenticator string // aws-iam-authenticator v0.7.2, "" to skip
	AWS           string // the aws CLI, "" to skip
	Keyring       bool   // start a private D-Bus session with gnome-keyring
	Quick         bool
	Only          string // run only these sections (comma list; "deadnet")
	SSOSyncOnly   bool   // run only the SSO profile sync + discover step
	Keep          bool   // leave the scratch directory (caches, kubeconfigs) for a closer look
	Compare       string // a git revision: measure its binaries against Bin's, side by side (compare.go)

	Rounds     int   // rounds of the process subjects
	HerdSizes  []int // concurrent cold calls per herd
	HerdTrials int
	MergeSizes []int // contexts in the kubeconfig merged into
	MergeRuns  int
	BundleMB   int // size of the archive for the download baseline
	BundleRuns int
	InitRuns   int
	// MigrateEntries are the aws-auth entries `mappings migrate` moves.
	MigrateEntries int

	MD   string    // BENCHMARKS.md path, "" to skip
	JSON string    // results.json path, "" to skip
	Out  io.Writer // the tables
	Log  func(format string, args ...any)
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var (
		cfg     config
		herd    = fs.String("herd", "", "comma-separated herd sizes (default 8,32,128)")
		merge   = fs.String("merge", "", "comma-separated kubeconfig sizes (default 10,100,1000,10000)")
		noAWS   = fs.Bool("no-aws", false, "skip `aws eks get-token`")
		noKeyr  = fs.Bool("no-keyring", false, "skip the Secret Service subjects")
		rounds  = fs.Int("rounds", 0, "rounds of the process subjects (default 61, quick 3)")
		authBin = fs.String("authenticator", os.Getenv("KUBEIAM_AUTHENTICATOR_BIN"), "aws-iam-authenticator v0.7.2 binary")
	)
	fs.StringVar(&cfg.Bin, "bin", "bin", "directory with kubeiam and kubeiam-core (relative to the module root)")
	fs.BoolVar(&cfg.SSOSyncOnly, "sso-sync-only", false, "run only the SSO profile sync + discover benchmark (no report files)")
	fs.StringVar(&cfg.Compare, "compare", "", "a git revision to compare with -bin side by side: token path, front init, merge, kubeconfig bytes (make bench-compare BASE=REV)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the scratch directory and say where it is")
	fs.BoolVar(&cfg.Quick, "quick", false, "few runs, to check the harness works (numbers not for citing)")
	fs.StringVar(&cfg.Only, "only", "", "run only these sections (deadnet), write no files")
	fs.StringVar(&cfg.MD, "md", "", "where to write the Markdown report (default BENCHMARKS.md; quick: none)")
	fs.StringVar(&cfg.JSON, "json", "", "where to write the JSON results (default bench/results.json; quick: none)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	cfg.Root = root
	if !filepath.IsAbs(cfg.Bin) {
		cfg.Bin = filepath.Join(root, cfg.Bin)
	}
	if !cfg.Quick && cfg.Only == "" && !cfg.SSOSyncOnly && cfg.Compare == "" {
		if cfg.MD == "" {
			cfg.MD = filepath.Join(root, "BENCHMARKS.md")
		}
		if cfg.JSON == "" {
			cfg.JSON = filepath.Join(root, "bench", "results.json")
		}
	}
	cfg.Authenticator = *authBin
	if cfg.Authenticator == "" {
		cfg.Authenticator = defaultAuthenticator()
	}
	if !*noAWS {
		cfg.AWS = findAWS()
	}
	cfg.Keyring = !*noKeyr
	defaults(&cfg)
	if cfg.Compare != "" {
		// Rounds of pairs: each runs five metrics on both sides (~0.7 s);
		// 61 narrow the interval of a median ratio to a few per cent on a
		// shared machine.
		cfg.Rounds = 61
		if cfg.Quick {
			cfg.Rounds = 5
		}
	}
	if *rounds > 0 {
		cfg.Rounds = *rounds
	}
	if *herd != "" {
		if cfg.HerdSizes, err = ints(*herd); err != nil {
			return nil, fmt.Errorf("-herd: %w", err)
		}
	}
	if *merge != "" {
		if cfg.MergeSizes, err = ints(*merge); err != nil {
			return nil, fmt.Errorf("-merge: %w", err)
		}
	}
	cfg.Out = os.Stdout
	cfg.Log = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	return &cfg, nil
}

// defaults sets run counts: enough for stable medians in a full run (odd,
// so the median is a sample), a handful in quick mode.
func defaults(cfg *config) {
	if cfg.Quick {
		cfg.Rounds, cfg.HerdSizes, cfg.HerdTrials = 3, []int{8}, 1
		cfg.MergeSizes, cfg.MergeRuns = []int{10, 100, 1000}, 2
		cfg.BundleMB, cfg.BundleRuns, cfg.InitRuns = 8, 1, 2
		cfg.MigrateEntries = 100
		return
	}
	cfg.Rounds, cfg.HerdSizes, cfg.HerdTrials = 61, []int{8, 32, 128}, 9
	cfg.MergeSizes, cfg.MergeRuns = []int{10, 100, 1000, 10000}, 11
	cfg.BundleMB, cfg.BundleRuns, cfg.InitRuns = 100, 5, 15
	cfg.MigrateEntries = 500
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// only reports whether section runs: every section without -only.
func (c *config) only(section string) bool {
	if c.Only == "" {
		return true
	}
	for _, s := range strings.Split(c.Only, ",") {
		if strings.TrimSpace(s) == section {
			return true
		}
	}
	return false
}
