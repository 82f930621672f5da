package rig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is one component the rig started, in its own process group so that
// stopping it also stops anything it forked.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	// hardKill skips SIGTERM: aws-iam-authenticator v0.7.2 was seen
	// ignoring it (FACTS §3), and waiting for it only slows teardown.
	hardKill bool
	done     chan struct{}
	err      error
}

func (r *Rig) spawn(name string, hardKill bool, env []string, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(r.Dir, "logs", name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("could not open %s log: %w", name, err)
	}
	fmt.Fprintf(f, "# %s %s\n", bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// If the rig process dies without running Stop (SIGKILL, a test
		// binary timing out), the kernel takes the components with it.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("could not start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, hardKill: hardKill, done: make(chan struct{})}
	r.procs = append(r.procs, p)
	r.logf("started %s (pid %d), log %s", name, cmd.Process.Pid, logPath)
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop signals the process group and waits, escalating to SIGKILL.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	pgid := -p.cmd.Process.Pid
	if !p.hardKill {
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-p.done:
			return
		case <-time.After(10 * time.Second):
		}
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process
// could take it before the component binds it; the component then fails to
// start and the rig reports that with its log.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("could not find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitFor polls check until it succeeds, the process exits or the timeout
// passes.
func waitFor(ctx context.Context, p *proc, timeout time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited (%v) before it was ready; log %s:\n%s", p.name, p.err, p.log, tailFile(p.log, 30))
		}
		select {
		case <-ctx.Done():
			name, log := "component", ""
			if p != nil {
				name, log = p.name, "; log "+p.log+":\n"+tailFile(p.log, 30)
			}
			return fmt.Errorf("%s not ready after %s: %v%s", name, timeout, last, log)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func httpOK(c *http.Client, url string) func() error {
	return func() error {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// tailFile returns the last n lines of a file.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var errLocked = errors.New("another kubeiam e2e rig is running")
