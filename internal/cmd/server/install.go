package server

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

// InstallOptions are the flags of `kubeiam server install`.
type InstallOptions struct {
	IO *iostreams.IOStreams
	specFlags
	clusterFlags
	applyFlags
	imageFlags
	ClusterID string
	CertDir   string
	Wait      bool
	Timeout   time.Duration
}

// NewInstallCmd builds `kubeiam server install`.
func NewInstallCmd(io *iostreams.IOStreams, runF func(*InstallOptions) error) *cobra.Command {
	opts := &InstallOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "install -f SPEC --kubeconfig ADMIN --image URI",
		Short: "Server-side apply the server's objects and wait for the DaemonSet",
		Long: `Apply every object for the spec's AWSIamConfig with server-side apply (field
manager "kubeiam"). Everything is checked and dry-run on the server before the
first write, so a refusal changes nothing. An installed cluster ID and CA
Secret are kept; a second run with the same spec changes nothing and says so.

The mappings go where the spec's backendMode says the server reads them:
aws-auth for EKSConfigMap; for CRD the IAMIdentityMapping CRD and one object
per mapRoles/mapUsers entry. With --wait, install waits for the DaemonSet and
then until the server has activated every IAMIdentityMapping.`,
		Example: `  kubeiam server install -f my-cluster.yaml --kubeconfig my-cluster/my-cluster-eks-a-cluster.kubeconfig --image IMG
  kubeiam server install -f my-cluster.yaml --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return RunInstall(cmd.Context(), opts)
		},
	}
	opts.specFlags.add(cmd)
	opts.clusterFlags.add(cmd)
	opts.applyFlags.add(cmd)
	opts.imageFlags.add(cmd, "aws-iam-authenticator server image (default: the installed DaemonSet's; or --manifest, or --bundles)")
	cmd.Flags().StringVar(&opts.ClusterID, "cluster-id", "", "cluster ID for a first install (default: a new UUID; an installed one is always kept)")
	cmd.Flags().StringVar(&opts.CertDir, "cert-dir", "", "use the certificate `server init` wrote there when the cluster has no CA Secret yet")
	cmd.Flags().BoolVar(&opts.Wait, "wait", true, "wait for the DaemonSet rollout and, in CRD mode, the IAMIdentityMapping status")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", defaultTimeout(), "how long to wait for the rollout")
	return cmd
}

// RunInstall validates, applies and waits.
func RunInstall(ctx context.Context, opts *InstallOptions) error {
	spec, err := opts.load(opts.IO)
	if err != nil {
		return err
	}
	image, err := opts.imageFlags.resolve(ctx, opts.IO, spec)
	if err != nil {
		return err
	}
	cert, key, err := readCertDir(opts.CertDir)
	if err != nil {
		return err
	}
	c, err := opts.client()
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := installer.Install(ctx, c, spec, installer.Options{
		Image: image, ClusterID: opts.ClusterID, CertPEM: cert, KeyPEM: key,
		DryRun: opts.DryRun, ForceConflicts: opts.ForceConflicts, Prune: opts.Prune, AllowLockout: opts.AllowLockout,
		Wait: opts.Wait, Timeout: opts.Timeout, Progress: opts.IO.ErrOut,
	})
	if res != nil {
		if rerr := report(opts.IO, res); rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return hint(err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "done in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// SyncOptions are the flags of `kubeiam server sync`.
type SyncOptions struct {
	IO *iostreams.IOStreams
	specFlags
	clusterFlags
	applyFlags
	Wait    bool
	Timeout time.Duration
}

// NewSyncCmd builds `kubeiam server sync`.
func NewSyncCmd(io *iostreams.IOStreams, runF func(*SyncOptions) error) *cobra.Command {
	opts := &SyncOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "sync -f SPEC --kubeconfig ADMIN",
		Short: "Apply the spec's mappings where the server reads them, showing the change",
		Long: `Bring the mappings the server reads in line with the spec's mapRoles, mapUsers
and mapAccounts: the seed's "upgrade cluster" step for mapping edits alone.

  EKSConfigMap  ConfigMap kube-system/aws-auth
  CRD           the IAMIdentityMapping CRD, and one IAMIdentityMapping per
                mapRoles/mapUsers entry (labelled app.kubernetes.io/managed-by:
                kubeiam); objects without that label are left alone, and sync
                says so

Refuses a spec whose awsRegion, partition or backendMode differ from the
installed server's, and refuses to drop aws-auth entries kubeiam did not write
(node roles, hand-made entries) unless --prune. With --wait it returns once the
server has activated every IAMIdentityMapping (written its status.canonicalARN).`,
		Example: `  kubeiam server sync -f clusters/my-cluster/eksa-system/eksa-cluster.yaml --kubeconfig ADMIN
  kubeiam server sync -f my-cluster.yaml --dry-run
  kubeiam server sync -f my-cluster.yaml --kubeconfig ADMIN --wait --timeout 1m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return RunSync(cmd.Context(), opts)
		},
	}
	opts.specFlags.add(cmd)
	opts.clusterFlags.add(cmd)
	opts.applyFlags.add(cmd)
	cmd.Flags().BoolVar(&opts.Wait, "wait", false, "wait until the server has activated every IAMIdentityMapping (CRD mode)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 2*time.Minute, "how long to wait")
	return cmd
}

// RunSync applies the mappings.
func RunSync(ctx context.Context, opts *SyncOptions) error {
	spec, err := opts.load(opts.IO)
	if err != nil {
		return err
	}
	c, err := opts.client()
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := installer.Sync(ctx, c, spec, installer.Options{
		DryRun: opts.DryRun, ForceConflicts: opts.ForceConflicts, Prune: opts.Prune, AllowLockout: opts.AllowLockout, Progress: opts.IO.ErrOut,
		Wait: opts.Wait, Timeout: opts.Timeout,
	})
	if res != nil {
		if rerr := report(opts.IO, res); rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return hint(err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "done in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}
