package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// BundleResult is the download-and-verify comparison. kubeiam's side needs
// the `bundle install` verb; until it exists only the baseline is measured,
// so the target can be checked the day it lands.
type BundleResult struct {
	Present     bool    `json:"bundle_verb_present"`
	Note        string  `json:"note"`
	ArchiveMB   int     `json:"archive_mb"`
	Curl        Stats   `json:"curl_sha256sum_wall"`
	CurlMBps    float64 `json:"curl_sha256sum_mb_per_s"`
	CurlRSSMB   float64 `json:"curl_sha256sum_peak_rss_mb"`
	Kubeiam     Stats   `json:"kubeiam_wall,omitzero"`
	KubeiamMBps float64 `json:"kubeiam_mb_per_s,omitzero"`
	KubeiamRSS  float64 `json:"kubeiam_peak_rss_mb,omitzero"`
}

// hasBundleVerb asks kubeiam-core whether it knows `bundle install`.
func hasBundleVerb(bin string) bool {
	out, err := exec.Command(filepath.Join(bin, "kubeiam-core"), "bundle", "install", "--help").CombinedOutput()
	return err == nil && strings.Contains(string(out), "install")
}

func bundleBaseline(ctx context.Context, cfg *config, e *env) (*BundleResult, error) {
	res := &BundleResult{ArchiveMB: cfg.BundleMB, Present: hasBundleVerb(cfg.Bin)}
	if res.Present {
		res.Note = "bundle install exists but the harness does not drive it yet: add it beside the baseline"
	} else {
		res.Note = "kubeiam bundle install does not exist yet; only the baseline is measured"
	}
	dir, err := e.freshDir("bundle")
	if err != nil {
		return nil, err
	}
	archive := filepath.Join(dir, "archive.tar.gz")
	sum, err := randomFile(archive, int64(cfg.BundleMB)<<20)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, archive)
	}))
	defer srv.Close()
	var walls []time.Duration
	var rss int64
	rssFile := filepath.Join(dir, "rss")
	for range cfg.BundleRuns {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// set -o pipefail is not POSIX sh; a failed curl shows as a wrong sum.
		s, err := timeCmd(peakRSS(e.with(), rssFile, "sh", "-c", "curl -s "+srv.URL+"/archive.tar.gz | sha256sum"))
		if err != nil {
			return nil, err
		}
		if b, err := os.ReadFile(rssFile); err == nil {
			if kb, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
				rss = max(rss, kb*1024)
			}
		}
		if got, _, _ := strings.Cut(string(s.Stdout), " "); got != sum {
			return nil, fmt.Errorf("curl | sha256sum gave %q, want %s", got, sum)
		}
		walls = append(walls, s.Wall)
	}
	res.Curl = summarize(walls)
	res.CurlMBps = float64(cfg.BundleMB) / (res.Curl.Median / 1000)
	res.CurlRSSMB = float64(rss) / (1 << 20)
	return res, nil
}

// peakRSS wraps a command in GNU time to read its peak RSS. The rusage
// of a child of this harness is no good for that: Go starts children with
// vfork semantics, and Linux charges the parent's resident set at the
// child's exec to the child's ru_maxrss, so every child would seem to be at
// least as large as the harness. A child of time(1) starts from a small
// process instead.
func peakRSS(env []string, out string, name string, args ...string) *exec.Cmd {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return command(env, name, args...)
	}
	return command(env, "/usr/bin/time", append([]string{"-f", "%M", "-o", out, name}, args...)...)
}

// randomFile writes size random bytes (incompressible, like a release
// archive) and returns their SHA-256.
func randomFile(path string, size int64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
