package kubeconfig

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// UseOptions are the flags of `kubeiam use`.
type UseOptions struct {
	IO         *iostreams.IOStreams
	Context    string
	Kubeconfig string
	Store      kubeconfig.PreviousStore
	lockFlags
}

// NewUseCmd builds `kubeiam use`; runF replaces RunUse in tests.
func NewUseCmd(io *iostreams.IOStreams, runF func(*UseOptions) error) *cobra.Command {
	opts := &UseOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "use CONTEXT|-",
		Short: "Switch the current context (- switches back to the previous one)",
		Example: `  kubeiam use prod-aws
  kubeiam use -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Context = args[0]
			opts.Store = kubeconfig.DefaultPreviousStore()
			if runF != nil {
				return runF(opts)
			}
			return RunUse(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	cmd.Flags().DurationVar(&opts.LockTimeout, "lock-timeout", kubeconfig.DefaultLockTimeout, "how long to wait for another kubectl or kubeiam to release <file>.lock")
	return cmd
}

// RunUse switches the context.
func RunUse(cmd *cobra.Command, opts *UseOptions) error {
	name, err := kubeconfig.Use(cmd.Context(), kubeconfig.DefaultFiles(opts.Kubeconfig), opts.Context, opts.Store, opts.editOptions(opts.IO))
	if err != nil {
		return withLockHint(err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "switched to context %q\n", name)
	return nil
}
