package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// The install routes the README documents, each run with its real
// installer: `go install` of the one command that installs both binaries,
// and krew installing the release archive with plugins/iam.yaml. They build
// kubeiam from scratch and need go, git, kubectl and krew, so they run with
// KUBEIAM_TEST_PEERS=1 (CI sets it), and then a missing part fails them.

const (
	modulePath = "github.com/kubeiam/kubeiam"
	// installCommand is the README's, the installHint's and doctor's.
	installCommand = modulePath + "/cmd/...@latest"
)

func requireInstallRoutes(t *testing.T) {
	t.Helper()
	if testing.Short() || os.Getenv("KUBEIAM_TEST_PEERS") != "1" {
		t.Skip("builds and installs kubeiam with its real installers: set KUBEIAM_TEST_PEERS=1")
	}
}

// TestDocsGiveOneInstallCommand: every place that tells a user how to
// install kubeiam gives the command that installs both binaries, and none
// gives the one that installs the front alone ("could not find kubeiam-core").
func TestDocsGiveOneInstallCommand(t *testing.T) {
	places := map[string]bool{
		"README.md": false, "docs/doctor.md": false, "docs/packaging.md": false,
		"kubeconfig/write.go": false, "internal/cmd/doctor/checks.go": false, "internal/front/delegate.go": false,
	}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == ".git" || d.Name() == "e2e") {
			if err == nil {
				err = filepath.SkipDir
			}
			return err
		}
		ext := filepath.Ext(path)
		if d.IsDir() || (ext != ".md" && ext != ".go" && ext != ".txtar" && ext != ".yaml") || strings.HasSuffix(path, "install_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if strings.Contains(string(b), "go install "+modulePath+"/cmd/kubeiam@") {
			t.Errorf("%s installs only the front: use go install %s", rel, installCommand)
		}
		if _, ok := places[rel]; ok {
			places[rel] = strings.Contains(string(b), "go install "+installCommand)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, ok := range places {
		if !ok {
			t.Errorf("%s does not give go install %s", p, installCommand)
		}
	}
}

// TestGoInstall runs the README's command, `go install
// github.com/kubeiam/kubeiam/cmd/...@latest`, into an empty GOBIN. The
// module is not published, so this checkout is served at a pseudo-version
// from a file-based module proxy in front of the usual one (the module
// cache's download directory first, so dependencies need no network).
func TestGoInstall(t *testing.T) {
	requireInstallRoutes(t)
	start := time.Now()
	goBin := lookPath(t, "go")
	root := repoRoot(t)
	proxy, version := moduleProxy(t, root)
	gobin := t.TempDir()

	modcache := goEnv(t, "GOMODCACHE")
	defaultProxy := goEnv(t, "GOPROXY")
	// The module's copy in the shared module cache is removed afterwards
	// (-modcacherw makes it removable); the version names the content, so a
	// copy left by a killed run is never mistaken for another tree.
	t.Cleanup(func() {
		os.RemoveAll(filepath.Join(modcache, modulePath+"@"+version))
		for _, ext := range []string{".info", ".mod", ".zip", ".ziphash", ".lock"} {
			os.Remove(filepath.Join(modcache, "cache", "download", modulePath, "@v", version+ext))
		}
	})
	cmd := exec.Command(goBin, "install", installCommand)
	cmd.Dir = t.TempDir() // outside any module
	cmd.Env = append(withoutEnv(os.Environ(), "GOFLAGS", "GOBIN", "GOPROXY", "GONOSUMDB", "GOWORK", "GOTOOLCHAIN", "GOPRIVATE", "GONOPROXY"),
		"GOBIN="+gobin,
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(filepath.Join(modcache, "cache", "download"))+","+defaultProxy,
		"GONOSUMDB="+modulePath, // a local build has no checksum database entry
		"GOFLAGS=-modcacherw", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s: %v\n%s", installCommand, err, out)
	}
	t.Logf("go install %s (%s) took %s", installCommand, version, time.Since(start).Round(time.Millisecond))

	entries, _ := os.ReadDir(gobin)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	exe := exeSuffix()
	if !slices.Equal(names, []string{"kubeiam" + exe, "kubeiam-core" + exe}) {
		t.Fatalf("GOBIN holds %v, want kubeiam and kubeiam-core", names)
	}
	checkInstalled(t, filepath.Join(gobin, "kubeiam"+exe), []string{gobin}, version)
}

