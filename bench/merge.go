package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/internal/kubeconfigtest"

	"sigs.k8s.io/yaml"
)

// MergeResult is `kubeiam kubeconfig write --merge` adding one cluster to a
// kubeconfig of Contexts contexts, timed as the user runs it (front, then
// kubeiam-core: process start-up included), and kubectl adding a context to
// the same file for comparison.
type MergeResult struct {
	Contexts int     `json:"contexts"`
	Bytes    int64   `json:"file_bytes"`
	Wall     Stats   `json:"wall"`
	PerCtxUS float64 `json:"per_context_us"` // (median − start-up) / contexts
	// Kubectl is `kubectl config set-context` on the same file: load, add
	// one context, write; zero when kubectl is not installed.
	Kubectl Stats `json:"kubectl_set_context_wall,omitzero"`
}

// merges times the merge into generated kubeconfigs of each size, and
// `kubeiam version` (front + core start-up, no file work) beside them so
// the file work can be told from the process start.
func merges(ctx context.Context, cfg *config, e *env, r *rig) ([]*MergeResult, Stats, error) {
	kubeiam := filepath.Join(cfg.Bin, "kubeiam")
	kubectl, _ := exec.LookPath("kubectl")
	dir, err := e.freshDir("merge")
	if err != nil {
		return nil, Stats{}, err
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, r.caPEM, 0o600); err != nil {
		return nil, Stats{}, err
	}
	env := e.with("XDG_CACHE_HOME=" + filepath.Join(dir, "cache"))
	// A unit is one command on one file size; nil file is the start-up
	// reference.
	type file struct {
		m        *MergeResult
		pristine []byte
		path     string
	}
	type unit struct {
		f       *file
		kubectl bool
		wall    []time.Duration
	}
	reset := func(f *file) error {
		for _, p := range []string{f.path + ".bak", f.path + ".lock"} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		return os.WriteFile(f.path, f.pristine, 0o600)
	}
	newCmd := func(u *unit) *exec.Cmd {
		switch {
		case u.f == nil:
			return command(env, kubeiam, "version")
		case u.kubectl:
			return command(env, kubectl, "--kubeconfig", u.f.path, "config", "set-context", "bench-new-aws", "--cluster=c00000", "--user=c00000-aws")
		default:
			return command(env, kubeiam, "kubeconfig", "write", "--cluster", "bench-new", "--server", "https://10.255.0.1:6443",
				"--certificate-authority", ca, "--cluster-id", "bench-new", "--merge", "--kubeconfig", u.f.path)
		}
	}
	units := []*unit{{}}
	var files []*file
	for _, n := range cfg.MergeSizes {
		data := generateKubeconfig(n)
		f := &file{m: &MergeResult{Contexts: n, Bytes: int64(len(data))}, pristine: data, path: filepath.Join(dir, fmt.Sprintf("config-%d", n))}
		files = append(files, f)
		units = append(units, &unit{f: f})
		// kubectl takes seconds per call past a thousand contexts; the
		// smaller files already show how it compares.
		if kubectl != "" && n <= 1000 {
			units = append(units, &unit{f: f, kubectl: true})
		}
	}
	// Check once per command and size that the merge did its job: every
	// entry kept, the new ones added.
	for _, u := range units[1:] {
		if err := reset(u.f); err != nil {
			return nil, Stats{}, err
		}
		if _, err := timeCmd(newCmd(u)); err != nil {
			return nil, Stats{}, err
		}
		added := 1
		if u.kubectl {
			added = 0 // a context only
		}
		if err := checkMerged(u.f.path, u.f.m.Contexts, added); err != nil {
			return nil, Stats{}, fmt.Errorf("merge into %d contexts: %w", u.f.m.Contexts, err)
		}
	}
	rng := rand.New(rand.NewPCG(3, 0x6d657267))
	order := slices.Clone(units)
	for range cfg.MergeRuns {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, u := range order {
			if err := ctx.Err(); err != nil {
				return nil, Stats{}, err
			}
			if u.f != nil {
				if err := reset(u.f); err != nil {
					return nil, Stats{}, err
				}
			}
			s, err := timeCmd(newCmd(u))
			if err != nil {
				return nil, Stats{}, err
			}
			u.wall = append(u.wall, s.Wall)
		}
	}
	startup := summarize(units[0].wall)
	for _, u := range units[1:] {
		if u.kubectl {
			u.f.m.Kubectl = summarize(u.wall)
			continue
		}
		m := u.f.m
		m.Wall = summarize(u.wall)
		m.PerCtxUS = (m.Wall.Median - startup.Median) * 1000 / float64(m.Contexts)
	}
	var res []*MergeResult
	for _, f := range files {
		res = append(res, f.m)
	}
	return res, startup, nil
}

// generateKubeconfig is the kubeconfig of n clusters, users and contexts
// every merge measurement uses (and kubeconfig's corpus test holds).
func generateKubeconfig(n int) []byte { return kubeconfigtest.Generate(n) }

