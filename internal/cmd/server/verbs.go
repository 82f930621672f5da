package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/text"
)

// InitOptions are the flags of `kubeiam server init`.
type InitOptions struct {
	IO        *iostreams.IOStreams
	ClusterID string
	Out       string
	Force     bool
}

// NewInitCmd builds `kubeiam server init`; runF replaces RunInit in tests.
func NewInitCmd(io *iostreams.IOStreams, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "init --cluster-id ID --out DIR",
		Short: "Write the server certificate, key and webhook kubeconfig for the control-plane hosts",
		Long: `Write what kube-apiserver and the authenticator server need on each
control-plane host, laid out as under /var/lib/kubeadm/aws-iam-authenticator/:

  pki/cert.pem, pki/key.pem   self-signed serving certificate (key 0600)
  kubeconfig.yaml             webhook kubeconfig (https://localhost:21362/authenticate)
  config.yaml                 clusterID
  kubeadm-patch.yaml          ClusterConfiguration extraArgs + extraVolumes

An existing cert.pem/key.pem in DIR is kept (the apiserver pins it) unless --force.`,
		Example: `  kubeiam server init --cluster-id "$(uuidgen)" --out ./aws-iam-authenticator`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return RunInit(opts)
		},
	}
	cmd.Flags().StringVar(&opts.ClusterID, "cluster-id", "", "cluster ID tokens are signed for (a new UUID when empty)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "output directory")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace an existing certificate and key")
	return cmd
}

// RunInit writes the files.
func RunInit(opts *InitOptions) error {
	if opts.Out == "" {
		return clierr.Usagef("--out DIR is required")
	}
	id := opts.ClusterID
	if id == "" {
		var err error
		if id, err = installer.NewClusterID(); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "cluster ID: %s (new)\n", id)
	}
	res, err := installer.Init(installer.InitOptions{ClusterID: id, Dir: opts.Out, Force: opts.Force})
	if err != nil {
		return err
	}
	for _, p := range res.Kept {
		fmt.Fprintf(opts.IO.ErrOut, "kept %s\n", p)
	}
	for _, p := range res.Written {
		fmt.Fprintf(opts.IO.ErrOut, "wrote %s\n", p)
	}
	fmt.Fprintf(opts.IO.ErrOut, "kube-apiserver: --authentication-token-webhook-config-file=%s\n", installer.WebhookConfigPath)
	fmt.Fprintf(opts.IO.ErrOut, "next: %s\n", ownershipHint(opts.Out))
	return nil
}

// ManifestsOptions are the flags of `kubeiam server manifests`.
type ManifestsOptions struct {
	IO *iostreams.IOStreams
	specFlags
	imageFlags
	ClusterID string
	CertDir   string
	Output    string
}

