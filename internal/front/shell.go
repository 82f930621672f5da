package front

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/handover"
	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/internal/kcnames"
	"github.com/kubeiam/kubeiam/internal/proc"
	"github.com/kubeiam/kubeiam/internal/session"
)

// errUnsure: the front leaves the call to kubeiam-core.
var errUnsure = errors.New("left to kubeiam-core")

// serveShell answers `kubeiam shell [--kubeconfig F] CONTEXT [--] [COMMAND
// ARG...]` when it can do so exactly as kubeiam-core would: the context is
// found in kubeconfig files kcnames.Scan reads with certainty, and the
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
	dir, err := session.Dir(cache.DefaultDir)
	if err != nil {
		return 0, false
	}
	home, _ := os.UserHomeDir()
	files := session.Files(kubeconfig, os.Getenv("KUBECONFIG"), home)
	// From before the session file exists, a signal is held and passed on
	// to the command, so the file is always removed (see proc.Signals).
	sigs := proc.Catch()
	defer sigs.Stop()
	s, err := session.Open(dir, files, context, os.Getpid(), func(abs []string) error {
		return findContext(abs, context)
	})
	if err != nil {
		return 0, false
	}
	code, err = session.Run(s, session.Command{
		Argv: argv, Env: handover.ChildEnv(os.Environ()), Getenv: os.Getenv,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Report: reportAdded, Signals: sigs,
	})
	if err != nil {
		return fail(os.Stderr, "kubeiam", err), true
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
		e, ok := kcnames.Scan(data)
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
func reportAdded(s *session.Session) {
	if !s.Changed() {
		return
	}
	data, err := os.ReadFile(s.Path)
	if err != nil {
		return // gone: kubeiam-core would find nothing either
	}
	if e, ok := kcnames.Scan(data); ok {
		if added := session.AddedPhrases(e); len(added) > 0 {
			os.Stderr.WriteString(s.AddedNote(added))
		}
		return
	}
	first := ""
	if len(s.Files) > 1 {
		first = s.Files[1]
	}
	core, err := handover.FindCore()
	if err == nil {
		cmd := exec.Command(core, handover.ShellAddedCmd, s.Path, first)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		err = cmd.Run()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeiam: could not tell what this shell added to its private kubeconfig: %v\n", err)
	}
}
