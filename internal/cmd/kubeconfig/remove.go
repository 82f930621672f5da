package kubeconfig

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// RemoveOptions are the flags of `kubeiam kubeconfig remove`.
type RemoveOptions struct {
	IO         *iostreams.IOStreams
	Cluster    string
	Kubeconfig string
	lockFlags
}

// NewRemoveCmd builds `kubeiam kubeconfig remove`; runF replaces RunRemove in tests.
func NewRemoveCmd(io *iostreams.IOStreams, runF func(*RemoveOptions) error) *cobra.Command {
	opts := &RemoveOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "remove --cluster NAME",
		Short: "Remove a cluster's IAM entries (cluster NAME, user and context NAME-aws)",
		Long: `Remove the context and user NAME-aws and the cluster NAME that
"kubeiam kubeconfig write --merge" added. A cluster or user that another context
still uses is kept. current-context is cleared if it was NAME-aws.`,
		Example: `  kubeiam kubeconfig remove --cluster prod`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Cluster == "" {
				return clierr.Usagef("--cluster is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return RunRemove(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Cluster, "cluster", "", "cluster name (required)")
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: first of KUBECONFIG, or ~/.kube/config)")
	opts.lockFlags.add(cmd)
	return cmd
}

// RunRemove removes the entries.
func RunRemove(cmd *cobra.Command, opts *RemoveOptions) error {
	res, r, err := kubeconfig.RemoveFromFile(cmd.Context(), kubeconfig.Target(opts.Kubeconfig), opts.Cluster, opts.editOptions(opts.IO))
	if err != nil {
		return withLockHint(err)
	}
	what := "removed " + strings.Join(r.Removed, ", ")
	if len(r.Kept) > 0 {
		what += fmt.Sprintf("; kept %s (used by other contexts)", strings.Join(r.Kept, ", "))
	}
	return report(opts.IO, res, opts.DryRun, what)
}
