package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// MergeResult is `kubeiam kubeconfig write --merge` adding one cluster to a
// kubeconfig of Contexts contexts, timed as the user runs it (front, then
// kubeiam-core: process start-up included).
type MergeResult struct {
	Contexts int     `json:"contexts"`
	Bytes    int64   `json:"file_bytes"`
	Wall     Stats   `json:"wall"`
	PerCtxUS float64 `json:"per_context_us"` // (median − start-up) / contexts
	wall     []time.Duration
}

const startupKey = "core-startup"

// merges times the merge into generated kubeconfigs of each size, and
// `kubeiam version` (front + core start-up, no file work) beside them so
// the file work can be told from the process start.
func merges(ctx context.Context, cfg *config, e *env, r *rig) ([]*MergeResult, Stats, error) {
	kubeiam := filepath.Join(cfg.Bin, "kubeiam")
	dir, err := e.freshDir("merge")
	if err != nil {
		return nil, Stats{}, err
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, r.caPEM, 0o600); err != nil {
		return nil, Stats{}, err
	}
	env := e.with("XDG_CACHE_HOME=" + filepath.Join(dir, "cache"))
	type unit struct {
		m        *MergeResult
		pristine []byte
		target   string
	}
	var units []*unit
	for _, n := range cfg.MergeSizes {
		data := generateKubeconfig(n)
		u := &unit{m: &MergeResult{Contexts: n, Bytes: int64(len(data))}, pristine: data, target: filepath.Join(dir, fmt.Sprintf("config-%d", n))}
		units = append(units, u)
	}
	args := func(u *unit) []string {
		return []string{"kubeconfig", "write", "--cluster", "bench-new", "--server", "https://10.255.0.1:6443",
			"--certificate-authority", ca, "--cluster-id", "bench-new", "--merge", "--kubeconfig", u.target}
	}
	reset := func(u *unit) error {
		for _, p := range []string{u.target + ".bak", u.target + ".lock"} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		return os.WriteFile(u.target, u.pristine, 0o600)
	}
	// Check once per size that the merge did its job: every context kept,
	// the new one added.
	for _, u := range units {
		if err := reset(u); err != nil {
			return nil, Stats{}, err
		}
		if _, err := timeCmd(command(env, kubeiam, args(u)...)); err != nil {
			return nil, Stats{}, err
		}
		if err := checkMerged(u.target, u.m.Contexts); err != nil {
			return nil, Stats{}, fmt.Errorf("merge into %d contexts: %w", u.m.Contexts, err)
		}
	}
	var startup []time.Duration
	rng := rand.New(rand.NewPCG(3, 0x6d657267))
	order := slices.Clone(units)
	order = append(order, nil) // nil: the start-up reference
	for range cfg.MergeRuns {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, u := range order {
			if err := ctx.Err(); err != nil {
				return nil, Stats{}, err
			}
			var cmd *exec.Cmd
			if u == nil {
				cmd = command(env, kubeiam, "version")
			} else {
				if err := reset(u); err != nil {
					return nil, Stats{}, err
				}
				cmd = command(env, kubeiam, args(u)...)
			}
			s, err := timeCmd(cmd)
			if err != nil {
				return nil, Stats{}, err
			}
			if u == nil {
				startup = append(startup, s.Wall)
			} else {
				u.m.wall = append(u.m.wall, s.Wall)
			}
		}
	}
	st := summarize(startup)
	var res []*MergeResult
	for _, u := range units {
		u.m.Wall = summarize(u.m.wall)
		u.m.PerCtxUS = (u.m.Wall.Median - st.Median) * 1000 / float64(u.m.Contexts)
		res = append(res, u.m)
	}
	return res, st, nil
}

// generateKubeconfig writes a kubeconfig of n clusters, users and contexts
// shaped like EKS Anywhere's: a CA blob per cluster and an exec user.
func generateKubeconfig(n int) []byte {
	blob := make([]byte, 1100) // about a real cluster CA certificate
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	caData := base64.StdEncoding.EncodeToString(blob)
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n")
	for i := range n {
		fmt.Fprintf(&b, "- cluster:\n    certificate-authority-data: %s\n    server: https://10.%d.%d.%d:6443\n  name: c%05d\n",
			caData, i>>16&255, i>>8&255, i&255, i)
	}
	b.WriteString("contexts:\n")
	for i := range n {
		fmt.Fprintf(&b, "- context:\n    cluster: c%05d\n    user: c%05d-aws\n  name: c%05d-aws\n", i, i, i)
	}
	b.WriteString("current-context: c00000-aws\npreferences: {}\nusers:\n")
	for i := range n {
		fmt.Fprintf(&b, "- name: c%05d-aws\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"+
			"      args:\n      - token\n      - -i\n      - c%05d\n      command: kubeiam\n      interactiveMode: Never\n      provideClusterInfo: false\n", i, i)
	}
	return []byte(b.String())
}

func checkMerged(path string, n int) error {
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
	if len(cfg.Contexts) != n+1 || len(cfg.Clusters) != n+1 || len(cfg.Users) != n+1 {
		return fmt.Errorf("merged file has %d clusters, %d contexts, %d users; want %d each",
			len(cfg.Clusters), len(cfg.Contexts), len(cfg.Users), n+1)
	}
	if !slices.ContainsFunc(cfg.Contexts, func(c struct{ Name string }) bool { return c.Name == "bench-new-aws" }) {
		return fmt.Errorf("merged file lacks context bench-new-aws")
	}
	return nil
}
