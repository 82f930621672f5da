package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

// DeadNetResult is `kubeiam token` against an STS that accepts connections
// and never answers (a blackhole), with default settings: how long a cold
// call takes to give up, how long a call takes to serve a cached token that
// is still valid but due for renewal, and a normal cached hit of the same
// entry for scale.
type DeadNetResult struct {
	GiveUp  Stats  `json:"give_up"`
	Stale   Stats  `json:"stale_served"`
	Cached  Stats  `json:"cached_hit"`
	Message string `json:"give_up_message"`
	Warning string `json:"stale_warning"`
}

func deadNet(ctx context.Context, cfg *config, e *env, r *rig) (*DeadNetResult, error) {
	kubeiam := filepath.Join(cfg.Bin, "kubeiam")
	giveUps, stales, hits := 3, 5, 21
	if cfg.Quick {
		giveUps, stales, hits = 1, 2, 3
	}
	sts, err := ststest.NewFaulty(ststest.Pass, nil, r.sts, 0)
	if err != nil {
		return nil, err
	}
	defer sts.Close()
	home, err := e.freshDir("deadnet")
	if err != nil {
		return nil, err
	}
	// A role with 15-minute sessions: its credentials are due for renewal
	// with the token, so a renewal needs STS.
	cfgFile := filepath.Join(home, "config")
	credFile := filepath.Join(home, "credentials")
	if err := os.WriteFile(cfgFile, []byte("[profile ar]\nrole_arn = "+roleARN+"\nsource_profile = base\nduration_seconds = 900\nregion = "+region+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(credFile, []byte("[base]\naws_access_key_id = "+r.alice.AccessKeyID+"\naws_secret_access_key = "+r.alice.SecretAccessKey+"\n"), 0o600); err != nil {
		return nil, err
	}
	args := []string{"token", "-i", "bench", "--profile", "ar"}
	envFor := func(cache string, extra ...string) []string {
		return e.with(append([]string{"AWS_CONFIG_FILE=" + cfgFile, "AWS_SHARED_CREDENTIALS_FILE=" + credFile,
			"AWS_ENDPOINT_URL_STS=" + sts.URL, "KUBEIAM_CACHE=file", "XDG_CACHE_HOME=" + cache}, extra...)...)
	}
	runOnce := func(env []string) (time.Duration, string, string, error) {
		cmd := exec.CommandContext(ctx, kubeiam, args...)
		cmd.Env = env
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		start := time.Now()
		err := cmd.Run()
		return time.Since(start), out.String(), errOut.String(), err
	}
	res := &DeadNetResult{}

	var give []time.Duration
	for range giveUps {
		cache, err := e.freshDir("deadnet-cold")
		if err != nil {
			return nil, err
		}
		sts.SetFault(ststest.Hang)
		d, out, errOut, err := runOnce(envFor(cache))
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || out != "" {
			return nil, fmt.Errorf("blackholed STS: want exit 1 and no output, got %v, stdout %q, stderr %q", err, out, errOut)
		}
		res.Message = firstLine(errOut)
		give = append(give, d)
	}
	res.GiveUp = summarize(give)

	cache, err := e.freshDir("deadnet-warm")
	if err != nil {
		return nil, err
	}
	sts.SetFault(ststest.Pass)
	if _, _, errOut, err := runOnce(envFor(cache)); err != nil {
		return nil, fmt.Errorf("filling the cache: %v: %s", err, errOut)
	}
	var hit []time.Duration
	for range hits {
		d, out, errOut, err := runOnce(envFor(cache))
		if err != nil || !strings.Contains(out, "k8s-aws-v1.") {
			return nil, fmt.Errorf("cached hit: %v: %s", err, errOut)
		}
		hit = append(hit, d)
	}
	res.Cached = summarize(hit)

	sts.SetFault(ststest.Hang)
	var stale []time.Duration
	for range stales {
		d, out, errOut, err := runOnce(envFor(cache, "KUBEIAM_CACHE_MIN_REMAINING=14m"))
		if err != nil || !strings.Contains(out, "k8s-aws-v1.") {
			return nil, fmt.Errorf("stale token while STS hangs: %v: %s", err, errOut)
		}
		if errOut != "" {
			res.Warning = firstLine(errOut)
		}
		stale = append(stale, d)
	}
	res.Stale = summarize(stale)
	return res, nil
}
