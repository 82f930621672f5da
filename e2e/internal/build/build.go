// Package build produces the binaries the e2e rig runs and caches them by
// version under ${XDG_CACHE_HOME:-~/.cache}/kubeiam/e2e/bin, so only the
// first run on a machine pays for the kube-apiserver (7–14 min on 2 cores)
// and aws-iam-authenticator (~10 min) builds.
package build

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Pinned versions. kube-apiserver's is also pinned by
// e2e/tools/kube-apiserver/go.mod; keep them in step.
const (
	KubeAPIServerVersion = "v1.34.4"
	AuthenticatorVersion = "v0.7.2"
)

// CacheDir returns ${XDG_CACHE_HOME:-~/.cache}/kubeiam/e2e.
func CacheDir() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("could not find home directory: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "kubeiam", "e2e"), nil
}

// Binaries are the absolute paths of everything the rig runs.
type Binaries struct {
	KubeAPIServer string
	// The node's parts: built from the same k8s.io/kubernetes module as
	// KubeAPIServer; empty when NodeError says why they could not be.
	Kubelet               string
	KubeScheduler         string
	KubeControllerManager string
	// Pause is the static sandbox binary the rig packages as the pause
	// image (no registry is reachable).
	Pause string
	// NodeError is why the node binaries are missing ("" when they are
	// all there): the rig then falls back to running the authenticator
	// itself.
	NodeError     string
	Etcd          string
	Authenticator string
	Kubectl       string
	// Kubeiam is built fresh from the working tree on every run: it is the
	// code under test, so it must never come from a cache.
	Kubeiam string
}

// Builder builds into Cache and reports progress on Out.
type Builder struct {
	// Repo is the root of the main module (the directory holding e2e/).
	Repo string
	// Cache is CacheDir() unless a test overrides it.
	Cache string
	Out   io.Writer
	// NoNode skips the node's binaries and packages (Binaries.NodeError
	// says so).
	NoNode bool
}

// NewBuilder finds the repository from the working directory.
func NewBuilder(out io.Writer) (*Builder, error) {
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	repo, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return &Builder{Repo: repo, Cache: cache, Out: out}, nil
}

// RepoRoot walks up from the working directory to the directory that holds
// e2e/tools/kube-apiserver/go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("could not get working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "e2e", "tools", "kube-apiserver", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("could not find the kubeiam repository above the working directory")
		}
		dir = parent
	}
}

func (b *Builder) binPath(name, version string) string {
	return filepath.Join(b.Cache, "bin", name+"-"+version, name)
}

func (b *Builder) logf(format string, args ...any) {
	fmt.Fprintf(b.Out, "build: "+format+"\n", args...)
}

// All makes sure every binary exists, building or installing what is
// missing, and builds kubeiam into dir.
func (b *Builder) All(ctx context.Context, dir string) (Binaries, error) {
	var bins Binaries
	var err error
	if bins.Kubectl, err = exec.LookPath("kubectl"); err != nil {
		return bins, fmt.Errorf("could not find kubectl in PATH: %w", err)
	}
	if bins.Etcd, err = b.Etcd(ctx); err != nil {
		return bins, err
	}
	if bins.Authenticator, err = b.Authenticator(ctx); err != nil {
		return bins, err
	}
	if bins.KubeAPIServer, err = b.KubeAPIServer(ctx); err != nil {
		return bins, err
	}
	if b.NoNode {
		bins.NodeError = "no node was asked for (KUBEIAM_E2E_NO_NODE)"
	} else if err := b.Node(ctx, &bins); err != nil {
		if ctx.Err() != nil {
			return bins, err
		}
		bins.NodeError = err.Error()
		b.logf("node: %v", err)
	}
	if dir != "" {
		if bins.Kubeiam, err = b.Kubeiam(ctx, dir); err != nil {
			return bins, err
		}
	}
	return bins, nil
}

// lock serialises builds of one binary across processes (two test runs, or
// a test run and `make demo`), so a half-written binary is never used.
func (b *Builder) lock(name string) (func(), error) {
	if err := os.MkdirAll(filepath.Join(b.Cache, "bin"), 0o755); err != nil {
		return nil, fmt.Errorf("could not create cache directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(b.Cache, "bin", "."+name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("could not open build lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b.logf("%s: waiting for another build to finish", name)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("could not lock build: %w", err)
		}
	}
	return func() { f.Close() }, nil
}

// KubeAPIServer returns the cached kube-apiserver, building it from the
// wrapper module e2e/tools/kube-apiserver when missing.
func (b *Builder) KubeAPIServer(ctx context.Context) (string, error) {
	outs, err := b.kube(ctx, "(cold: 7–14 min and ~1.8 GB RAM on 2 cores, then cached)", "kube-apiserver")
	if err != nil {
		return "", err
	}
	return outs[0], nil
}