// TestKrewInstall validates the krew manifest with krew's own validator and
// installs the release archive with `krew install --manifest --archive`,
// offline, then runs `kubectl iam` through krew's bin directory.
func TestKrewInstall(t *testing.T) {
	requireInstallRoutes(t)
	start := time.Now()
	krew := os.Getenv("KUBEIAM_KREW_BIN")
	if krew == "" {
		t.Fatal("KUBEIAM_KREW_BIN is not set: run the tests through make (make tools builds krew)")
	}
	validator := filepath.Join(filepath.Dir(krew), "validate-krew-manifest")
	for _, p := range []string{krew, validator} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v: make tools builds krew and validate-krew-manifest", err)
		}
	}
	kubectl := lookPath(t, "kubectl")
	root := repoRoot(t)
	const version = "0.0.0-test"
	platform := runtime.GOOS + "_" + runtime.GOARCH
	if runtime.GOOS == "windows" {
		t.Skip("the archive for Windows is a zip; this test builds the tar.gz of Unix platforms")
	}
	dist := t.TempDir()
	archive := filepath.Join(dist, fmt.Sprintf("kubeiam_%s_%s.tar.gz", version, platform))
	buildArchive(t, root, archive, "v"+version)

	// The manifest as the release makes it, from a checksums file.
	sum := sha256File(t, archive)
	sums := filepath.Join(dist, "checksums.txt")
	writeFile(t, sums, fmt.Sprintf("%s  %s\n", sum, filepath.Base(archive)))
	krewDir := filepath.Join(dist, "krew")
	if err := os.Mkdir(krewDir, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(krewDir, "iam.yaml") // the validator wants <plugin>.yaml
	out := runTool(t, root, nil, "bash", "scripts/krew-manifest.sh", version, sums, platform)
	writeFile(t, manifest, out)
	runTool(t, root, nil, validator, "-manifest", manifest, "-skip-install")

	// All six platforms' blocks, validated for structure (selectors that
	// match a platform, none overlapping); their checksums here stand in
	// for archives this test does not build.
	var all strings.Builder
	for _, p := range platforms {
		ext := ".tar.gz"
		if strings.HasPrefix(p, "windows") {
			ext = ".zip"
		}
		fmt.Fprintf(&all, "%s  kubeiam_%s_%s%s\n", sum, version, strings.ReplaceAll(p, "/", "_"), ext)
	}
	writeFile(t, sums, all.String())
	allDir := filepath.Join(dist, "all")
	if err := os.Mkdir(allDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(allDir, "iam.yaml"), runTool(t, root, nil, "bash", "scripts/krew-manifest.sh", version, sums))
	runTool(t, root, nil, validator, "-manifest", filepath.Join(allDir, "iam.yaml"), "-skip-install")

	// Offline install into a fresh KREW_ROOT: no index, no download.
	krewRoot := t.TempDir()
	env := []string{"KREW_ROOT=" + krewRoot, "KREW_NO_UPGRADE_CHECK=1", "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9"}
	runTool(t, dist, env, krew, "install", "--manifest="+manifest, "--archive="+archive)
	t.Logf("archive, manifest, validation and krew install took %s", time.Since(start).Round(time.Millisecond))

	store := filepath.Join(krewRoot, "store", "iam", "v"+version)
	for _, f := range []string{"kubectl-iam", "kubeiam-core", "README.md"} {
		if _, err := os.Stat(filepath.Join(store, f)); err != nil {
			t.Errorf("krew did not install %s: %v", f, err)
		}
	}
	link := filepath.Join(krewRoot, "bin", "kubectl-iam")
	if _, err := os.Stat(link); err != nil {
		t.Fatalf("krew put no kubectl-iam in its bin directory: %v", err)
	}
	// kubectl finds the plugin on PATH through krew's bin directory; the
	// front follows krew's link to find kubeiam-core in the store.
	checkInstalled(t, kubectl, []string{filepath.Join(krewRoot, "bin"), filepath.Dir(kubectl)}, "v"+version, "iam")
}

// checkInstalled runs `version` (answered by kubeiam-core, which the front
// must find) and `token` with static keys (answered by the front) and with
// a profile (by the core), and checks the tokens with `verify`. prefix is
// the arguments before kubeiam's own ("iam" through kubectl).
func checkInstalled(t *testing.T, bin string, path []string, version string, prefix ...string) {
	t.Helper()
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "credentials"), "[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
	env := []string{
		"PATH=" + strings.Join(append(path, systemPATH(t)...), string(os.PathListSeparator)),
		"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=us-west-2", "KUBEIAM_CACHE=none",
	}
	base := withoutEnv(os.Environ(), "PATH", "HOME", "XDG_CACHE_HOME", "KUBEIAM_CORE", "KUBECONFIG")
	for _, kv := range base {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	args := func(a ...string) []string { return append(slices.Clone(prefix), a...) }

	out := runTool(t, "", env, bin, args("version", "-o", "json")...)
	var v struct{ Version string }
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Version != version {
		t.Errorf("version = %q (%v), want %s:\n%s", v.Version, err, version, out)
	}
	static := append(slices.Clone(env), "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	for name, e := range map[string][]string{"static keys": static, "profile": append(slices.Clone(env), "AWS_PROFILE=dev")} {
		cred := runTool(t, "", e, bin, args("token", "-i", "install-test")...)
		var ec struct {
			Kind   string
			Status struct{ Token string }
		}
		if err := json.Unmarshal([]byte(cred), &ec); err != nil || ec.Kind != "ExecCredential" || !strings.HasPrefix(ec.Status.Token, "k8s-aws-v1.") {
			t.Fatalf("%s: token printed %q (%v)", name, cred, err)
		}
		cmd := exec.Command(bin, args("verify", "-t", "-", "-i", "install-test", "-o", "json")...)
		cmd.Env, cmd.Stdin = e, strings.NewReader(ec.Status.Token)
		if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), `"host": "sts.us-west-2.amazonaws.com"`) || !strings.Contains(string(b), `"accessKeyID": "AKIAIOSFODNN7EXAMPLE"`) {
			t.Errorf("%s: verify: %v\n%s", name, err, b)
		}
	}
}

