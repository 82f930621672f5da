package shellenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
)

// Command is what runs in a session.
type Command struct {
	Argv []string // empty: the user's shell
	// Env is the environment before KUBECONFIG and KUBEIAM_CONTEXT are set.
	Env    []string
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Report, when set, runs after the command has ended and before the
	// private file is removed: it says what would be lost with the file.
	Report func(*Session)
}

// Run says so when the session is nested in another, runs the command in
// s, passes the signals that end a process on to it, then reports and
// removes the private file. It returns the command's exit code (128+N when
// signal N ended it, as shells report it); err only when it could not run.
func Run(s *Session, c Command) (int, error) {
	defer s.Remove()
	if parent := c.Getenv(ContextEnv); parent != "" {
		fmt.Fprintf(c.Stderr, "kubeiam: nested shell: context %q inside the shell for %q; exit returns to it\n", s.Context, parent)
	}
	argv := c.Argv
	if len(argv) == 0 {
		argv = []string{defaultShell(c.Getenv)}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(c.Env, "KUBECONFIG="+s.KubeconfigEnv(), ContextEnv+"="+s.Context)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	cmd.SysProcAttr = childAttr()
	// Linux sends Pdeathsig when the thread that started the child ends,
	// not the process: the runtime ends a thread whose goroutine exits
	// while locked to it, and that thread could have been this one after
	// the goroutine moved. Holding this goroutine on its thread until the
	// child is reaped keeps the thread, so SIGHUP comes only when kubeiam
	// dies (os/exec and syscall document the same pairing).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("could not run %s: %w", argv[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				if !deliveredByTerminal(sig) {
					cmd.Process.Signal(sig)
				}
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if c.Report != nil {
		c.Report(s)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if n, ok := signalNumber(ee); ok {
			return 128 + n, nil
		}
		return ee.ExitCode(), nil
	}
	return 0, err
}

// AddedNote is the line said at exit when the command defined entries
// (added: "users a, b"-style phrases) that existed only in the private
// file, so went with it.
func (s *Session) AddedNote(added []string) string {
	keep := ""
	if len(s.Files) > 1 {
		keep = fmt.Sprintf(" (to keep one, add it again with --kubeconfig %s)", s.Files[1])
	}
	return fmt.Sprintf("kubeiam: entries added in this shell existed only in its private kubeconfig and are gone: %s%s\n", strings.Join(added, "; "), keep)
}

// AddedPhrases names the entries of e as AddedNote lists them.
func AddedPhrases(e *Entries) []string {
	var out []string
	for _, kind := range []struct {
		name string
		keys []string
	}{{"clusters", e.Clusters}, {"contexts", e.Contexts}, {"users", e.Users}} {
		if len(kind.keys) > 0 {
			out = append(out, kind.name+" "+strings.Join(kind.keys, ", "))
		}
	}
	return out
}
