// Command kubeiam-e2e builds the rig's binaries and runs the demo:
//
//	kubeiam-e2e build         build or install what is missing (cached by version)
//	kubeiam-e2e demo [-keep]  run scenarios (a) and (b), narrated, with a summary;
//	                          -keep leaves the stack running and writes the env file
//	kubeiam-e2e up            start the stack with the seed's mappings, leave it running
//	kubeiam-e2e down          stop a stack left running by `demo -keep` or `up`
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubeiam/kubeiam/e2e/internal/build"
	"github.com/kubeiam/kubeiam/e2e/internal/rig"
	"github.com/kubeiam/kubeiam/e2e/internal/scenario"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kubeiam-e2e:", err)
		os.Exit(1)
	}
}

const readyLine = "kubeiam-e2e: stack kept running"

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: kubeiam-e2e build | demo [-keep] | up | down")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	keep := fs.Bool("keep", false, "leave the stack running and write the env file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "build":
		b, err := build.NewBuilder(os.Stderr)
		if err != nil {
			return err
		}
		_, err = b.All(ctx, "")
		return err
	case "demo":
		if *keep {
			return detach("serve-demo")
		}
		return demo(ctx, os.Stdout, true, false)
	case "up":
		return detach("serve-up")
	case "serve-demo", "serve-up":
		// The detached half of `demo -keep` / `up`: narration goes to fd 3
		// (the parent's stdout, closed once ready), everything else to the
		// log file that is our stdout and stderr.
		// fd 3 came without close-on-exec; without it etcd and the
		// others would inherit it and the parent would never see EOF.
		syscall.CloseOnExec(3)
		out := os.NewFile(3, "narration")
		return demo(ctx, out, args[0] == "serve-demo", true)
	case "down":
		return down()
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func paths() (cache, envFile, pidFile, logFile string, err error) {
	cache, err = build.CacheDir()
	if err != nil {
		return
	}
	return cache, filepath.Join(cache, "env"), filepath.Join(cache, "demo.pid"), filepath.Join(cache, "demo.log"), nil
}