// Node fills in the node's binaries: kubelet, kube-scheduler and
// kube-controller-manager (one `go build` for the missing ones, so the
// packages they share are compiled once) and the pause binary.
func (b *Builder) Node(ctx context.Context, bins *Binaries) error {
	if err := b.nodePackages(ctx); err != nil {
		return err
	}
	outs, err := b.kube(ctx, "(cold, after kube-apiserver: ~5–10 min on 2 cores, then cached)", "kubelet", "kube-scheduler", "kube-controller-manager")
	if err != nil {
		return err
	}
	bins.Kubelet, bins.KubeScheduler, bins.KubeControllerManager = outs[0], outs[1], outs[2]
	bins.Pause, err = b.Pause(ctx)
	return err
}

// kube returns the cached k8s.io/kubernetes commands names, building the
// missing ones from the wrapper module e2e/tools/kube-apiserver in one go.
func (b *Builder) kube(ctx context.Context, cost string, names ...string) ([]string, error) {
	outs := make([]string, len(names))
	missing := func() []int {
		var m []int
		for i, n := range names {
			outs[i] = b.binPath(n, KubeAPIServerVersion)
			if !exists(outs[i]) {
				m = append(m, i)
			}
		}
		return m
	}
	if len(missing()) == 0 {
		b.logf("%s %s: cached under %s", strings.Join(names, ", "), KubeAPIServerVersion, filepath.Join(b.Cache, "bin"))
		return outs, nil
	}
	unlock, err := b.lock(names[0])
	if err != nil {
		return nil, err
	}
	defer unlock()
	todo := missing()
	if len(todo) == 0 {
		return outs, nil
	}
	var pkgs, what []string
	for _, i := range todo {
		pkgs = append(pkgs, "k8s.io/kubernetes/cmd/"+names[i])
		what = append(what, names[i])
	}
	label := strings.Join(what, ", ")
	dir := filepath.Join(b.Repo, "e2e", "tools", "kube-apiserver")
	b.logf("%s %s: not cached; building %s", label, KubeAPIServerVersion, cost)
	total := 0
	if deps, err := b.output(ctx, dir, "go", append([]string{"list", "-deps"}, pkgs...)...); err == nil {
		total = strings.Count(deps, "\n")
	}
	tmp, err := os.MkdirTemp(filepath.Join(b.Cache, "bin"), ".build-")
	if err != nil {
		return nil, fmt.Errorf("could not create cache directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	args := append([]string{"build", "-trimpath", "-v", "-o", tmp + string(filepath.Separator)}, pkgs...)
	if err := b.goBuild(ctx, dir, label, total, args...); err != nil {
		return nil, err
	}
	for _, i := range todo {
		if err := os.MkdirAll(filepath.Dir(outs[i]), 0o755); err != nil {
			return nil, fmt.Errorf("could not create cache directory: %w", err)
		}
		if err := os.Rename(filepath.Join(tmp, names[i]), outs[i]); err != nil {
			return nil, fmt.Errorf("could not install %s: %w", names[i], err)
		}
	}
	return outs, nil
}

// Pause builds the sandbox binary from e2e/tools/pause, static (the image
// holds nothing else), cached like the rest.
func (b *Builder) Pause(ctx context.Context) (string, error) {
	const version = "1"
	out := b.binPath("pause", version)
	if exists(out) {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("could not create cache directory: %w", err)
	}
	tmp := out + ".tmp"
	if _, err := b.output(ctx, filepath.Join(b.Repo, "e2e", "tools", "pause"), "go", "build", "-trimpath", "-o", tmp, "."); err != nil {
		return "", fmt.Errorf("could not build pause: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("could not install pause: %w", err)
	}
	b.logf("pause: built %s", out)
	return out, nil
}

// Authenticator returns the cached aws-iam-authenticator, installing it with
// `go install …@v0.7.2` when missing (later tags do not `go install`).
func (b *Builder) Authenticator(ctx context.Context) (string, error) {
	out := b.binPath("aws-iam-authenticator", AuthenticatorVersion)
	if exists(out) {
		b.logf("aws-iam-authenticator %s: cached at %s", AuthenticatorVersion, out)
		return out, nil
	}
	unlock, err := b.lock("aws-iam-authenticator")
	if err != nil {
		return "", err
	}
	defer unlock()
	if exists(out) {
		return out, nil
	}
	b.logf("aws-iam-authenticator %s: not cached; installing (cold: ~10 min, then cached)", AuthenticatorVersion)
	tmpDir := filepath.Dir(out) + ".tmp"
	_ = os.RemoveAll(tmpDir)
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return "", fmt.Errorf("could not create cache directory: %w", err)
	}
	// go install has no package list to count up front; the bar counts
	// packages as they are built.
	err = b.goBuild(ctx, b.Repo, "aws-iam-authenticator", 0, "install", "-v", "sigs.k8s.io/aws-iam-authenticator/cmd/aws-iam-authenticator@"+AuthenticatorVersion, "GOBIN="+tmpDir)
	if err != nil {
		return "", err
	}
	_ = os.RemoveAll(filepath.Dir(out))
	if err := os.Rename(tmpDir, filepath.Dir(out)); err != nil {
		return "", fmt.Errorf("could not install aws-iam-authenticator: %w", err)
	}
	return out, nil
}

// Etcd returns etcd from PATH, installing Debian's etcd-server with apt-get
// when it is missing and we are root (the package does not start a service
// in a container; the rig starts its own etcd on free ports).
func (b *Builder) Etcd(ctx context.Context) (string, error) {
	if p, err := exec.LookPath("etcd"); err == nil {
		b.logf("etcd: %s", p)
		return p, nil
	}
	if os.Geteuid() != 0 {
		return "", errors.New("could not find etcd in PATH; install it (Debian: apt-get install etcd-server)")
	}
	b.logf("etcd: not installed; installing Debian package etcd-server with apt-get")
	start := time.Now()
	if err := aptInstall(ctx, "etcd-server"); err != nil {
		return "", err
	}
	p, err := exec.LookPath("etcd")
	if err != nil {
		return "", fmt.Errorf("could not find etcd after installing etcd-server: %w", err)
	}
	b.logf("etcd: installed in %s", time.Since(start).Round(time.Second))
	return p, nil
}

func aptInstall(ctx context.Context, pkgs ...string) error {
	for _, args := range [][]string{{"update", "-qq"}, append([]string{"install", "-y", "-qq", "--no-install-recommends"}, pkgs...)} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("could not apt-get %s: %w\n%s", args[0], err, out)
		}
	}
	return nil
}

