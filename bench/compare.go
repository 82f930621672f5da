package main

// `make bench-compare BASE=<rev>`: the before/after of a change in one run.
// BASE's kubeiam and kubeiam-core are built from `git archive` of that
// revision (cached by commit under ~/.cache/kubeiam/bench), the current ones
// come from `make build`, and both are measured side by side: each round
// runs base and head back to back in a random order, so load from other
// processes lands on both alike and the per-round ratio head/base cancels
// most of it. Numbers from two separate runs on a shared machine differ by
// more than the changes this is meant to show.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Verdict bounds. A metric is unchanged when the median of the per-round
// ratios head/base is at most ratioBound. Above it, the metric still
// passes when the run cannot tell head from base: the 95% bootstrap
// interval of that median reaches down to 1.00, and the ratio itself is
// under noiseCap (a larger gap is a finding whatever the noise).
const (
	ratioBound = 1.05
	noiseCap   = 1.10
)

// compareSide is one build under comparison.
type compareSide struct {
	name string // "base" or "head"
	bin  string // directory with kubeiam and kubeiam-core
}

func (s compareSide) kubeiam() string { return filepath.Join(s.bin, "kubeiam") }

// pairMetric is one measurement taken on both sides every round.
type pairMetric struct {
	name string
	// run measures one side once (set-up outside the timed part).
	run        func(side compareSide) (time.Duration, error)
	base, head []time.Duration
}

// CompareRow is one line of the comparison table.
type CompareRow struct {
	Name     string
	Base     Stats
	Head     Stats
	Ratio    float64 // median of the per-round ratios head/base
	Lo, Hi   float64 // its 95% bootstrap interval
	Verdict  string
	Failures int
}

// compareMain is `bench -compare BASE`.
func compareMain(ctx context.Context, cfg *config, baseRev string) error {
	log := cfg.Log
	loadStart := loadAvg()
	sha, err := gitOut(cfg.Root, "rev-parse", "--verify", baseRev+"^{commit}")
	if err != nil {
		return fmt.Errorf("could not resolve %s: %w", baseRev, err)
	}
	baseBin, err := buildRev(cfg.Root, sha, log)
	if err != nil {
		return err
	}
	base := compareSide{name: "base", bin: baseBin}
	head := compareSide{name: "head", bin: cfg.Bin}
	headDesc := "working tree"
	if h, err := gitOut(cfg.Root, "rev-parse", "--short", "HEAD"); err == nil {
		headDesc = h
		if d, _ := gitOut(cfg.Root, "status", "--porcelain", "--untracked-files=no"); d != "" {
			headDesc += " + uncommitted changes"
		}
	}
	fmt.Fprintf(cfg.Out, "base %s (%s): %s\nhead %s: %s\n", baseRev, sha[:12], base.bin, headDesc, head.bin)

	dir, err := os.MkdirTemp("", "kubeiam-bench-compare-")
	if err != nil {
		return err
	}
	if cfg.Keep {
		log("scratch directory (kept): %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	r, err := startRig(dir)
	if err != nil {
		return err
	}
	defer r.close()
	e, err := newEnv(dir, r)
	if err != nil {
		return err
	}
	v := r.verifier(e, head.bin)

	log("byte-for-byte kubeconfig output")
	diffs, steps, err := compareBytes(e, r, base, head)
	if err != nil {
		return err
	}

	log("checking both sides' tokens once")
	metrics, err := compareMetrics(e, r, v, base, head)
	if err != nil {
		return err
	}
	rounds := cfg.Rounds
	log("timing %d metrics on both sides, %d rounds, interleaved", len(metrics), rounds)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x636d70))
	failures := make([]int, len(metrics))
	start := time.Now()
	for round := range rounds {
		for i, m := range metrics {
			sides := []compareSide{base, head}
			rng.Shuffle(2, func(a, b int) { sides[a], sides[b] = sides[b], sides[a] })
			var got [2]time.Duration
			var bad bool
			for j, s := range sides {
				if err := ctx.Err(); err != nil {
					return err
				}
				d, err := m.run(s)
				if err != nil {
					log("  %s (%s): %v", m.name, s.name, err)
					bad = true
					break
				}
				got[j] = d
			}
			if bad {
				failures[i]++
				continue
			}
			// Only complete pairs count, so the ratios stay paired.
			for j, s := range sides {
				if s.name == "base" {
					m.base = append(m.base, got[j])
				} else {
					m.head = append(m.head, got[j])
				}
			}
		}
		if (round+1)%10 == 0 || round+1 == rounds {
			log("  round %d/%d (%s)", round+1, rounds, time.Since(start).Round(time.Second))
		}
	}

	var rows []CompareRow
	pass := true
	for i, m := range metrics {
		row := compareRow(m, rng)
		row.Failures = failures[i]
		if row.Failures > 0 {
			row.Verdict = "FAIL"
		}
		pass = pass && row.Verdict == "PASS"
		rows = append(rows, row)
	}
	renderCompare(cfg.Out, rows, steps, diffs)
	if len(diffs) > 0 {
		pass = false
	}
	fmt.Fprintf(cfg.Out, "load average %s at start, %s at end\n", loadStart, loadAvg())
	if !pass {
		fmt.Fprintln(cfg.Out, "FAIL: not unchanged")
		return errNotUnchanged
	}
	fmt.Fprintln(cfg.Out, "PASS: unchanged")
	return nil
}

