// Package server holds the cobra layer of `kubeiam server`; the logic is in
// package installer.
package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/internal/clierr"
	mappingscmd "github.com/kubeiam/kubeiam/internal/cmd/mappings"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/mappings"
)

// NewCmd builds `kubeiam server` and its verbs.
func NewCmd(io *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Install and maintain the aws-iam-authenticator server from an EKS Anywhere spec",
		Long: `Set up the server side of IAM login from the AWSIamConfig in an EKS Anywhere
cluster spec, with the objects and names EKS Anywhere itself uses:

  init       certificate, key and webhook kubeconfig for the control-plane hosts
  manifests  print the objects (RBAC, DaemonSet, ConfigMaps, CA Secret)
  install    server-side apply them (field manager "kubeiam")
  sync       apply only the mapping changes (aws-auth; IAMIdentityMapping objects in CRD mode)

An installed cluster ID and CA are always kept: every client's token is
signed for that cluster ID and the apiserver pins the certificate.`,
	}
	cmd.AddCommand(NewInitCmd(io, nil), NewManifestsCmd(io, nil), NewInstallCmd(io, nil), NewSyncCmd(io, nil), NewValidateCmd(io, nil))
	return cmd
}

// specFlags are shared by the verbs that read a spec.
type specFlags struct {
	File string
}

func (s *specFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&s.File, "filename", "f", "", "EKS Anywhere cluster spec with the Cluster and its AWSIamConfig (- for stdin)")
}

func (s *specFlags) load(io *iostreams.IOStreams) (*installer.Spec, error) {
	if s.File == "" {
		return nil, clierr.Usagef("-f SPEC is required")
	}
	spec, err := installer.LoadSpec(s.File, io.In)
	var ve *installer.ValidationError
	if errors.As(err, &ve) {
		if n := installer.Fixable(ve.Problems); n > 0 && s.File != "-" {
			return nil, clierr.WithHint(err, "kubeiam mappings fix -f %s rewrites the %d marked (use ...); fix the other lines by hand; nothing was changed", s.File, n)
		}
		return nil, clierr.WithHint(err, "fix every line listed; nothing was changed")
	}
	if err != nil {
		return nil, err
	}
	for _, w := range spec.Warnings {
		fmt.Fprintln(io.ErrOut, w.String())
	}
	if n := installer.Fixable(spec.Warnings); n > 0 && s.File != "-" {
		fmt.Fprintf(io.ErrOut, "hint: %s; kubeiam mappings fix -f %s rewrites %s to the form the server matches\n", neverMatch(n), s.File, text.Plural(n, "it", "them"))
	}
	return spec, nil
}

// clusterFlags are shared by the verbs that talk to a cluster.
type clusterFlags struct {
	Kubeconfig string
	Context    string
}

func (c *clusterFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.Kubeconfig, "kubeconfig", "", "admin kubeconfig (default: KUBECONFIG, then ~/.kube/config)")
	cmd.Flags().StringVar(&c.Context, "context", "", "kubeconfig context (default: the current one)")
}

func (c *clusterFlags) client() (installer.Client, error) {
	cfg, err := installer.RESTConfig(c.Kubeconfig, c.Context)
	if err != nil {
		return nil, clierr.WithHint(err, "pass the cluster's admin kubeconfig with --kubeconfig (EKS Anywhere: <cluster>/<cluster>-eks-a-cluster.kubeconfig)")
	}
	return installer.NewClient(cfg)
}

// applyFlags are shared by install and sync.
type applyFlags struct {
	DryRun         bool
	ForceConflicts bool
	Prune          bool
	AllowLockout   bool
}

func (a *applyFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&a.DryRun, "dry-run", false, "server-side dry run: print the diff and change nothing")
	cmd.Flags().BoolVar(&a.ForceConflicts, "force-conflicts", false, "take over fields another field manager owns (e.g. after EKS Anywhere or kubectl apply)")
	cmd.Flags().BoolVar(&a.Prune, "prune", false, "drop aws-auth entries kubeiam did not write and the spec does not have")
	cmd.Flags().BoolVar(&a.AllowLockout, "allow-lockout", false, "apply a mapping change after which no mapping reaches cluster-admin, or that unmaps your own identity")
}

