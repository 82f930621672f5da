package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// HerdResult is N kubectl processes started at once on an empty cache, all
// for the same cluster and role: how many AssumeRole calls reach STS and how
// long until the last one has its token. N = 1 is the reference: one cold
// call.
type HerdResult struct {
	N           int     `json:"n"`
	AssumeRoles []int   `json:"assume_role_calls"` // per trial
	Wall        Stats   `json:"wall"`
	RatioToOne  float64 `json:"ratio_to_one_cold_call"`
	// Floor is N floor processes started the same way: what N process
	// starts alone cost on this machine, the bound no herd can beat.
	Floor Stats `json:"floor_wall"`
	// Hits is N cached calls started the same way right after, on the cache
	// the herd filled: what N front processes alone cost, without the
	// refresh. A herd cannot beat it either.
	Hits      Stats `json:"hits_wall"`
	wall      []time.Duration
	floorWall []time.Duration
	hitsWall  []time.Duration
}

// herds runs the herd sizes and the single cold call round-robin, trials
// times each, every trial on a fresh file cache.
func herds(ctx context.Context, cfg *config, e *env, r *rig, v *verifier, floor string) ([]*HerdResult, error) {
	kubeiam := filepath.Join(cfg.Bin, "kubeiam")
	sizes := append([]int{1}, cfg.HerdSizes...)
	res := make([]*HerdResult, len(sizes))
	for i, n := range sizes {
		res[i] = &HerdResult{N: n}
	}
	rng := rand.New(rand.NewPCG(2, 0x68657264))
	order := slices.Clone(res)
	for t := range cfg.HerdTrials {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, h := range order {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			dir, err := e.freshDir("herd")
			if err != nil {
				return nil, err
			}
			env := e.with("KUBEIAM_CACHE=file", "XDG_CACHE_HOME="+dir, "AWS_ENDPOINT_URL_STS="+r.http.URL)
			// The floor herd runs right before, so both see the same load.
			fw, _, err := herd(h.N, func() *exec.Cmd { return command(e.with(), floor) })
			if err != nil {
				return nil, fmt.Errorf("floor herd of %d: %w", h.N, err)
			}
			h.floorWall = append(h.floorWall, fw)
			r.sts.ResetCounts()
			wall, outs, err := herd(h.N, func() *exec.Cmd {
				return command(env, kubeiam, "token", "-i", clusterID, "-r", roleARN, "-s", session, "--token-only")
			})
			if err != nil {
				return nil, fmt.Errorf("herd of %d: %w", h.N, err)
			}
			h.AssumeRoles = append(h.AssumeRoles, r.sts.Count("AssumeRole"))
			h.wall = append(h.wall, wall)
			hw, _, err := herd(h.N, func() *exec.Cmd {
				return command(env, kubeiam, "token", "-i", clusterID, "-r", roleARN, "-s", session, "--token-only")
			})
			if err != nil {
				return nil, fmt.Errorf("hits herd of %d: %w", h.N, err)
			}
			h.hitsWall = append(h.hitsWall, hw)
			// Every process must print the same, valid token; checked on
			// the first trial (verification is slow next to a token call).
			for i, out := range outs {
				if !bytes.Equal(out, outs[0]) {
					return nil, fmt.Errorf("herd of %d: process %d printed another token", h.N, i)
				}
			}
			if t == 0 {
				if err := v.expectCaller(roleSessionARN())(sample{Stdout: outs[0]}); err != nil {
					return nil, fmt.Errorf("herd of %d: %w", h.N, err)
				}
			}
		}
		cfg.Log("  herd trial %d/%d done", t+1, cfg.HerdTrials)
	}
	for _, h := range res {
		h.Wall = summarize(h.wall)
		h.Floor = summarize(h.floorWall)
		h.Hits = summarize(h.hitsWall)
	}
	for _, h := range res {
		if res[0].Wall.Median > 0 {
			h.RatioToOne = h.Wall.Median / res[0].Wall.Median
		}
	}
	return res, nil
}

// herd starts n processes as close together as Go can fork them and waits
// for all; the wall time runs from the first fork to the last exit.
func herd(n int, newCmd func() *exec.Cmd) (time.Duration, [][]byte, error) {
	cmds := make([]*exec.Cmd, n)
	outs := make([]bytes.Buffer, n)
	errOuts := make([]bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = newCmd()
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &errOuts[i]
	}
	start := time.Now()
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			for _, started := range cmds[:i] {
				_ = started.Wait()
			}
			return 0, nil, err
		}
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Go(func() { errs[i] = c.Wait() })
	}
	wg.Wait()
	wall := time.Since(start)
	res := make([][]byte, n)
	for i, err := range errs {
		if err != nil {
			return 0, nil, fmt.Errorf("process %d: %v: %s", i, err, firstLine(errOuts[i].String()))
		}
		res[i] = bytes.TrimSpace(outs[i].Bytes())
	}
	return wall, res, nil
}
