package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// InitResult is one binary's package initialisation as GODEBUG=inittrace=1
// reports it: the sum of every package's init clock time, and the packages
// that cost the most (medians over runs).
type InitResult struct {
	Binary    string       `json:"binary"`
	Command   string       `json:"command"`
	SizeBytes int64        `json:"size_bytes"`
	Packages  int          `json:"packages_with_init"`
	Total     Stats        `json:"init_total"`
	Top       []PackageCPU `json:"top"`
	// ByModule sums the package medians per module (std for the standard
	// library), to show which dependency the init time comes with.
	ByModule []PackageCPU `json:"by_module"`
}

// PackageCPU is one package's median init time.
type PackageCPU struct {
	Package string  `json:"package"`
	MS      float64 `json:"median_ms"`
}

// initTimes runs the floor, the front on a cache hit, hit (it execs
// nothing then, so the trace is the front's alone), and kubeiam-core's
// `version`, interleaved.
func initTimes(ctx context.Context, cfg *config, e *env, hit *exec.Cmd, floor string) ([]*InitResult, error) {
	if hit == nil {
		return nil, errors.New("no cache-hit command to trace the front with")
	}
	front := filepath.Join(cfg.Bin, "kubeiam")
	core := filepath.Join(cfg.Bin, "kubeiam-core")
	type unit struct {
		res    *InitResult
		bin    string
		args   []string
		env    []string
		totals []time.Duration
		perPkg map[string][]time.Duration
	}
	units := []*unit{
		{res: &InitResult{Binary: "floor", Command: "floor"}, bin: floor, env: e.with("GODEBUG=inittrace=1")},
		{res: &InitResult{Binary: "kubeiam (front)", Command: "kubeiam " + strings.Join(hit.Args[1:], " ") + " (cache hit)"}, bin: front,
			args: hit.Args[1:], env: append(slices.Clone(hit.Env), "GODEBUG=inittrace=1")},
		{res: &InitResult{Binary: "kubeiam-core", Command: "kubeiam-core version"}, bin: core,
			args: []string{"version"}, env: e.with("GODEBUG=inittrace=1")},
	}
	for _, u := range units {
		fi, err := os.Stat(u.bin)
		if err != nil {
			return nil, err
		}
		u.res.SizeBytes = fi.Size()
		u.perPkg = map[string][]time.Duration{}
	}
	for i := range cfg.InitRuns {
		for j := range units {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			u := units[(i+j)%len(units)] // alternate which goes first
			s, err := timeCmd(command(u.env, u.bin, u.args...))
			if err != nil {
				return nil, err
			}
			if u.bin == front {
				if _, err := tokenOf(s.Stdout); err != nil {
					return nil, fmt.Errorf("front on a cache hit: %w", err)
				}
			}
			pkgs := parseInitTrace(s.Stderr)
			var total time.Duration
			for p, d := range pkgs {
				total += d
				u.perPkg[p] = append(u.perPkg[p], d)
			}
			u.totals = append(u.totals, total)
			u.res.Packages = len(pkgs)
		}
	}
	var res []*InitResult
	for _, u := range units {
		u.res.Total = summarize(u.totals)
		for p, ds := range u.perPkg {
			u.res.Top = append(u.res.Top, PackageCPU{Package: p, MS: summarize(ds).Median})
		}
		byCost(u.res.Top)
		mods := map[string]float64{}
		for _, p := range u.res.Top {
			mods[moduleOf(p.Package)] += p.MS
		}
		for m, ms := range mods {
			u.res.ByModule = append(u.res.ByModule, PackageCPU{Package: m, MS: ms})
		}
		byCost(u.res.ByModule)
		u.res.Top = u.res.Top[:min(8, len(u.res.Top))]
		res = append(res, u.res)
	}
	return res, nil
}

// parseInitTrace reads lines like
//
//	init k8s.io/client-go/kubernetes/scheme @4.1 ms, 1.2 ms clock, 345 bytes, 6 allocs
//
// into each package's clock time.
func parseInitTrace(stderr []byte) map[string]time.Duration {
	out := map[string]time.Duration{}
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// init PKG @T ms, C ms clock, ...
		if len(f) < 7 || f[0] != "init" || f[5] != "ms" || !strings.HasPrefix(f[6], "clock") {
			continue
		}
		ms, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			continue
		}
		out[f[1]] += time.Duration(ms * float64(time.Millisecond))
	}
	return out
}

func byCost(ps []PackageCPU) {
	slices.SortFunc(ps, func(a, b PackageCPU) int {
		if a.MS != b.MS {
			if a.MS > b.MS {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Package, b.Package)
	})
}

// moduleOf approximates a package's module from its path: the standard
// library has no dot in its first element; github.com and golang.org take
// two more elements, other hosts (k8s.io, sigs.k8s.io) one.
func moduleOf(pkg string) string {
	parts := strings.Split(pkg, "/")
	switch {
	case !strings.Contains(parts[0], "."):
		return "std"
	case parts[0] == "github.com" || parts[0] == "golang.org":
		return strings.Join(parts[:min(3, len(parts))], "/")
	default:
		return strings.Join(parts[:min(2, len(parts))], "/")
	}
}
