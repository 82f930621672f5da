package mappings

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/text"
)

// FixOptions are the flags of `kubeiam mappings fix`.
type FixOptions struct {
	IO *iostreams.IOStreams
	editFlags
}

// NewFixCmd builds `kubeiam mappings fix`; runF replaces RunFix in tests.
func NewFixCmd(io *iostreams.IOStreams, runF func(*FixOptions) error) *cobra.Command {
	opts := &FixOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "fix -f SPEC",
		Short: "Rewrite mapping ARNs the server can never match to the form it matches",
		Long: `Rewrite, in place, every mapRoles/mapUsers ARN that the authenticator server
compares with callers but can never equal: a role path (every IAM Identity
Center role has one, aws-reserved/sso.amazonaws.com/...), an STS session ARN
instead of its role, a partition other than the cluster's, an account written
with dashes, a region, surrounding whitespace. Comments and layout stay.

An ARN no rewrite can make right (an account that is not 12 digits, a user
ARN in mapRoles) is listed with its line and left for you; so is a fix that
would map an identity a second time. The exit code is 1 while any are left.`,
		Example: `  kubeiam mappings fix -f clusters/my-cluster/eksa-system/eksa-cluster.yaml --dry-run
  kubeiam mappings fix -f clusters/my-cluster/eksa-system/eksa-cluster.yaml && kubeiam server sync -f ...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return RunFix(opts)
		},
	}
	opts.editFlags.add(cmd)
	return cmd
}

// RunFix rewrites what it can and lists the rest.
func RunFix(opts *FixOptions) error {
	sf, err := readSpecFile(opts.File)
	if err != nil {
		return err
	}
	res, fixed, left, err := installer.FixSpec(opts.File, sf.data)
	if err != nil {
		return hint(err)
	}
	verb := "fixed"
	if opts.DryRun {
		verb = "would fix"
	}
	for _, p := range fixed {
		fmt.Fprintf(opts.IO.ErrOut, "%s:%d: %s %s: %s → %s\n", p.File, p.Line, verb, p.Path, p.Msg, p.Fix)
	}
	if len(fixed) > 0 {
		if err := sf.commit(opts.IO, opts.DryRun, res.Data); err != nil {
			return err
		}
	}
	for _, p := range left {
		fmt.Fprintln(opts.IO.ErrOut, p.String())
	}
	switch {
	case len(left) > 0:
		return clierr.WithHint(fmt.Errorf("%s: %d %s left that no rewrite fixes", opts.File, len(left), text.Plural(len(left), "problem", "problems")),
			"fix those lines by hand, then kubeiam server validate -f %s", opts.File)
	case len(fixed) == 0:
		fmt.Fprintf(opts.IO.ErrOut, "%s: nothing to fix: every mapping ARN is one the server can match\n", opts.File)
	case !opts.DryRun:
		fmt.Fprintf(opts.IO.ErrOut, "%s: %d %s rewritten; apply with: kubeiam server sync -f %s\n", opts.File, len(fixed), text.Plural(len(fixed), "entry", "entries"), opts.File)
	}
	return nil
}
