package bundle

import (
	"archive/tar"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func installOpts(t *testing.T, binDir string) InstallOptions {
	return InstallOptions{BinDir: binDir, StateDir: filepath.Join(t.TempDir(), "state"), SkipVersion: true}
}

func readFile(t *testing.T, f string) string {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstallTarball(t *testing.T) {
	s := newServer(t)
	tgz := authTarball(t, "#!/bin/sh\necho v0.6.28\n")
	sel := selection(ComponentAuthenticator, s.put("/a/aws-iam-authenticator-linux-amd64-v0.6.28.tar.gz", tgz), tgz)
	bin := t.TempDir()
	opts := installOpts(t, bin)
	res, err := Install(context.Background(), s.fetcher(t), sel, opts)
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(bin, "aws-iam-authenticator")
	if res.Path != dest || res.Skipped || res.Bytes != int64(len(tgz)) {
		t.Errorf("got %+v", res)
	}
	if got := readFile(t, dest); got != "#!/bin/sh\necho v0.6.28\n" {
		t.Errorf("installed %q", got)
	}
	fi, _ := os.Stat(dest)
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v", fi.Mode())
	}
	// Only the binary lands: no ATTRIBUTION.txt, no LICENSES, no temp files.
	if es := dirEntries(t, bin); strings.Join(es, ",") != "aws-iam-authenticator" {
		t.Errorf("bin dir holds %v", es)
	}

	// The same release again: nothing is downloaded.
	res, err = Install(context.Background(), s.fetcher(t), sel, opts)
	if err != nil || !res.Skipped {
		t.Fatalf("second install: %+v %v", res, err)
	}
	if n := s.count("/a/aws-iam-authenticator-linux-amd64-v0.6.28.tar.gz"); n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
	// A changed binary is not "the same", whatever the record says.
	os.WriteFile(dest, []byte("tampered"), 0o755)
	if res, err = Install(context.Background(), s.fetcher(t), sel, opts); err != nil || res.Skipped {
		t.Fatalf("after tampering: %+v %v", res, err)
	}
	// --force downloads even when identical.
	opts.Force = true
	if res, err = Install(context.Background(), s.fetcher(t), sel, opts); err != nil || res.Skipped {
		t.Fatalf("force: %+v %v", res, err)
	}
	if n := s.count("/a/aws-iam-authenticator-linux-amd64-v0.6.28.tar.gz"); n != 3 {
		t.Errorf("%d downloads, want 3", n)
	}
}

func TestInstallBareKubectl(t *testing.T) {
	s := newServer(t)
	body := []byte("#!/bin/sh\necho 'Client Version: v1.31.4-eks-1-31-12'\n")
	sel := selection(ComponentKubectl, s.put("/kubernetes/v1.31.4/bin/linux/amd64/kubectl", body), body)
	sel.OS, sel.Arch = runtime.GOOS, runtime.GOARCH
	bin := t.TempDir()
	opts := installOpts(t, bin)
	opts.SkipVersion = false
	res, err := Install(context.Background(), s.fetcher(t), sel, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(bin, "kubectl")); got != string(body) {
		t.Errorf("installed %q", got)
	}
	// `kubectl version --client` ran and its output is reported.
	if res.Version != "Client Version: v1.31.4-eks-1-31-12" || res.VersionErr != nil {
		t.Errorf("version %q, err %v", res.Version, res.VersionErr)
	}
	// A bare binary is identical when its published SHA-256 matches the file,
	// with no record needed.
	opts.StateDir = filepath.Join(t.TempDir(), "fresh-state")
	if res, err := Install(context.Background(), s.fetcher(t), sel, opts); err != nil || !res.Skipped {
		t.Errorf("second install: %+v %v", res, err)
	}
}

// Every way a download can go wrong leaves the previous binary as it was and
// no temporary file behind.
func TestInstallFailuresLeaveNothing(t *testing.T) {
	good := authTarball(t, "new")
	cases := map[string]struct {
		body    []byte
		tweak   func(*Selection)
		handler func(w http.ResponseWriter, r *http.Request, hit int) bool
		want    func(error) bool
	}{
		"sha256 mismatch": {body: good, tweak: func(s *Selection) { s.Asset.Archive.SHA256 = strings.Repeat("0", 64) },
			want: func(err error) bool { var c *ChecksumError; return errors.As(err, &c) && c.Algo == "sha256" }},
		"sha512 mismatch": {body: good, tweak: func(s *Selection) { s.Asset.Archive.SHA512 = strings.Repeat("ab", 64) },
			want: func(err error) bool { var c *ChecksumError; return errors.As(err, &c) && c.Algo == "sha512" }},
		"absolute path": {body: tarGz(t, entry{name: "/usr/local/bin/aws-iam-authenticator", body: "evil"}),
			want: unsafeEntry("an absolute path")},
		"dot dot": {body: tarGz(t, entry{name: "./LICENSES/../../.bashrc", body: "evil"}, entry{name: "./aws-iam-authenticator", body: "x"}),
			want: unsafeEntry("..")},
		"symlink": {body: tarGz(t, entry{name: "./aws-iam-authenticator", typeflag: tar.TypeSymlink, link: "/etc/passwd"}),
			want: unsafeEntry("a link")},
		"hard link": {body: tarGz(t, entry{name: "./x", body: "x"}, entry{name: "./aws-iam-authenticator", typeflag: tar.TypeLink, link: "./x"}),
			want: unsafeEntry("a link")},
		"device": {body: tarGz(t, entry{name: "./dev", typeflag: tar.TypeChar}),
			want: unsafeEntry("a device")},
		"no binary": {body: tarGz(t, entry{name: "./ATTRIBUTION.txt", body: "a"}),
			want: func(err error) bool { return errors.Is(err, errNoBinary) }},
		"html instead of tarball": {body: []byte("<html>proxy login</html>"),
			want: func(err error) bool { return strings.Contains(err.Error(), "not a gzip archive") }},
		"404": {body: nil, handler: func(w http.ResponseWriter, r *http.Request, _ int) bool { http.NotFound(w, r); return true },
			want: func(err error) bool { var h *HTTPError; return errors.As(err, &h) && h.Code == 404 }},
		"500 every time": {body: good, handler: func(w http.ResponseWriter, r *http.Request, _ int) bool {
			http.Error(w, "boom", 500)
			return true
		}, want: func(err error) bool { return strings.Contains(err.Error(), "gave up after 4 tries") }},
		"truncated every time": {body: good, handler: func(w http.ResponseWriter, r *http.Request, _ int) bool {
			w.Header().Set("Content-Length", strconv.Itoa(len(good)))
			w.Write(good[:len(good)/2])
			return true
		}, want: func(err error) bool { return strings.Contains(err.Error(), "gave up after 4 tries") }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := newServer(t)
			url := s.put("/a.tar.gz", tc.body)
			s.before = tc.handler
			sel := selection(ComponentAuthenticator, url, tc.body)
			if tc.tweak != nil {
				tc.tweak(sel)
			}
			bin := t.TempDir()
			dest := filepath.Join(bin, "aws-iam-authenticator")
			os.WriteFile(dest, []byte("previous"), 0o755)
			_, err := Install(context.Background(), s.fetcher(t), sel, installOpts(t, bin))
			if err == nil || !tc.want(err) {
				t.Fatalf("got %v", err)
			}
			if got := readFile(t, dest); got != "previous" {
				t.Errorf("previous binary now %q", got)
			}
			if es := dirEntries(t, bin); strings.Join(es, ",") != "aws-iam-authenticator" {
				t.Errorf("bin dir holds %v", es)
			}
		})
	}
}