// nodePackages makes sure the node's Debian packages are there: containerd,
// runc, the CNI plugins and iptables (the ClusterIP forward), installing
// the missing ones with apt-get when root, as for etcd.
func (b *Builder) nodePackages(ctx context.Context) error {
	var missing []string
	for _, p := range [][2]string{{"containerd", "containerd"}, {"runc", "runc"}, {"iptables", "iptables"}} {
		if _, err := exec.LookPath(p[0]); err != nil {
			missing = append(missing, p[1])
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		missing = append(missing, "containernetworking-plugins")
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("could not find %s; install them (Debian: apt-get install %s)", strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	b.logf("node: installing Debian packages %s with apt-get", strings.Join(missing, " "))
	start := time.Now()
	if err := aptInstall(ctx, missing...); err != nil {
		return err
	}
	b.logf("node: installed in %s", time.Since(start).Round(time.Second))
	return nil
}

// Kubeiam builds every command under cmd/ from the working tree into dir
// (kubeiam finds its helper binaries, such as kubeiam-core, beside itself)
// and returns the path of kubeiam.
func (b *Builder) Kubeiam(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "kubeiam")
	start := time.Now()
	if _, err := b.output(ctx, b.Repo, "go", "build", "-o", dir+string(filepath.Separator), "./cmd/..."); err != nil {
		return "", fmt.Errorf("could not build kubeiam: %w", err)
	}
	b.logf("kubeiam: built from the working tree in %s", time.Since(start).Round(100*time.Millisecond))
	return out, nil
}

func (b *Builder) output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// goBuild runs `go <args>` (trailing KEY=VALUE args go to the environment)
// and turns its -v package lines into progress: a bar on a terminal, a line
// every 100 packages with elapsed time otherwise (CI logs).
func (b *Builder) goBuild(ctx context.Context, dir, what string, total int, args ...string) error {
	env := append(os.Environ(), "GOWORK=off")
	for len(args) > 0 && strings.Contains(args[len(args)-1], "=") {
		env = append(env, args[len(args)-1])
		args = args[:len(args)-1]
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = pw
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start go %s: %w", args[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()

	max := total
	if max == 0 {
		max = -1 // unknown length: a spinner with a count
	}
	var bar *progressbar.ProgressBar
	if isTerminal(b.Out) {
		bar = progressbar.NewOptions(max,
			progressbar.OptionSetWriter(b.Out),
			progressbar.OptionSetDescription("build: "+what),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionClearOnFinish(),
		)
	}
	var tail []string
	n := 0
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		tail = append(tail, line)
		if len(tail) > 30 {
			tail = tail[1:]
		}
		if strings.HasPrefix(line, "go: ") || strings.Contains(line, " ") {
			continue // downloads and compiler messages, not package names
		}
		n++
		if bar != nil {
			_ = bar.Add(1)
		} else if n%100 == 0 {
			if total > 0 {
				b.logf("%s: %d/%d packages, %s elapsed", what, n, total, time.Since(start).Round(time.Second))
			} else {
				b.logf("%s: %d packages, %s elapsed", what, n, time.Since(start).Round(time.Second))
			}
		}
	}
	err := <-done
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return fmt.Errorf("could not build %s: %w\n%s", what, err, strings.Join(tail, "\n"))
	}
	b.logf("%s: done in %s (%d packages compiled, the rest came from the Go build cache)", what, time.Since(start).Round(time.Second), n)
	return nil
}

func exists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
