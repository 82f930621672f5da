package kubeconfig

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/handover"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/shellenv"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// UseOptions are the flags of `kubeiam use`.
type UseOptions struct {
	IO         *iostreams.IOStreams
	Context    string
	Kubeconfig string
	Store      kubeconfig.PreviousStore
	// Export prints shell assignments for a context of this shell alone
	// instead of switching the global one; Shell picks their syntax.
	Export bool
	Shell  string
	lockFlags
}

// NewUseCmd builds `kubeiam use`; runF replaces RunUse in tests.
func NewUseCmd(io *iostreams.IOStreams, runF func(*UseOptions) error) *cobra.Command {
	opts := &UseOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "use CONTEXT|-",
		Short: "Switch the current context (- switches back to the previous one); --export: for this shell only",
		Long: `Switch the current context of your kubeconfig, for every terminal, as
"kubectl config use-context" does. With --export, switch only the shell that
evaluates the output: it prints KUBECONFIG and KUBEIAM_CONTEXT assignments that
layer a private kubeconfig (current-context only) over your files, as
"kubeiam shell" does. The private file belongs to the shell that ran kubeiam
and is removed by a later kubeiam shell or use --export once that shell has
exited.`,
		Example: `  kubeiam use prod-aws
  kubeiam use -
  eval "$(kubeiam use prod-aws --export)"           # bash, zsh
  kubeiam use prod-aws --export | source            # fish
  kubeiam use prod-aws --export --shell powershell | Invoke-Expression`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Context = args[0]
			if opts.Export && opts.Context == "-" {
				return clierr.Usagef("use - --export: there is no previous context of a shell; name the context")
			}
			if opts.Shell != "" && !opts.Export {
				return clierr.Usagef("--shell only applies with --export")
			}
			opts.Store = kubeconfig.DefaultPreviousStore()
			if runF != nil {
				return runF(opts)
			}
			return RunUse(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	cmd.Flags().BoolVar(&opts.Export, "export", false, "print shell assignments that switch only the shell evaluating them")
	cmd.Flags().StringVar(&opts.Shell, "shell", "", "syntax of --export: bash, zsh, sh, fish, powershell (default: from SHELL)")
	_ = cmd.RegisterFlagCompletionFunc("shell", cobra.FixedCompletions(shellenv.Names, cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().DurationVar(&opts.LockTimeout, "lock-timeout", kubeconfig.DefaultLockTimeout, "how long to wait for another kubectl or kubeiam to release <file>.lock")
	return cmd
}

// RunUse switches the context.
func RunUse(cmd *cobra.Command, opts *UseOptions) error {
	if opts.Export {
		return runExport(opts)
	}
	name, err := kubeconfig.Use(cmd.Context(), kubeconfig.DefaultFiles(opts.Kubeconfig), opts.Context, opts.Store, opts.editOptions(opts.IO))
	if err != nil {
		return withLockHint(err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "switched to context %q\n", name)
	return nil
}

// runExport makes a session owned by the shell whose command substitution
// runs kubeiam, and prints the assignments for it.
func runExport(opts *UseOptions) error {
	kind, err := exportShell(opts.Shell)
	if err != nil {
		return err
	}
	dir, err := kubeconfig.SessionDir()
	if err != nil {
		return err
	}
	s, err := kubeconfig.NewSession(dir, kubeconfig.DefaultFiles(opts.Kubeconfig), opts.Context, callerPID())
	if err != nil {
		return withLockHint(err)
	}
	_, err = io.WriteString(opts.IO.Out, shellenv.Exports(kind,
		shellenv.Var{Name: "KUBECONFIG", Value: s.KubeconfigEnv()},
		shellenv.Var{Name: kubeconfig.SessionContextEnv, Value: s.Context}))
	return err
}

func exportShell(flag string) (shellenv.Kind, error) {
	if flag != "" {
		k, err := shellenv.Parse(flag)
		if err != nil {
			return "", &clierr.UsageError{Err: fmt.Errorf("invalid --shell: %w", err)}
		}
		return k, nil
	}
	k, err := shellenv.Detect(os.Getenv("SHELL"), runtime.GOOS)
	if err != nil {
		return "", clierr.WithHint(err, "name it with --shell (%s)", strings.Join(shellenv.Names, ", "))
	}
	return k, nil
}

// callerPID is the process that ran kubeiam: as the front saw it (on
// Windows the core is the front's child), else the parent — the same
// process on Unix, where the front execs the core in place.
func callerPID() int {
	if p, err := strconv.Atoi(os.Getenv(handover.CallerPIDEnv)); err == nil && p > 0 {
		return p
	}
	return os.Getppid()
}