func unsafeEntry(reason string) func(error) bool {
	return func(err error) bool {
		var u *UnsafeArchiveError
		return errors.As(err, &u) && strings.Contains(u.Reason, reason)
	}
}

func TestInstallRetriesTruncatedDownload(t *testing.T) {
	s := newServer(t)
	tgz := authTarball(t, "binary")
	url := s.put("/a.tar.gz", tgz)
	s.before = func(w http.ResponseWriter, r *http.Request, hit int) bool {
		switch hit {
		case 1:
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return true
		case 2:
			w.Header().Set("Content-Length", strconv.Itoa(len(tgz)))
			w.Write(tgz[:len(tgz)-10])
			return true
		}
		return false
	}
	bin := t.TempDir()
	if _, err := Install(context.Background(), s.fetcher(t), selection(ComponentAuthenticator, url, tgz), installOpts(t, bin)); err != nil {
		t.Fatal(err)
	}
	if s.count("/a.tar.gz") != 3 || readFile(t, filepath.Join(bin, "aws-iam-authenticator")) != "binary" {
		t.Errorf("%d requests", s.count("/a.tar.gz"))
	}
}

func TestInstallUnwritableBinDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	s := newServer(t)
	tgz := authTarball(t, "x")
	bin := t.TempDir()
	os.Chmod(bin, 0o555)
	t.Cleanup(func() { os.Chmod(bin, 0o755) })
	_, err := Install(context.Background(), s.fetcher(t), selection(ComponentAuthenticator, s.put("/a.tar.gz", tgz), tgz), installOpts(t, bin))
	if err == nil || !os.IsPermission(errors.Unwrap(err)) && !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("got %v", err)
	}
	if s.count("/a.tar.gz") != 0 {
		t.Error("downloaded before finding the directory unwritable")
	}
}

func TestInstallRefusesMissingChecksum(t *testing.T) {
	sel := selection(ComponentAuthenticator, "https://127.0.0.1:1/a.tar.gz", []byte("x"))
	sel.Asset.Archive.SHA512 = ""
	if _, err := Install(context.Background(), &Fetcher{}, sel, installOpts(t, t.TempDir())); err == nil || !strings.Contains(err.Error(), "no sha512") {
		t.Fatalf("got %v", err)
	}
}