// moduleProxy lays out a file-based module proxy serving this checkout as
// the module's latest version and returns its directory and the version.
func moduleProxy(t *testing.T, root string) (string, string) {
	t.Helper()
	git := lookPath(t, "git")
	list := runTool(t, root, nil, git, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	var files []modzip.File
	content := sha256.New()
	for _, p := range strings.Split(strings.TrimRight(list, "\x00"), "\x00") {
		// e2e/ is a module of its own; deleted files are still listed.
		if strings.HasPrefix(p, "e2e/") {
			continue
		}
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		files = append(files, zipFile{root: root, path: p, info: fi})
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(content, "%s\x00%d\x00", p, len(b))
		content.Write(b)
	}
	ct := strings.Fields(runTool(t, root, nil, git, "log", "-1", "--format=%ct"))
	secs, err := strconv.ParseInt(ct[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// A pseudo-version at the commit's time whose revision part names the
	// content, so a dirty tree gets a version of its own.
	rev := hex.EncodeToString(content.Sum(nil))[:12]
	version := module.PseudoVersion("v0", "", time.Unix(secs, 0), rev)

	proxy := t.TempDir()
	dir := filepath.Join(proxy, modulePath, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	zf, err := os.Create(filepath.Join(dir, version+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := modzip.Create(zf, module.Version{Path: modulePath, Version: version}, files); err != nil {
		t.Fatalf("module zip: %v", err)
	}
	if err := zf.Close(); err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	info := fmt.Sprintf(`{"Version":%q,"Time":%q}`, version, time.Unix(secs, 0).UTC().Format(time.RFC3339))
	writeFile(t, filepath.Join(dir, version+".mod"), string(mod))
	writeFile(t, filepath.Join(dir, version+".info"), info)
	// No release is listed, so @latest is what the proxy's @latest says.
	writeFile(t, filepath.Join(dir, "list"), "")
	writeFile(t, filepath.Join(proxy, modulePath, "@latest"), info)
	return proxy, version
}

type zipFile struct {
	root, path string
	info       fs.FileInfo
}

func (f zipFile) Path() string                 { return f.path }
func (f zipFile) Lstat() (fs.FileInfo, error)  { return f.info, nil }
func (f zipFile) Open() (io.ReadCloser, error) { return os.Open(filepath.Join(f.root, f.path)) }

// buildArchive builds both binaries as .goreleaser.yaml does (static,
// trimmed, the Makefile's tags, version stamped) and packs them with
// README.md and docs/*.md at the archive root, as its archives section does.
func buildArchive(t *testing.T, root, archive, version string) {
	t.Helper()
	stage := t.TempDir()
	ld := "-s -w -X github.com/kubeiam/kubeiam/internal/buildinfo.Version=" + version + " -X github.com/kubeiam/kubeiam/internal/buildinfo.Commit=test"
	runTool(t, root, []string{"CGO_ENABLED=0"}, lookPath(t, "go"), "build", "-trimpath", "-ldflags", ld, "-o", stage+string(os.PathSeparator), "./cmd/kubeiam", "./cmd/kubeiam-core")
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]string{"kubeiam": filepath.Join(stage, "kubeiam"), "kubeiam-core": filepath.Join(stage, "kubeiam-core"), "README.md": filepath.Join(root, "README.md")}
	for _, d := range docs {
		members["docs/"+filepath.Base(d)] = d
	}
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(members))
	for n := range members {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		b, err := os.ReadFile(members[name])
		if err != nil {
			t.Fatal(err)
		}
		mode := int64(0o644)
		if !strings.Contains(name, ".") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []io.Closer{tw, gz, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func runTool(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
		if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }) {
			cmd.Env = env
		}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed for this test: %v", name, err)
	}
	return p
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	return strings.TrimSpace(runTool(t, "", nil, lookPath(t, "go"), "env", name))
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// systemPATH is PATH without any directory holding a kubeiam binary (the
// test binary's testscript links among them), so the installed copies are
// the ones that run.
func systemPATH(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		found := false
		for _, n := range []string{"kubeiam", "kubeiam-core", "kubectl-iam"} {
			if _, err := os.Stat(filepath.Join(d, n+exeSuffix())); err == nil {
				found = true
			}
		}
		if !found && d != "" {
			out = append(out, d)
		}
	}
	return out
}

func withoutEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, k)
	})
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
