package session

import (
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/kubeiam/kubeiam/internal/kcnames"
	"github.com/kubeiam/kubeiam/internal/proc"
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
	// Signals, caught before Open made the private file (proc.Catch), are
	// passed on to the command; nil catches only once it starts.
	Signals *proc.Signals
}

// Run says so when the session is nested in another, runs the command in
// s in the foreground (proc.Foreground: signals passed on, its exit code
// returned), then reports and removes the private file. err only when it
// could not run.
func Run(s *Session, c Command) (int, error) {
	defer s.Remove()
	if parent := c.Getenv(ContextEnv); parent != "" {
		fmt.Fprintf(c.Stderr, "kubeiam: nested shell: context %q inside the shell for %q; exit returns to it\n", s.Context, parent)
	}
	argv := c.Argv
	if len(argv) == 0 {
		argv = []string{proc.UserShell(c.Getenv)}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(c.Env, "KUBECONFIG="+s.KubeconfigEnv(), ContextEnv+"="+s.Context)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	var ended func()
	if c.Report != nil {
		ended = func() { c.Report(s) }
	}
	return proc.Foreground(cmd, c.Signals, ended)
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
func AddedPhrases(e *kcnames.Entries) []string {
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
