package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Results is everything one run measured; bench/results.json is this.
type Results struct {
	Machine  Machine          `json:"machine"`
	Quick    bool             `json:"quick"`
	Version  string           `json:"kubeiam_version"`
	Subjects []SubjectResult  `json:"subjects"`
	Skipped  []string         `json:"skipped,omitempty"`
	Herds    []*HerdResult    `json:"herds"`
	Merge    []*MergeResult   `json:"merge"`
	Startup  Stats            `json:"core_startup"` // `kubeiam version`, beside the merges
	LockHold *HoldResult      `json:"lock_hold"`
	Kubectl  string           `json:"kubectl,omitempty"`
	Bundle   *BundleResult    `json:"bundle"`
	DeadNet  *DeadNetResult   `json:"dead_network"`
	SSOSync  *SSOSyncResult   `json:"sso_sync"`
	Init     []*InitResult    `json:"init"`
	Migrate  *MigrateBench    `json:"eks_migrate"`
	Targets  []Target         `json:"targets"`
	Broken   []string         `json:"broken,omitempty"`
	byKey    map[string]Stats // medians of the process subjects
}

// SubjectResult is one process subject's timings.
type SubjectResult struct {
	Key      string  `json:"key"`
	Label    string  `json:"label"`
	Command  string  `json:"command"`
	Note     string  `json:"note,omitempty"`
	Wall     Stats   `json:"wall"`
	CPU      Stats   `json:"cpu"`
	Ratio    float64 `json:"ratio_to_floor"`
	Failures int     `json:"failed_runs"`
	Broken   string  `json:"broken,omitempty"`
}