// checkMerged checks the file has n+1 contexts and n+entries clusters and
// users, the new context among them.
func checkMerged(path string, n, entries int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg struct {
		Clusters []struct{ Name string }
		Contexts []struct{ Name string }
		Users    []struct{ Name string }
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("the merged file does not parse: %v", err)
	}
	if len(cfg.Contexts) != n+1 || len(cfg.Clusters) != n+entries || len(cfg.Users) != n+entries {
		return fmt.Errorf("merged file has %d clusters, %d contexts, %d users; want %d, %d, %d",
			len(cfg.Clusters), len(cfg.Contexts), len(cfg.Users), n+entries, n+1, n+entries)
	}
	if !slices.ContainsFunc(cfg.Contexts, func(c struct{ Name string }) bool { return c.Name == "bench-new-aws" }) {
		return fmt.Errorf("merged file lacks context bench-new-aws")
	}
	return nil
}

// HoldResult is how long `kubeiam kubeconfig write --merge` holds
// <file>.lock on a kubeconfig of Contexts contexts: the time every kubectl
// write is blocked. kubeiam reports it on stderr when KUBEIAM_LOCK_TRACE is
// set (the wall time is mostly process start and parsing, done before the
// lock). Under the lock kubeiam checks that the file has not changed since
// it read it: one stat for a file last written more than a few seconds
// earlier (Settled, the usual case and the target), a byte compare for one
// written just before (Fresh).
type HoldResult struct {
	Contexts int       `json:"contexts"`
	Bytes    int64     `json:"file_bytes"`
	Settled  HoldStats `json:"settled"`
	Fresh    HoldStats `json:"fresh"`
}

// HoldStats are hold times in milliseconds.
type HoldStats struct {
	N      int     `json:"n"`
	Median float64 `json:"median_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// holdContexts is the file size the hold target is set for.
const holdContexts = 2000

// lockHold merges into holdContexts-context files, each merge a new process
// as users run it, alternating a settled file and a fresh one. Settled
// files are copies taken in turn, each left alone for settle between uses
// (each use adds a cluster, so every merge writes).
func lockHold(ctx context.Context, cfg *config, e *env, r *rig) (*HoldResult, error) {
	dir, err := e.freshDir("hold")
	if err != nil {
		return nil, err
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, r.caPEM, 0o600); err != nil {
		return nil, err
	}
	env := e.with("XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "KUBEIAM_LOCK_TRACE=1")
	data := generateKubeconfig(holdContexts)
	runs, copies := 101, 16
	if cfg.Quick {
		runs, copies = 15, 8
	}
	const settle = 6 * time.Second // kubeiam trusts a stat after 5 s
	written := make([]time.Time, copies)
	for i := range copies {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("settled-%d", i)), data, 0o600); err != nil {
			return nil, err
		}
		written[i] = time.Now()
	}
	fresh := filepath.Join(dir, "fresh")
	merge := func(path, cluster string) (float64, error) {
		s, err := timeCmd(command(env, filepath.Join(cfg.Bin, "kubeiam"), "kubeconfig", "write", "--cluster", cluster, "--server", "https://10.255.0.1:6443",
			"--certificate-authority", ca, "--cluster-id", cluster, "--merge", "--kubeconfig", path))
		if err != nil {
			return 0, err
		}
		_, after, ok := strings.Cut(string(s.Stderr), "lock held ")
		d, err := time.ParseDuration(strings.TrimSpace(strings.SplitN(after, "\n", 2)[0]))
		if !ok || err != nil {
			return 0, fmt.Errorf("no lock hold time in the merge's stderr: %q", s.Stderr)
		}
		return float64(d) / float64(time.Millisecond), nil
	}
	var settled, fresher []float64
	for i := range runs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := i % copies
		if wait := settle - time.Since(written[c]); wait > 0 {
			time.Sleep(wait)
		}
		ms, err := merge(filepath.Join(dir, fmt.Sprintf("settled-%d", c)), fmt.Sprintf("bench-hold-%d", i))
		if err != nil {
			return nil, err
		}
		written[c] = time.Now()
		settled = append(settled, ms)

		if err := os.WriteFile(fresh, data, 0o600); err != nil {
			return nil, err
		}
		if ms, err = merge(fresh, "bench-new"); err != nil {
			return nil, err
		}
		fresher = append(fresher, ms)
	}
	if err := checkMerged(fresh, holdContexts, 1); err != nil {
		return nil, fmt.Errorf("merge into %d contexts: %w", holdContexts, err)
	}
	return &HoldResult{Contexts: holdContexts, Bytes: int64(len(data)), Settled: holdStats(settled), Fresh: holdStats(fresher)}, nil
}

func holdStats(ms []float64) HoldStats {
	slices.Sort(ms)
	return HoldStats{N: len(ms), Median: quantile(ms, 0.5), P99: quantile(ms, 0.99), Max: ms[len(ms)-1]}
}
