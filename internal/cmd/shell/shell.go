// Package shell holds `kubeiam shell`: a command or shell with a context of
// its own, other terminals unaffected.
package shell

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/handover"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/proc"
	"github.com/kubeiam/kubeiam/internal/session"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// Options are the flags and arguments of `kubeiam shell`.
type Options struct {
	IO         *iostreams.IOStreams
	Context    string
	Command    []string // empty: $SHELL
	Kubeconfig string
	Getenv     func(string) string
}

// NewCmd builds `kubeiam shell`; runF replaces Run in tests.
func NewCmd(io *iostreams.IOStreams, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: io, Getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "shell CONTEXT [-- COMMAND [ARG...]]",
		Short: "Run a shell (or a command) with its own current context; other terminals are unaffected",
		Long: `Run $SHELL, or COMMAND, with KUBECONFIG pointing first at a private kubeconfig
whose current-context is CONTEXT, followed by your own kubeconfig files. kubectl
in that shell uses CONTEXT; other terminals keep the global current-context.
Edits of existing entries (kubectl config set-credentials, set-context, token
refreshes) still land in your files; "kubectl config use-context" switches only
this shell. KUBEIAM_CONTEXT holds CONTEXT for prompts. The private file is
removed when the shell exits; one left by a killed shell is removed by the
next kubeiam shell or use --export. The exit code is the command's.`,
		Example: `  kubeiam shell prod-aws
  kubeiam shell prod-aws -- kubectl get nodes
  PS1='[$KUBEIAM_CONTEXT] \$ ' kubeiam shell dev-aws -- bash --norc`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Context, opts.Command = args[0], args[1:]
			// Flags stop at CONTEXT, so pflag leaves a "--" after it.
			if len(opts.Command) > 0 && opts.Command[0] == "--" {
				opts.Command = opts.Command[1:]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	// Everything after CONTEXT belongs to the command, dash or not.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file to layer over (default: KUBECONFIG or ~/.kube/config)")
	return cmd
}

// Run starts the session, runs the command in it, forwards signals to the
// command, removes the private file and returns the command's exit code as
// a *clierr.ExitCodeError (nil for 0). The front binary answers the common
// case itself with the same session code (internal/front).
func Run(ctx context.Context, opts *Options) error {
	dir, err := kubeconfig.SessionDir()
	if err != nil {
		return err
	}
	files := kubeconfig.DefaultFiles(opts.Kubeconfig)
	// From before the session file exists, a signal is held and passed on
	// to the command, so the file is always removed (see proc.Signals).
	sigs := proc.Catch()
	defer sigs.Stop()
	s, err := session.Open(dir, files, opts.Context, os.Getpid(), func(abs []string) error {
		return kubeconfig.CheckContext(abs, files, opts.Context)
	})
	if err != nil {
		return withHint(err)
	}
	code, err := session.Run(s, session.Command{
		Argv: opts.Command, Env: handover.ChildEnv(os.Environ()), Getenv: opts.Getenv,
		Stdin: opts.IO.In, Stdout: opts.IO.Out, Stderr: opts.IO.ErrOut,
		Report:  func(s *session.Session) { reportAdded(opts.IO.ErrOut, s) },
		Signals: sigs,
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return &clierr.ExitCodeError{Code: code}
	}
	return nil
}

func reportAdded(w io.Writer, s *session.Session) {
	if added := kubeconfig.SessionAdded(s.Path); len(added) > 0 {
		io.WriteString(w, s.AddedNote(added))
	}
}

// NewAddedCmd builds the hidden `kubeiam __shell-added PRIVATE FILE`: the
// front's `kubeiam shell` asks it, when the private file changed in a way
// the front does not read, what was added there (FILE: the user's first
// kubeconfig, named in the note).
func NewAddedCmd(streams *iostreams.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:    handover.ShellAddedCmd + " PRIVATE FILE",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			reportAdded(streams.ErrOut, &session.Session{Path: args[0], Files: args})
			return nil
		},
	}
}

func withHint(err error) error {
	var ce *kubeconfig.ContextNotFoundError
	if errors.As(err, &ce) {
		return clierr.WithHint(err, "kubectl config get-contexts lists the contexts")
	}
	return err
}