func run(ctx context.Context, cfg *config) (*Results, error) {
	log := cfg.Log
	res := &Results{Machine: machine(), Quick: cfg.Quick, byKey: map[string]Stats{}}
	res.Version = strings.Join(strings.Fields(output(filepath.Join(cfg.Bin, "kubeiam-core"), "version")), " ")
	dir, err := os.MkdirTemp("", "kubeiam-bench-")
	if err != nil {
		return nil, err
	}
	if cfg.Keep {
		log("scratch directory (kept): %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	log("building the floor and the keyring probe")
	floor, err := buildFloor(dir)
	if err != nil {
		return nil, err
	}
	r, err := startRig(dir)
	if err != nil {
		return nil, err
	}
	defer r.close()
	e, err := newEnv(dir, r)
	if err != nil {
		return nil, err
	}
	if cfg.SSOSyncOnly {
		res.SSOSync, err = ssoSync(ctx, cfg, e, r)
		if err != nil {
			return nil, err
		}
		for _, t := range ssoSyncTargets(res) {
			fmt.Fprintf(cfg.Out, "%-4s %s: %s\n", t.Status, t.Name, t.Measured)
		}
		return res, nil
	}
	v := r.verifier(e, cfg.Bin)

	var kr *keyringSession
	var probe string
	if cfg.Keyring {
		if probe, err = buildProbe(cfg.Root, dir); err != nil {
			return nil, err
		}
		if kr, err = startKeyring(dir); err != nil {
			res.Skipped = append(res.Skipped, "Secret Service: "+err.Error())
			kr = nil
		} else {
			defer kr.close()
		}
	}

	if cfg.only("deadnet") {
		log("kubeiam token against a blackholed STS (default settings)")
		if res.DeadNet, err = deadNet(ctx, cfg, e, r); err != nil {
			return nil, err
		}
	}
	if cfg.Only != "" {
		// Only the targets of what ran.
		for _, t := range targets(res) {
			if t.Measured != "not measured" {
				res.Targets = append(res.Targets, t)
			}
		}
		fmt.Fprint(cfg.Out, renderMarkdown(res, renderTable(res)))
		return res, nil
	}

	subjects, skipped, err := processSubjects(cfg, e, r, v, floor, probe, kr)
	if err != nil {
		return nil, err
	}
	res.Skipped = append(res.Skipped, skipped...)
	log("checking every subject's output once")
	for _, s := range subjects {
		sanity(s)
		if s.broken != nil {
			log("  BROKEN %s: %v", s.Label, s.broken)
			res.Broken = append(res.Broken, s.Label)
		}
	}

	log("timing %d subjects, %d rounds, interleaved", len(subjects), cfg.Rounds)
	start := time.Now()
	err = roundRobin(ctx, subjects, cfg.Rounds, uint64(start.UnixNano()), func(round int) {
		if round%10 == 0 || round == cfg.Rounds {
			log("  round %d/%d (%s)", round, cfg.Rounds, time.Since(start).Round(time.Second))
		}
	})
	if err != nil {
		return nil, err
	}
	for _, s := range subjects {
		sr := SubjectResult{Key: s.Key, Label: s.Label, Command: commandLine(s), Note: s.note, Wall: summarize(s.wall), CPU: summarize(s.cpu), Failures: s.failures}
		if s.broken != nil {
			sr.Broken = s.broken.Error()
		}
		if s.failures > 0 {
			log("  %s: %d failed runs, last: %v", s.Label, s.failures, s.lastErr)
		}
		res.byKey[s.Key] = sr.Wall
		res.Subjects = append(res.Subjects, sr)
	}
	if fl := res.byKey[kFloor].Median; fl > 0 {
		for i := range res.Subjects {
			res.Subjects[i].Ratio = res.Subjects[i].Wall.Median / fl
		}
	}

	log("herds of %v concurrent cold calls, %d trials each", cfg.HerdSizes, cfg.HerdTrials)
	if res.Herds, err = herds(ctx, cfg, e, r, v, floor); err != nil {
		return nil, err
	}
	log("kubeconfig merges into %v contexts", cfg.MergeSizes)
	if res.Merge, res.Startup, err = merges(ctx, cfg, e, r); err != nil {
		return nil, err
	}
	log("kubeconfig lock hold time, merging into %d contexts", holdContexts)
	if res.LockHold, err = lockHold(ctx, cfg, e, r); err != nil {
		return nil, err
	}
	log("SSO profile sync + kubeconfig discover --sso-session: %d accounts, portal at 20/s, 50 ms a call", syncAccounts)
	if res.SSOSync, err = ssoSync(ctx, cfg, e, r); err != nil {
		return nil, err
	}
	if p, err := exec.LookPath("kubectl"); err == nil {
		v, _, _ := strings.Cut(output(p, "version", "--client"), "\n")
		res.Kubectl = p + " (" + v + ")"
	}
	log("mappings migrate of %d aws-auth entries against the EKS stand-in", cfg.MigrateEntries)
	if res.Migrate, err = migrateBench(ctx, cfg.MigrateEntries, log); err != nil {
		return nil, err
	}
	log("bundle install of a %d MB archive vs curl | sha256sum", cfg.BundleMB)
	if res.Bundle, err = bundleInstall(ctx, cfg, e); err != nil {
		return nil, err
	}
	log("package init times (GODEBUG=inittrace=1)")
	var hit *exec.Cmd
	for _, s := range subjects {
		if s.Key == kCachedFile && s.broken == nil {
			hit, _ = s.cmd()
		}
	}
	if res.Init, err = initTimes(ctx, cfg, e, hit, floor); err != nil {
		return nil, err
	}
	res.Machine.LoadTo = loadAvg()
	res.Targets = targets(res)

	table := renderTable(res)
	fmt.Fprint(cfg.Out, table)
	if cfg.MD != "" {
		if err := writeFile(cfg.MD, []byte(renderMarkdown(res, table))); err != nil {
			return nil, err
		}
		log("wrote %s", cfg.MD)
	}
	if cfg.JSON != "" {
		if err := writeJSON(cfg.JSON, res); err != nil {
			return nil, err
		}
		log("wrote %s", cfg.JSON)
	}
	return res, nil
}

// commandLine is what a subject runs, with programs by base name.
func commandLine(s *subject) string {
	cmd, err := s.cmd()
	if err != nil {
		return ""
	}
	return strings.Join(append([]string{filepath.Base(cmd.Path)}, cmd.Args[1:]...), " ")
}
