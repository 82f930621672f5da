// Package shell holds `kubeiam shell`: a command or shell with a context of
// its own, other terminals unaffected.
package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/execplugin"
	"github.com/kubeiam/kubeiam/internal/iostreams"
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
// a *clierr.ExitCodeError (nil for 0).
func Run(ctx context.Context, opts *Options) error {
	dir, err := kubeconfig.SessionDir()
	if err != nil {
		return err
	}
	s, err := kubeconfig.NewSession(dir, kubeconfig.DefaultFiles(opts.Kubeconfig), opts.Context, os.Getpid())
	if err != nil {
		return withHint(err)
	}
	defer s.Remove()
	if parent := opts.Getenv(kubeconfig.SessionContextEnv); parent != "" {
		fmt.Fprintf(opts.IO.ErrOut, "kubeiam: nested shell: context %q inside the shell for %q; exit returns to it\n", opts.Context, parent)
	}
	argv := opts.Command
	if len(argv) == 0 {
		argv = []string{defaultShell(opts.Getenv)}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(childEnv(os.Environ()), "KUBECONFIG="+s.KubeconfigEnv(), kubeconfig.SessionContextEnv+"="+s.Context)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.IO.In, opts.IO.Out, opts.IO.ErrOut
	cmd.SysProcAttr = childAttr()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not run %s: %w", argv[0], err)
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
	err = cmd.Wait()
	close(done)
	if added := s.Added(); len(added) > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "kubeiam: entries added in this shell existed only in its private kubeconfig and are gone: %s (to keep one, add it again with --kubeconfig %s)\n",
			strings.Join(added, "; "), s.Files[1])
	}
	return exitCode(err)
}

// exitCode turns the command's end into kubeiam's: its code, or 128+N when
// signal N ended it, as shells report it.
func exitCode(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if n, ok := signalNumber(ee); ok {
			code = 128 + n
		}
		return &clierr.ExitCodeError{Code: code}
	}
	return err
}

// childEnv is env without what the front set for kubeiam-core alone.
func childEnv(env []string) []string {
	return slices.DeleteFunc(env, func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(execplugin.HandoverEnv, k)
	})
}

func withHint(err error) error {
	var ce *kubeconfig.ContextNotFoundError
	if errors.As(err, &ce) {
		return clierr.WithHint(err, "kubectl config get-contexts lists the contexts")
	}
	return err
}
