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
	for range cfg.BundleRuns {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// set -o pipefail is not POSIX sh; a failed curl shows as a wrong sum.
		s, err := timeCmd(command(e.with(), "sh", "-c", "curl -s "+srv.URL+"/archive.tar.gz | sha256sum"))
		if err != nil {
			return nil, err
		}
		if got, _, _ := strings.Cut(string(s.Stdout), " "); got != sum {
			return nil, fmt.Errorf("curl | sha256sum gave %q, want %s", got, sum)
		}
		walls = append(walls, s.Wall)
		rss = max(rss, s.MaxRSS)
	}
	res.Curl = summarize(walls)
	res.CurlMBps = float64(cfg.BundleMB) / (res.Curl.Median / 1000)
	res.CurlRSSMB = float64(rss) / (1 << 20)
	return res, nil
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