// NewManifestsCmd builds `kubeiam server manifests`.
func NewManifestsCmd(io *iostreams.IOStreams, runF func(*ManifestsOptions) error) *cobra.Command {
	opts := &ManifestsOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "manifests -f SPEC --image URI",
		Short: "Print the server's objects for a spec (RBAC, DaemonSet, ConfigMaps, CA Secret)",
		Long: `Print the objects kubeiam server install applies, for GitOps or review.
Without --cluster-id a new UUID is used; without --cert-dir the CA Secret is
left out (a printed private key would end up in a repository).`,
		Example: `  kubeiam server manifests -f my-cluster.yaml --image public.ecr.aws/eks-distro/kubernetes-sigs/aws-iam-authenticator:v0.7.2-eks-1-31-1
  kubeiam server manifests -f my-cluster.yaml --image IMG --cluster-id ID -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return RunManifests(cmd.Context(), opts)
		},
	}
	opts.specFlags.add(cmd)
	opts.imageFlags.add(cmd, "aws-iam-authenticator server image (or --manifest, or --bundles)")
	cmd.Flags().StringVar(&opts.ClusterID, "cluster-id", "", "cluster ID (a new UUID when empty)")
	cmd.Flags().StringVar(&opts.CertDir, "cert-dir", "", "directory written by `server init`: include the CA Secret with its cert.pem/key.pem")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "yaml", "yaml or json")
	return cmd
}

// RunManifests renders and prints.
func RunManifests(ctx context.Context, opts *ManifestsOptions) error {
	if opts.Output != "yaml" && opts.Output != "json" {
		return clierr.Usagef("unknown output format %q: use yaml or json", opts.Output)
	}
	spec, err := opts.load(opts.IO)
	if err != nil {
		return err
	}
	image, err := opts.imageFlags.resolve(ctx, opts.IO, spec)
	if err != nil {
		return err
	}
	if image == "" {
		return clierr.Usagef("one of --image, --manifest, --bundles is required")
	}
	ro := installer.RenderOptions{Image: image, ClusterID: opts.ClusterID}
	if ro.ClusterID == "" {
		if ro.ClusterID, err = installer.NewClusterID(); err != nil {
			return err
		}
	}
	if ro.CertPEM, ro.KeyPEM, err = readCertDir(opts.CertDir); err != nil {
		return err
	}
	objs, err := installer.Render(spec, ro)
	if err != nil {
		return err
	}
	b, err := installer.Encode(objs, opts.Output)
	if err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(b)
	return err
}

// ValidateOptions are the flags of `kubeiam server validate`.
type ValidateOptions struct {
	IO *iostreams.IOStreams
	specFlags
	AllowUnmatched bool
}

// NewValidateCmd builds `kubeiam server validate`.
func NewValidateCmd(io *iostreams.IOStreams, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "validate -f SPEC",
		Short: "Check a spec's AWSIamConfig and list every problem with its line",
		Long: `Check the AWSIamConfig the spec's Cluster names, as install and sync do, and
list every problem with its file and line. Entries the server can never match
(a role ARN with a path, mapAccounts a CRD-only server never reads) fail the
check too, so a GitOps pipeline stops a spec that would admit nobody; pass
--allow-unmatched to accept them. Exit code 1 on any error.`,
		Example: `  kubeiam server validate -f clusters/my-cluster/eksa-system/eksa-cluster.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return RunValidate(opts)
		},
	}
	opts.specFlags.add(cmd)
	cmd.Flags().BoolVar(&opts.AllowUnmatched, "allow-unmatched", false, "pass a spec whose entries include some the server can never match")
	return cmd
}

// RunValidate loads the spec and fails on errors and, unless allowed, on
// entries that never match.
func RunValidate(opts *ValidateOptions) error {
	spec, err := opts.load(opts.IO)
	if err != nil {
		return err
	}
	if n := len(installer.Unmatched(spec.Warnings)); n > 0 && !opts.AllowUnmatched {
		err := fmt.Errorf("could not validate %s: %s (AWSIamConfig %s)", opts.File, neverMatch(n), spec.Config.Name)
		if installer.Fixable(spec.Warnings) > 0 && opts.File != "-" {
			return clierr.WithHint(err, "kubeiam mappings fix -f %s rewrites what it can; or pass --allow-unmatched to accept %s", opts.File, text.Plural(n, "it", "them"))
		}
		return clierr.WithHint(err, "fix the %s listed above, or pass --allow-unmatched to accept %s", text.Plural(n, "line", "lines"), text.Plural(n, "it", "them"))
	}
	r, u, a := len(spec.Config.MapRoles), len(spec.Config.MapUsers), len(spec.Config.MapAccounts)
	fmt.Fprintf(opts.IO.ErrOut, "%s: AWSIamConfig %s of cluster %s is valid (%d %s, %d %s, %d %s)\n",
		opts.File, spec.Config.Name, spec.ClusterName,
		r, text.Plural(r, "role", "roles"), u, text.Plural(u, "user", "users"), a, text.Plural(a, "account", "accounts"))
	return nil
}

// ownershipHint is printed after init: the server runs as ServerUID and
// must read key.pem, which is 0600.
func ownershipHint(dir string) string {
	return fmt.Sprintf("copy %s to %s/ on every control-plane host, then: chown -R %d:%d %s/pki (the server runs as uid %d and key.pem is 0600)",
		strings.TrimSuffix(dir, "/"), installer.HostDir, installer.ServerUID, installer.ServerUID, installer.HostDir, installer.ServerUID)
}
