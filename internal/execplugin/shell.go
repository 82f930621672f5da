package execplugin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/internal/shellenv"
)

// ShellAddedCmd is kubeiam-core's hidden command that reports the entries
// added to a session's private file, for the front's `kubeiam shell`.
const ShellAddedCmd = "__shell-added"

// ChildEnv is env without what the front set for kubeiam-core alone: the
// environment of a command `kubeiam shell` runs.
func ChildEnv(env []string) []string {
	return slices.DeleteFunc(env, func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(HandoverEnv, k)
	})
}

// errUnsure: the front leaves the call to kubeiam-core.
var errUnsure = errors.New("left to kubeiam-core")

// serveShell answers `kubeiam shell [--kubeconfig F] CONTEXT [--] [COMMAND
// ARG...]` when it can do so exactly as kubeiam-core would: the context is
// found in kubeconfig files shellenv.Scan reads with certainty, and the
// session file could be written. Everything else — an unknown context
// (kubeiam-core's message has the suggestions), a file Scan is unsure of,
// any other flag — it leaves to kubeiam-core, having done nothing.
// kubeiam-core start-up is most of what `kubeiam shell CTX -- true` costs.
func serveShell(args []string) (code int, served bool) {
	var context, kubeconfig string
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--kubeconfig" && i+1 < len(args):
			i++
			kubeconfig = args[i]
			continue
		case strings.HasPrefix(a, "--kubeconfig="):
			kubeconfig = a[len("--kubeconfig="):]
			continue
		case strings.HasPrefix(a, "-"):
			return 0, false
		}
		context = a
		break
	}
	if i >= len(args) || input.Text("--kubeconfig", kubeconfig) != nil {
		return 0, false
	}
	argv := args[i+1:]
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	dir, err := shellenv.Dir()
	if err != nil {
		return 0, false
	}
	home, _ := os.UserHomeDir()
	files := shellenv.Files(kubeconfig, os.Getenv("KUBECONFIG"), home)
	s, err := shellenv.Open(dir, files, context, os.Getpid(), func(abs []string) error {
		return findContext(abs, context)
	})
	if err != nil {
		return 0, false
	}
	code, err = shellenv.Run(s, shellenv.Command{
		Argv: argv, Env: ChildEnv(os.Environ()), Getenv: os.Getenv,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Report: reportAdded,
	})
	if err != nil {
		return clierr.Print(os.Stderr, "kubeiam", err), true
	}
	return code, true
}

// findContext is nil when one of files defines context and every file
// reads with certainty (kubeiam-core refuses a session when any of them
// does not parse).
func findContext(files []string, context string) error {
	found := false
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return errUnsure
		}
		e, ok := shellenv.Scan(data)
		if !ok {
			return errUnsure
		}
		found = found || e.HasContext(context)
	}
	if !found {
		return errUnsure
	}
	return nil
}

// reportAdded says what the command added to the private file, reading it
// when it can and asking kubeiam-core when not: a file left as written, or
// one kubectl rewrote with only another current-context (use-context),
// holds nothing to lose.
func reportAdded(s *shellenv.Session) {
	if !s.Changed() {
		return
	}
	data, err := os.ReadFile(s.Path)
	if err != nil {
		return // gone: kubeiam-core would find nothing either
	}
	if e, ok := shellenv.Scan(data); ok {
		if added := shellenv.AddedPhrases(e); len(added) > 0 {
			os.Stderr.WriteString(s.AddedNote(added))
		}
		return
	}
	first := ""
	if len(s.Files) > 1 {
		first = s.Files[1]
	}
	core, err := FindCore()
	if err == nil {
		cmd := exec.Command(core, ShellAddedCmd, s.Path, first)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		err = cmd.Run()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeiam: could not tell what this shell added to its private kubeconfig: %v\n", err)
	}
}