// hint adds the way out for the installer's typed errors.
func hint(err error) error {
	var (
		conflict  *installer.ConflictError
		forbidden *installer.ForbiddenError
		foreign   *installer.ForeignEntriesError
		immutable *installer.ImmutableError
		id        *installer.ClusterIDError
		notInst   *installer.NotInstalledError
		timeout   *installer.RolloutTimeoutError
		lockout   *mappings.LockoutError
		inactive  *installer.IdentityMappingTimeoutError
		crash     *installer.CrashLoopError
	)
	switch {
	case errors.As(err, &conflict):
		return clierr.WithHint(err, "another field manager owns these fields; rerun with --force-conflicts to take them over")
	case errors.As(err, &forbidden):
		return clierr.WithHint(err, "use a kubeconfig with cluster-admin rights (EKS Anywhere: <cluster>-eks-a-cluster.kubeconfig)")
	case errors.As(err, &foreign):
		return clierr.WithHint(err, "add them to the AWSIamConfig, or rerun with --prune to drop them; nothing was changed")
	case errors.As(err, &immutable):
		return clierr.WithHint(err, "awsRegion, partition and backendMode cannot change on an installed cluster; restore them in the spec; nothing was changed")
	case errors.As(err, &id):
		return clierr.WithHint(err, "leave out --cluster-id to keep the installed one")
	case errors.As(err, &notInst):
		return clierr.WithHint(err, "run kubeiam server install first")
	case errors.As(err, &lockout):
		return clierr.WithHint(err, "keep an admin mapping in the spec, or rerun with --allow-lockout if you have another way in; nothing was changed")
	case errors.As(err, &crash):
		return clierr.WithHint(err, "kubectl -n %s logs %s --previous; the objects are applied, fix the cause and rerun", installer.Namespace, crash.Pod)
	case errors.As(err, &inactive):
		return clierr.WithHint(err, "the objects are applied; does the server run with CRD in --backend-mode, and may it update them? kubectl auth can-i update iamidentitymappings/status --as=system:serviceaccount:kube-system:aws-iam-authenticator")
	case errors.As(err, &timeout):
		return clierr.WithHint(err, "kubectl -n kube-system describe daemonset aws-iam-authenticator; the objects are applied, rerun with --wait=false to skip waiting")
	}
	// Errors that carry their own way out (installer.OwnedARNsError).
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return clierr.WithHint(err, "%s", h.Hint())
	}
	return err
}

// report prints an install or sync result: diffs on stdout for a dry run
// (they are the product then), a summary on stderr otherwise.
func report(io *iostreams.IOStreams, res *installer.Result) error {
	for _, x := range []struct {
		title string
		d     installer.MappingDiff
	}{{"aws-auth mappings:", res.Mappings}, {mappings.CRDKind + " objects:", res.ObjectMappings}} {
		if x.d.Empty() {
			continue
		}
		fmt.Fprintln(io.ErrOut, x.title)
		for _, s := range x.d.Added {
			fmt.Fprintln(io.ErrOut, "  + "+s)
		}
		for _, s := range x.d.Changed {
			fmt.Fprintln(io.ErrOut, "  ~ "+s)
		}
		for _, s := range x.d.Removed {
			fmt.Fprintln(io.ErrOut, "  - "+s)
		}
	}
	for _, s := range res.LeftAlone {
		fmt.Fprintf(io.ErrOut, "left alone (not kubeiam's): %s\n", s)
	}
	if !res.Mappings.Empty() || !res.ObjectMappings.Empty() {
		fmt.Fprint(io.ErrOut, mappingscmd.DescribeAdmins(res.Admins, res.AdminSource))
	}
	if res.DryRun {
		for _, o := range res.Objects {
			if o.Diff != nil {
				if _, err := io.Out.Write(o.Diff); err != nil {
					return err
				}
			}
		}
	}
	n := 0
	for _, o := range res.Objects {
		if o.Action != "unchanged" {
			n++
		}
	}
	verb := "changed"
	if res.DryRun {
		verb = "would change"
	}
	if n == 0 {
		fmt.Fprintf(io.ErrOut, "no change: all %d objects are as the spec says (cluster ID %s)\n", len(res.Objects), res.ClusterID)
		return nil
	}
	fmt.Fprintf(io.ErrOut, "%s %d of %d objects (cluster ID %s", verb, n, len(res.Objects), res.ClusterID)
	if res.ClusterIDKept {
		fmt.Fprint(io.ErrOut, ", kept")
	}
	fmt.Fprintln(io.ErrOut, ")")
	return nil
}

// readCertDir reads cert.pem and key.pem written by `server init`.
func readCertDir(dir string) (cert, key []byte, err error) {
	if dir == "" {
		return nil, nil, nil
	}
	for _, d := range []string{filepath.Join(dir, "pki"), dir} {
		cert, err = os.ReadFile(filepath.Join(d, "cert.pem"))
		if err == nil {
			key, err = os.ReadFile(filepath.Join(d, "key.pem"))
			if err != nil {
				return nil, nil, fmt.Errorf("could not read key: %w", err)
			}
			return cert, key, nil
		}
	}
	return nil, nil, fmt.Errorf("could not read certificate from %s: %w", dir, err)
}

func defaultTimeout() time.Duration { return 5 * time.Minute }

// neverMatch words a count of entries the server can never match.
func neverMatch(n int) string {
	if n == 1 {
		return "this entry never matches a caller"
	}
	return fmt.Sprintf("these %d entries never match a caller", n)
}