// detach starts this program again as a session leader running mode, shows
// its narration until it says the stack is ready, and returns; the child
// keeps the stack (and the in-process STS stand-in) alive until `down`.
func detach(mode string) error {
	cache, _, pidFile, logFile, err := paths()
	if err != nil {
		return err
	}
	if pid, err := readPID(pidFile); err == nil && syscall.Kill(pid, 0) == nil {
		return fmt.Errorf("a kept stack is already running (pid %d); stop it with `make demo-down`", pid)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return fmt.Errorf("could not create cache directory: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("could not find own executable: %w", err)
	}
	log, err := os.Create(logFile)
	if err != nil {
		return fmt.Errorf("could not create log: %w", err)
	}
	defer log.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("could not create pipe: %w", err)
	}
	cmd := exec.Command(self, mode)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if dir, err := os.Getwd(); err == nil {
		cmd.Dir = dir
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start the stack: %w", err)
	}
	pw.Close()
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return fmt.Errorf("could not write pid file: %w", err)
	}
	// Copy narration until the child closes fd 3 (ready, or failed).
	buf := make([]byte, 4096)
	var seen strings.Builder
	for {
		n, err := pr.Read(buf)
		os.Stdout.Write(buf[:n])
		if seen.Len() < 1<<20 {
			seen.Write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	if !strings.Contains(seen.String(), readyLine) {
		_ = cmd.Wait()
		os.Remove(pidFile)
		return fmt.Errorf("the stack did not come up; log %s:\n%s", logFile, tail(logFile))
	}
	_ = cmd.Process.Release()
	return nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func down() error {
	_, envFile, pidFile, _, err := paths()
	if err != nil {
		return err
	}
	pid, err := readPID(pidFile)
	if err != nil {
		fmt.Println("no kept demo stack (no pid file)")
		os.Remove(envFile)
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		fmt.Printf("kept demo stack (pid %d) was not running\n", pid)
	} else {
		deadline := time.Now().Add(60 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		fmt.Printf("stopped the kept demo stack (pid %d)\n", pid)
	}
	os.Remove(pidFile)
	os.Remove(envFile)
	return nil
}

type stepResult struct {
	name string
	took time.Duration
	err  error
}

// demo builds what is missing, starts the stack and runs the seed (a) and
// the mapping change (b) with kubeiam, narrated on out. With keep it then
// writes the env file, closes out and serves until signalled.
func demo(ctx context.Context, out io.Writer, scenarios, keep bool) (err error) {
	total := time.Now()
	_, envFile, _, _, err := paths()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "==> binaries (built once, cached by version under ${XDG_CACHE_HOME:-~/.cache}/kubeiam/e2e)")
	b, err := build.NewBuilder(out)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kubeiam-e2e-demo-")
	if err != nil {
		return fmt.Errorf("could not create work directory: %w", err)
	}
	bins, err := b.All(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	images, err := scenario.Images(ctx, bins.Kubeiam, b.Repo)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	fmt.Fprintln(out, "\n==> start the stack: etcd, kube-apiserver wired by kubeiam server init, a node (containerd, kubelet,")
	fmt.Fprintln(out, "    kube-scheduler, kube-controller-manager) for the authenticator DaemonSet, STS stand-in")
	r, err := rig.Start(ctx, rig.Options{Bins: bins, Dir: dir, Images: images, Logf: func(f string, a ...any) { fmt.Fprintf(out, "    "+f+"\n", a...) }})
	if err != nil {
		return fmt.Errorf("%w\n(work directory and any component logs kept in %s)", err, dir)
	}
	defer func() {
		r.Stop()
		if err != nil {
			fmt.Fprintf(out, "component logs kept in %s\n", filepath.Join(dir, "logs"))
		} else {
			os.RemoveAll(dir)
		}
	}()
	env := &scenario.Env{Rig: r, Out: out, Token: scenario.Kubeiam(bins.Kubeiam)}
	var results []stepResult
	do := func(name string, f func(context.Context) error) {
		start := time.Now()
		e := f(ctx)
		results = append(results, stepResult{name, time.Since(start), e})
		if e != nil {
			fmt.Fprintf(out, "\n!!! %s failed: %v\n", name, e)
		}
	}
	if scenarios {
		do("(a) seed: mapped user and role log in through kubeiam", env.Seed)
		do("(b) change mappings: added user gains access, removed user loses it", env.ChangeMappings)
		if r.Node != "" {
			// The same seed with the mappings as IAMIdentityMapping
			// objects: the DaemonSet's pod runs --backend-mode=CRD as
			// kubeiam renders it from the spec.
			crd := &scenario.Env{Rig: r, Out: out, Token: env.Token, Modes: []string{"CRD"}}
			do("(a) seed with backendMode [CRD]", crd.Seed)
			do("(b) change mappings with backendMode [CRD]", crd.ChangeMappings)
		}
	} else {
		users, roles := scenario.SeedMappings()
		do("kubeiam server install with the seed's mappings", func(ctx context.Context) error { return env.Install(ctx, users, roles) })
	}

	fmt.Fprintln(out, "\n==> summary")
	failed := 0
	for _, res := range results {
		mark := "ok  "
		if res.err != nil {
			mark, failed = "FAIL", failed+1
		}
		fmt.Fprintf(out, "    %s %-72s %s\n", mark, res.name, res.took.Round(100*time.Millisecond))
	}
	fmt.Fprintf(out, "    cluster ID %s, apiserver %s, total %s\n", r.ClusterID, r.APIServerURL, time.Since(total).Round(time.Second))
	if failed > 0 {
		r.DumpLogs(out, 20)
		return fmt.Errorf("%d step(s) failed", failed)
	}
	if !keep {
		return nil
	}
	if err := writeEnv(envFile, r, bins); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s; environment in %s:\n", readyLine, envFile)
	fmt.Fprintf(out, "    . %s && KUBECONFIG=$KUBEIAM_E2E_USER_KUBECONFIG AWS_ACCESS_KEY_ID=$KUBEIAM_E2E_MAPPED_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$KUBEIAM_E2E_MAPPED_SECRET_ACCESS_KEY kubectl auth whoami\n", envFile)
	fmt.Fprintln(out, "    stop it with: make demo-down")
	if c, ok := out.(io.Closer); ok {
		c.Close()
	}
	<-ctx.Done()
	os.Remove(envFile)
	return nil
}

// writeEnv writes the kept stack's variables in shell syntax.
func writeEnv(path string, r *rig.Rig, bins build.Binaries) error {
	mapped := r.STS.Identity(scenario.SeedUser)
	unmapped := r.STS.Identity("mallory")
	x := scenario.Kubeiam(bins.Kubeiam).Exec(r.ClusterID, "")
	x.Env = nil // let the user's own KUBEIAM_CACHE apply
	userKC, err := r.UserKubeconfig("kubeiam-user", &x)
	if err != nil {
		return err
	}
	vars := [][2]string{
		{"KUBEIAM_E2E_ADMIN_KUBECONFIG", r.AdminKubeconfig},
		{"KUBEIAM_E2E_USER_KUBECONFIG", userKC},
		{"KUBEIAM_E2E_CLUSTER_ID", r.ClusterID},
		{"KUBEIAM_E2E_APISERVER", r.APIServerURL},
		{"KUBEIAM_E2E_KUBEIAM", bins.Kubeiam},
		{"KUBEIAM_E2E_DIR", r.Dir},
		{"HTTPS_PROXY", r.Proxy.URL.String()},
		{"NO_PROXY", "127.0.0.1,localhost"},
		{"SSL_CERT_FILE", r.STSCABundle},
		{"AWS_REGION", "us-west-2"},
		{"KUBEIAM_E2E_MAPPED_ACCESS_KEY_ID", mapped.AccessKeyID},
		{"KUBEIAM_E2E_MAPPED_SECRET_ACCESS_KEY", mapped.SecretAccessKey},
		{"KUBEIAM_E2E_MAPPED_USERNAME", scenario.SeedUser},
		{"KUBEIAM_E2E_MAPPED_GROUPS", scenario.ViewGroup},
		{"KUBEIAM_E2E_UNMAPPED_ACCESS_KEY_ID", unmapped.AccessKeyID},
		{"KUBEIAM_E2E_UNMAPPED_SECRET_ACCESS_KEY", unmapped.SecretAccessKey},
		{"KUBEIAM_E2E_ROLE_ARN", scenario.AdminRoleARN},
		{"KUBEIAM_E2E_ROLE_CALLER_ACCESS_KEY_ID", r.STS.Identity(scenario.RoleCaller).AccessKeyID},
		{"KUBEIAM_E2E_ROLE_CALLER_SECRET_ACCESS_KEY", r.STS.Identity(scenario.RoleCaller).SecretAccessKey},
		{"KUBEIAM_E2E_PID", strconv.Itoa(os.Getpid())},
	}
	var b strings.Builder
	b.WriteString("# kubeiam e2e stack left running by `make demo KEEP=1`; stop it with `make demo-down`.\n")
	for _, kv := range vars {
		fmt.Fprintf(&b, "export %s='%s'\n", kv[0], strings.ReplaceAll(kv[1], "'", `'\''`))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("could not write env file: %w", err)
	}
	return nil
}