// A real Go program, packed the way EKS-D packs aws-iam-authenticator, is
// installed from a manifest served over HTTPS and its `version` runs.
func TestInstallRealBinaryFromManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module fakeauth\n\ngo 1.21\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte(`package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println(`+"`"+`{"Version":"v0.6.28","Commit":"fixture"}`+"`"+`)
		return
	}
	os.Exit(2)
}
`), 0o644)
	exe := filepath.Join(src, "aws-iam-authenticator")
	build := exec.Command("go", "build", "-o", exe, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	binary, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	tgz := authTarball(t, string(binary))
	s := newServer(t)
	name := "aws-iam-authenticator-" + runtime.GOOS + "-" + runtime.GOARCH + "-v0.6.28.tar.gz"
	archiveURL := s.put("/kubernetes-1-31/releases/12/artifacts/aws-iam-authenticator/v0.6.28/"+name, tgz)
	s256, s512 := sums(tgz)
	manifest := `apiVersion: distro.eks.amazonaws.com/v1alpha1
kind: Release
metadata:
  name: kubernetes-1-31-eks-12
spec:
  channel: 1-31
  number: 12
status:
  components:
  - name: aws-iam-authenticator
    gitTag: v0.6.28
    assets:
    - name: ` + name + `
      type: Archive
      os: ` + runtime.GOOS + `
      arch: [` + runtime.GOARCH + `]
      archive:
        uri: ` + archiveURL + `
        sha256: ` + s256 + `
        sha512: ` + s512 + `
`
	manifestURL := s.put("/kubernetes-1-31/kubernetes-1-31-eks-12.yaml", []byte(manifest))
	f := s.fetcher(t)
	res, err := Resolve(context.Background(), f, Source{Manifest: manifestURL})
	if err != nil {
		t.Fatal(err)
	}
	sel, err := res.Release.Select(ComponentAuthenticator, runtime.GOOS, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "new", "bin") // created on the way
	opts := installOpts(t, bin)
	opts.SkipVersion = false
	out, err := Install(context.Background(), f, sel, opts)
	if err != nil {
		t.Fatal(err)
	}
	if out.Version != `{"Version":"v0.6.28","Commit":"fixture"}` {
		t.Errorf("version output %q (%v)", out.Version, out.VersionErr)
	}
}

// TestInstallShortcutNeedsBothDigests: the "already installed" shortcut
// trusts the record of the last install only when the manifest names the
// very archive it recorded, by SHA-256 and by SHA-512. A manifest that
// keeps the SHA-256 but changes the SHA-512 (a republished or tampered
// release) gets a download, whose check then fails: the installed binary
// stays, and nothing is reported as installed.
func TestInstallShortcutNeedsBothDigests(t *testing.T) {
	s := newServer(t)
	tgz := authTarball(t, "#!/bin/sh\necho v0.6.28\n")
	uri := s.put("/a/aws-iam-authenticator-linux-amd64-v0.6.28.tar.gz", tgz)
	sel := selection(ComponentAuthenticator, uri, tgz)
	bin := t.TempDir()
	opts := installOpts(t, bin)
	if _, err := Install(context.Background(), s.fetcher(t), sel, opts); err != nil {
		t.Fatal(err)
	}
	other := *sel
	archive := *sel.Asset.Archive
	archive.SHA512 = strings.Repeat("ab", 64)
	other.Asset.Archive = &archive
	res, err := Install(context.Background(), s.fetcher(t), &other, opts)
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Algo != "sha512" {
		t.Fatalf("install with another SHA-512: %+v %v, want a download failing its sha512 check", res, err)
	}
	if n := s.count("/a/aws-iam-authenticator-linux-amd64-v0.6.28.tar.gz"); n < 2 {
		t.Errorf("%d downloads: the record was trusted though the manifest's SHA-512 changed", n)
	}
	if got := readFile(t, filepath.Join(bin, "aws-iam-authenticator")); got != "#!/bin/sh\necho v0.6.28\n" {
		t.Errorf("installed binary changed: %q", got)
	}
	// The SHA-256 alike: the same check on the other digest.
	archive = *sel.Asset.Archive
	archive.SHA256 = strings.Repeat("cd", 32)
	other.Asset.Archive = &archive
	if _, err := Install(context.Background(), s.fetcher(t), &other, opts); !errors.As(err, &ce) || ce.Algo != "sha256" {
		t.Fatalf("install with another SHA-256: %v, want a download failing its sha256 check", err)
	}
	// And the release as recorded is still skipped.
	if res, err := Install(context.Background(), s.fetcher(t), sel, opts); err != nil || !res.Skipped {
		t.Fatalf("the recorded release again: %+v %v", res, err)
	}
}
