package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
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

// BundleResult is the download-and-verify comparison. Without the `bundle
// install` verb (older trees) only the baseline is measured.
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
	return err == nil && strings.Contains(string(out), "--bin-dir")
}

// The release kubeiam installs from: EKS-D's layout for a bare kubectl,
// served from loopback through --mirror.
const (
	distro     = "https://distro.eks.amazonaws.com"
	kubectlURI = "/kubernetes-1-31/releases/12/artifacts/kubernetes/v1.31.4/bin/linux/amd64/kubectl"
)

// bundleInstall compares `kubeiam bundle install` of a cfg.BundleMB archive
// (EKS-D's kubectl asset, a bare binary: download, SHA-256 and SHA-512 while
// it streams, atomic install, run its version) with `curl -s URL |
// sha256sum` of the same bytes from the same loopback server, interleaved.
func bundleInstall(ctx context.Context, cfg *config, e *env) (*BundleResult, error) {
	res := &BundleResult{ArchiveMB: cfg.BundleMB, Present: hasBundleVerb(cfg.Bin)}
	if !res.Present {
		res.Note = "kubeiam bundle install does not exist yet; only the baseline is measured"
	}
	dir, err := e.freshDir("bundle")
	if err != nil {
		return nil, err
	}
	archive := filepath.Join(dir, "kubectl")
	sum256, sum512, err := payload(archive, int64(cfg.BundleMB)<<20)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, archive)
	}))
	defer srv.Close()
	manifest := filepath.Join(dir, "release.yaml")
	if err := os.WriteFile(manifest, []byte(releaseManifest(sum256, sum512)), 0o644); err != nil {
		return nil, err
	}
	binDir := filepath.Join(dir, "bin")
	rssFile := filepath.Join(dir, "rss")
	env := e.with("XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "XDG_STATE_HOME="+filepath.Join(dir, "state"))
	curl := func() *exec.Cmd {
		// set -o pipefail is not POSIX sh; a failed curl shows as a wrong sum.
		return peakRSS(env, rssFile, "sh", "-c", "curl -s "+srv.URL+kubectlURI+" | sha256sum")
	}
	install := func() *exec.Cmd {
		return peakRSS(env, rssFile, filepath.Join(cfg.Bin, "kubeiam"), "bundle", "install", "--manifest", manifest,
			"--component", "kubectl", "--os", "linux", "--arch", "amd64", "--bin-dir", binDir,
			"--mirror", distro+"="+srv.URL, "--allow-insecure-http", "--force")
	}
	if res.Present {
		// Checked once: installed, and the file is the archive.
		s, err := timeCmd(install())
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(string(s.Stdout), "installed ") {
			return nil, fmt.Errorf("bundle install printed %q", firstLine(string(s.Stdout)))
		}
		if got, err := fileSHA256(filepath.Join(binDir, "kubectl")); err != nil || got != sum256 {
			return nil, fmt.Errorf("bundle install left a kubectl that is not the archive (%v)", err)
		}
	}
	var curlWall, kWall []time.Duration
	var curlRSS, kRSS int64
	for i := range cfg.BundleRuns {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for j := range 2 {
			isCurl := (i+j)%2 == 0 // alternate which goes first
			if !isCurl && !res.Present {
				continue
			}
			cmd := install()
			if isCurl {
				cmd = curl()
			}
			s, err := timeCmd(cmd)
			if err != nil {
				return nil, err
			}
			rss := readRSS(rssFile)
			if isCurl {
				if got, _, _ := strings.Cut(string(s.Stdout), " "); got != sum256 {
					return nil, fmt.Errorf("curl | sha256sum gave %q, want %s", got, sum256)
				}
				curlWall, curlRSS = append(curlWall, s.Wall), max(curlRSS, rss)
			} else {
				kWall, kRSS = append(kWall, s.Wall), max(kRSS, rss)
			}
		}
	}
	mb := float64(cfg.BundleMB)
	res.Curl = summarize(curlWall)
	res.CurlMBps = mb / (res.Curl.Median / 1000)
	res.CurlRSSMB = float64(curlRSS) / (1 << 20)
	if res.Present {
		res.Kubeiam = summarize(kWall)
		res.KubeiamMBps = mb / (res.Kubeiam.Median / 1000)
		res.KubeiamRSS = float64(kRSS) / (1 << 20)
	}
	return res, nil
}

func readRSS(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// time(1) writes the exit status line first when the command fails.
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	kb, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil {
		return 0
	}
	return kb * 1024
}

func releaseManifest(sum256, sum512 string) string {
	return `apiVersion: distro.eks.amazonaws.com/v1alpha1
kind: Release
metadata:
  name: kubernetes-1-31-eks-12
spec:
  channel: 1-31
  number: 12
status:
  components:
  - assets:
    - arch:
      - amd64
      archive:
        sha256: ` + sum256 + `
        sha512: ` + sum512 + `
        uri: ` + distro + kubectlURI + `
      description: kubectl binary for linux/amd64
      name: bin/linux/amd64/kubectl
      os: linux
      type: Archive
    gitTag: v1.31.4
    name: kubernetes
`
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

// payload writes the archive: a shell script that answers `version
// --client` as kubectl does (bundle install runs it) and exits before the
// padding, then random bytes up to size (incompressible, like a release
// binary). It returns the SHA-256 and SHA-512 the manifest publishes.
func payload(path string, size int64) (string, string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", "", err
	}
	h256, h512 := sha256.New(), sha512.New()
	w := io.MultiWriter(f, h256, h512)
	head := "#!/bin/sh\necho 'Client Version: v1.31.4-eks-1-31-12'\nexit 0\n"
	if _, err := io.WriteString(w, head); err != nil {
		f.Close()
		return "", "", err
	}
	if _, err := io.CopyN(w, rand.Reader, size-int64(len(head))); err != nil {
		f.Close()
		return "", "", err
	}
	if err := f.Close(); err != nil {
		return "", "", err
	}
	return hex.EncodeToString(h256.Sum(nil)), hex.EncodeToString(h512.Sum(nil)), nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