var errNotUnchanged = errors.New("head differs from base (see the table)")

// compareMetrics are the token path, the front's init cost and the merge,
// each checked once on both sides before it is timed.
func compareMetrics(e *env, r *rig, v *verifier, base, head compareSide) ([]*pairMetric, error) {
	token := []string{"token", "-i", clusterID}
	roleToken := append(slices.Clone(token), "-r", roleARN, "-s", session)
	sts := "AWS_ENDPOINT_URL_STS=" + r.http.URL
	// Each side has its own file cache: a change may move or reformat it.
	hitEnv := map[string][]string{}
	for _, s := range []compareSide{base, head} {
		cache, err := e.freshDir("cache-" + s.name)
		if err != nil {
			return nil, err
		}
		hitEnv[s.name] = e.with("KUBEIAM_CACHE=file", "XDG_CACHE_HOME="+cache, sts)
		first, err := timeCmd(command(hitEnv[s.name], s.kubeiam(), roleToken...))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		if err := checkHit(v, s.kubeiam(), hitEnv[s.name], roleToken, roleSessionARN(), "file backend")(first); err != nil && !isNote(err) {
			return nil, fmt.Errorf("%s, cached token: %w", s.name, err)
		}
		if err := answeredBy(v.expectCaller(r.alice.ARN), s.kubeiam(), e.with(), append(slices.Clone(token), "--no-cache"))(mustRun(e.with(), s.kubeiam(), append(slices.Clone(token), "--no-cache")...)); err != nil && !isNote(err) {
			return nil, fmt.Errorf("%s, uncached token: %w", s.name, err)
		}
		if err := v.expectCaller(roleSessionARN())(mustRun(e.with(sts), s.kubeiam(), append(slices.Clone(roleToken), "--no-cache")...)); err != nil {
			return nil, fmt.Errorf("%s, uncached AssumeRole token: %w", s.name, err)
		}
	}
	wall := func(env func(compareSide) []string, args ...string) func(compareSide) (time.Duration, error) {
		return func(s compareSide) (time.Duration, error) {
			smp, err := timeCmd(command(env(s), s.kubeiam(), args...))
			return smp.Wall, err
		}
	}
	hit := func(s compareSide) []string { return hitEnv[s.name] }
	static := func(compareSide) []string { return e.with() }
	assume := func(compareSide) []string { return e.with(sts) }

	// The front's init cost on a cache hit: the sum of GODEBUG=inittrace=1's
	// per-package clock times (the hit execs nothing, so it is the front's).
	initSum := func(s compareSide) (time.Duration, error) {
		smp, err := timeCmd(command(append(slices.Clone(hitEnv[s.name]), "GODEBUG=inittrace=1"), s.kubeiam(), roleToken...))
		if err != nil {
			return 0, err
		}
		if _, err := tokenOf(smp.Stdout); err != nil {
			return 0, err
		}
		var total time.Duration
		pkgs := parseInitTrace(smp.Stderr)
		if len(pkgs) == 0 {
			return 0, errors.New("no inittrace lines")
		}
		for _, d := range pkgs {
			total += d
		}
		return total, nil
	}

	// The merge into 1,000 contexts, as merges() times it: a fresh copy of
	// the same file each run, the front execing kubeiam-core.
	const contexts = 1000
	mdir, err := e.freshDir("merge")
	if err != nil {
		return nil, err
	}
	ca := filepath.Join(mdir, "ca.pem")
	if err := os.WriteFile(ca, r.caPEM, 0o600); err != nil {
		return nil, err
	}
	pristine := generateKubeconfig(contexts)
	merge := func(s compareSide) (time.Duration, error) {
		path := filepath.Join(mdir, "config-"+s.name)
		for _, p := range []string{path + ".bak", path + ".lock"} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return 0, err
			}
		}
		if err := os.WriteFile(path, pristine, 0o600); err != nil {
			return 0, err
		}
		smp, err := timeCmd(command(e.with("XDG_CACHE_HOME="+filepath.Join(mdir, "cache")), s.kubeiam(), "kubeconfig", "write",
			"--cluster", "bench-new", "--server", "https://10.255.0.1:6443", "--certificate-authority", ca, "--cluster-id", "bench-new",
			"--merge", "--kubeconfig", path))
		return smp.Wall, err
	}
	for _, s := range []compareSide{base, head} {
		if _, err := merge(s); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		if err := checkMerged(filepath.Join(mdir, "config-"+s.name), contexts, 1); err != nil {
			return nil, fmt.Errorf("%s, merge into %d contexts: %w", s.name, contexts, err)
		}
		if _, err := initSum(s); err != nil {
			return nil, fmt.Errorf("%s, init trace: %w", s.name, err)
		}
	}
	return []*pairMetric{
		{name: "token, cached hit (file cache), wall", run: wall(hit, roleToken...)},
		{name: "token --no-cache, static keys, wall", run: wall(static, append(slices.Clone(token), "--no-cache")...)},
		{name: "token --no-cache -r ROLE (AssumeRole at the STS stand-in), wall", run: wall(assume, append(slices.Clone(roleToken), "--no-cache")...)},
		{name: "front init, cached hit (inittrace sum)", run: initSum},
		{name: "kubeconfig write --merge into 1,000 contexts, wall", run: merge},
	}, nil
}

