package kubeconfig

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// AdoptOptions are the flags of `kubeiam kubeconfig adopt`.
type AdoptOptions struct {
	IO         *iostreams.IOStreams
	Contexts   []string
	All        bool
	Kubeconfig string
	lockFlags
}

// NewAdoptCmd builds `kubeiam kubeconfig adopt`; runF replaces RunAdopt in tests.
func NewAdoptCmd(io *iostreams.IOStreams, runF func(*AdoptOptions) error) *cobra.Command {
	opts := &AdoptOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "adopt [CONTEXT...|--all]",
		Short: "Switch aws-iam-authenticator and aws eks get-token entries to kubeiam",
		Long: `Rewrite exec blocks that run "aws-iam-authenticator token -i ID [-r ROLE]" or
"aws eks get-token --cluster-name|--cluster-id ID [--role-arn ROLE]" to run
"kubeiam token" with the same cluster ID, role, region and profile. A profile
set through AWS_PROFILE in the exec env becomes --profile, which
AWS_ACCESS_KEY_ID in your environment cannot override.

Entries with arguments kubeiam has no equivalent for are left as they are.`,
		Example: `  kubeiam kubeconfig adopt --all --dry-run
  kubeiam kubeconfig adopt prod-aws`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Contexts = args
			if opts.All == (len(args) > 0) {
				return clierr.Usagef("name contexts to adopt or pass --all, not both")
			}
			if runF != nil {
				return runF(opts)
			}
			return RunAdopt(cmd, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "adopt every context that can be")
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	opts.lockFlags.add(cmd)
	return cmd
}

// RunAdopt adopts the contexts.
func RunAdopt(cmd *cobra.Command, opts *AdoptOptions) error {
	files := kubeconfig.DefaultFiles(opts.Kubeconfig)
	adoptions, results, err := kubeconfig.AdoptInFiles(cmd.Context(), files, opts.Contexts, opts.editOptions(opts.IO))
	if err != nil {
		return withLockHint(err)
	}
	failed := 0
	for _, a := range adoptions {
		switch {
		case a.Adopted && a.To != nil:
			fmt.Fprintf(opts.IO.ErrOut, "%s: %s -> %s\n", a.Context, strings.Join(a.From, " "), strings.Join(a.To, " "))
		case a.Adopted:
			fmt.Fprintf(opts.IO.ErrOut, "%s: %s\n", a.Context, a.Reason)
		default:
			fmt.Fprintf(opts.IO.ErrOut, "%s: left unchanged: %s\n", a.Context, a.Reason)
			if a.Reason != "already kubeiam" {
				failed++
			}
		}
	}
	for _, res := range results {
		if err := report(opts.IO, res, opts.DryRun, "adopted"); err != nil {
			return err
		}
	}
	// Naming a context that cannot be adopted is a failure the caller
	// should see in the exit code; --all only reports.
	if failed > 0 && !opts.All {
		return fmt.Errorf("could not adopt %d of %d contexts", failed, len(opts.Contexts))
	}
	return nil
}