func isNote(err error) bool {
	var n noteError
	return errors.As(err, &n)
}

// mustRun runs a command for a check; its error shows as the check's.
func mustRun(env []string, name string, args ...string) sample {
	s, err := timeCmd(command(env, name, args...))
	if err != nil {
		s.Stdout = []byte(err.Error())
	}
	return s
}

// compareRow summarises m: medians per side, the median of the per-round
// ratios and its bootstrap interval, and the verdict.
func compareRow(m *pairMetric, rng *rand.Rand) CompareRow {
	row := CompareRow{Name: m.name, Base: summarize(m.base), Head: summarize(m.head), Verdict: "FAIL"}
	ratios := make([]float64, 0, len(m.base))
	for i := range m.base {
		if m.base[i] > 0 {
			ratios = append(ratios, float64(m.head[i])/float64(m.base[i]))
		}
	}
	if len(ratios) == 0 {
		return row
	}
	row.Ratio = median(ratios)
	row.Lo, row.Hi = bootstrapMedian(ratios, rng, 2000)
	if row.Ratio <= ratioBound || (row.Lo <= 1 && row.Ratio <= noiseCap) {
		row.Verdict = "PASS"
	}
	return row
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return quantile(s, 0.5)
}

// bootstrapMedian is the 2.5th and 97.5th percentile of the median over
// resamples of xs: how far this run's median ratio could move by chance.
func bootstrapMedian(xs []float64, rng *rand.Rand, n int) (lo, hi float64) {
	meds := make([]float64, n)
	buf := make([]float64, len(xs))
	for i := range meds {
		for j := range buf {
			buf[j] = xs[rng.IntN(len(xs))]
		}
		meds[i] = median(buf)
	}
	slices.Sort(meds)
	return quantile(meds, 0.025), quantile(meds, 0.975)
}

func renderCompare(w io.Writer, rows []CompareRow, steps int, diffs []string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tbase median\thead median\thead/base\t95% interval\tn\tunchanged")
	for _, r := range rows {
		n := fmt.Sprint(r.Base.N)
		if r.Failures > 0 {
			n += fmt.Sprintf(" (%d failed)", r.Failures)
		}
		fmt.Fprintf(tw, "%s\t%.2f ms\t%.2f ms\t%.3f\t%.3f–%.3f\t%s\t%s\n", r.Name, r.Base.Median, r.Head.Median, r.Ratio, r.Lo, r.Hi, n, r.Verdict)
	}
	verdict := "PASS"
	what := fmt.Sprintf("%d files identical", steps)
	if len(diffs) > 0 {
		verdict = "FAIL"
		what = fmt.Sprintf("%d of %d files differ", len(diffs), steps)
	}
	fmt.Fprintf(tw, "kubeconfig output, byte for byte\t\t\t\t\t%s\t%s\n", what, verdict)
	tw.Flush()
	fmt.Fprintf(w, "unchanged: head/base ≤ %.2f, or ≤ %.2f with a 95%% interval reaching 1.00 (no difference this run can see)\n", ratioBound, noiseCap)
	for _, d := range diffs {
		fmt.Fprintln(w, d)
	}
}

// buildRev builds kubeiam and kubeiam-core of commit sha with the flags
// `make build` uses, once: the binaries are kept under
// ~/.cache/kubeiam/bench/<sha>.
func buildRev(root, sha string, log func(string, ...any)) (string, error) {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache")
	}
	out := filepath.Join(cache, "kubeiam", "bench", sha)
	if executable(filepath.Join(out, "kubeiam")) && executable(filepath.Join(out, "kubeiam-core")) {
		log("base binaries from the cache: %s", out)
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	src, err := os.MkdirTemp(filepath.Dir(out), "src-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	log("building %s in %s", sha[:12], src)
	archive := exec.Command("git", "-C", root, "archive", "--format=tar", sha)
	untar := exec.Command("tar", "-x", "-C", src)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return "", err
	}
	untar.Stdin = pipe
	var aerr, terr bytes.Buffer
	archive.Stderr, untar.Stderr = &aerr, &terr
	if err := untar.Start(); err != nil {
		return "", err
	}
	if err := archive.Run(); err != nil {
		return "", fmt.Errorf("git archive %s: %v: %s", sha, err, aerr.String())
	}
	if err := untar.Wait(); err != nil {
		return "", fmt.Errorf("tar: %v: %s", err, terr.String())
	}
	version, _ := gitOut(root, "describe", "--tags", "--always", sha)
	tmp := out + ".tmp"
	os.RemoveAll(tmp)
	ld := "-s -w -X github.com/kubeiam/kubeiam/internal/buildinfo.Version=" + version + " -X github.com/kubeiam/kubeiam/internal/buildinfo.Commit=" + sha
	build := exec.Command("go", "build", "-trimpath", "-ldflags", ld, "-o", tmp+"/", "./cmd/kubeiam", "./cmd/kubeiam-core")
	build.Dir = src
	// GOFLAGS as make exports it (the yq build tags), so both sides link
	// the same code; GOWORK=off so a workspace above cannot change it.
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("could not build %s: %v\n%s", sha[:12], err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	return out, nil
}

func gitOut(root string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, firstLine(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
