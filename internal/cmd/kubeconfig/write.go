package kubeconfig

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/eks"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// WriteOptions are the flags of `kubeiam kubeconfig write`.
type WriteOptions struct {
	IO     *iostreams.IOStreams
	Input  kubeconfig.WriteInput
	Output kubeconfig.OutputOptions
	// EKS is the EKS cluster name (--eks); Alias and UserAlias name its
	// context and user instead of the ARN.
	EKS, Alias, UserAlias string
	lockFlags
}

// NewWriteCmd builds `kubeiam kubeconfig write`; runF replaces RunWrite in tests.
func NewWriteCmd(io *iostreams.IOStreams, runF func(*WriteOptions) error) *cobra.Command {
	opts := &WriteOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "write --cluster NAME | --eks NAME",
		Short: "Write the IAM kubeconfig of an EKS Anywhere or EKS cluster",
		Long: `Write NAME/NAME-aws.kubeconfig as EKS Anywhere does (cluster NAME, user and
context NAME-aws), with an exec block that runs kubeiam.

The server and CA come from the admin kubeconfig (default
NAME/NAME-eks-a-cluster.kubeconfig) or from --server and --certificate-authority.
The cluster ID is read from the cluster's kube-system/aws-iam-authenticator
ConfigMap through the admin kubeconfig unless --cluster-id gives it.

With --eks NAME, the cluster is an EKS cluster: DescribeCluster (in --region,
as --profile) gives the endpoint, CA and ARN. Cluster, user and context are
named by the ARN, as "aws eks update-kubeconfig" names them (--alias and
--user-alias rename context and user); with --role-arn, user and context are
ARN@ROLE-NAME, so each role for a cluster keeps its own. The exec block runs
"kubeiam token -i NAME --region R [--profile P]" (the cluster id for Outposts
local clusters). The entries are merged into --kubeconfig (or KUBECONFIG's
first file, or ~/.kube/config) unless --output names a file, and
current-context changes only with --set-current-context. The cluster must be
ACTIVE or UPDATING.`,
		Example: `  # In the directory where eksctl anywhere create cluster ran
  kubeiam kubeconfig write --cluster prod --profile prod-admins

  # Into ~/.kube/config instead, showing the change first
  kubeiam kubeconfig write --cluster prod --merge --dry-run
  kubeiam kubeconfig write --cluster prod --merge --set-current-context

  # An EKS cluster, into ~/.kube/config, for two roles
  kubeiam kubeconfig write --eks prod --region eu-west-1 --profile work
  kubeiam kubeconfig write --eks prod --region eu-west-1 --profile work -r arn:aws:iam::111122223333:role/Viewer

  # Without the admin kubeconfig
  kubeiam kubeconfig write --cluster prod --server https://10.0.0.10:6443 \
      --certificate-authority ca.pem --cluster-id 5f0c…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.EKS != "" {
				if err := checkEKSFlags(cmd, opts); err != nil {
					return err
				}
			} else if opts.Input.Cluster == "" {
				return clierr.Usagef("--cluster or --eks is required")
			} else if f := changedAny(cmd, "region", "alias", "user-alias"); f != "" {
				return clierr.Usagef("--%s only applies with --eks", f)
			}
			if (opts.Input.Server == "") != (opts.Input.CAFile == "") {
				return clierr.Usagef("--server and --certificate-authority go together")
			}
			if opts.Output.Merge && cmd.Flags().Changed("output") {
				return clierr.Usagef("--output and --merge exclude each other: --merge writes to --kubeconfig")
			}
			if !opts.Output.Merge && (cmd.Flags().Changed("kubeconfig") || opts.Output.SetCurrentContext) {
				return clierr.Usagef("--kubeconfig and --set-current-context only apply with --merge")
			}
			opts.Output.DryRun, opts.Output.LockTimeout, opts.Output.Notify = opts.DryRun, opts.LockTimeout, notify(opts.IO)
			if runF != nil {
				return runF(opts)
			}
			if opts.EKS != "" {
				return RunWriteEKS(cmd, opts)
			}
			return RunWrite(cmd, opts)
		},
	}
	f := cmd.Flags()
	in, out := &opts.Input, &opts.Output
	f.StringVar(&in.Cluster, "cluster", "", "EKS Anywhere cluster name (required)")
	f.StringVar(&in.From, "from", "", "admin kubeconfig to take the server and CA from (default NAME/NAME-eks-a-cluster.kubeconfig)")
	f.StringVar(&in.Server, "server", "", "API server URL, instead of --from")
	f.StringVar(&in.CAFile, "certificate-authority", "", "PEM file of the cluster CA, with --server")
	f.StringVar(&in.ClusterID, "cluster-id", "", "authenticator cluster ID (default: read from the cluster)")
	f.StringVar(&in.ExecCommand, "exec-command", "kubeiam", "credential plugin to run: kubeiam or aws-iam-authenticator")
	f.BoolVar(&in.ExecAbsolute, "exec-absolute", false, "write the plugin's absolute path")
	f.StringVar(&in.ExecAPIVersion, "exec-api-version", "v1beta1", "exec API version: v1beta1 or v1")
	f.StringVar(&in.Profile, "profile", "", "AWS profile the plugin uses for this cluster")
	f.StringVarP(&in.RoleARN, "role-arn", "r", "", "IAM role the plugin assumes for this cluster")
	f.StringVar(&opts.EKS, "eks", "", "EKS cluster name: describe it and write its entries (instead of --cluster)")
	f.StringVar(&in.Region, "region", "", "region of the --eks cluster (default: the profile's region)")
	f.StringVar(&opts.Alias, "alias", "", "context name for the --eks cluster (default: its ARN)")
	f.StringVar(&opts.UserAlias, "user-alias", "", "user name for the --eks cluster (default: its ARN)")
	f.StringArrayVar(&in.Env, "env", nil, "NAME=VALUE environment for the plugin (repeatable)")
	f.StringVarP(&out.Output, "output", "o", "", "file to write (default NAME/NAME-aws.kubeconfig)")
	f.BoolVar(&out.Merge, "merge", false, "merge into --kubeconfig, the first KUBECONFIG file or ~/.kube/config")
	f.StringVar(&out.Kubeconfig, "kubeconfig", "", "kubeconfig to merge into")
	f.BoolVar(&out.SetCurrentContext, "set-current-context", false, "make NAME-aws the current context when merging")
	opts.lockFlags.add(cmd)
	return cmd
}

// RunWrite writes the kubeconfig.
func RunWrite(cmd *cobra.Command, opts *WriteOptions) error {
	res, e, err := kubeconfig.Write(cmd.Context(), opts.Input, opts.Output)
	if err != nil {
		return withLockHint(err)
	}
	return report(opts.IO, res, opts.DryRun, fmt.Sprintf("wrote context %s (cluster %s, cluster ID %s)", e.ContextName, e.ClusterName, e.ClusterID))
}

// eksExcluded are the EKS Anywhere flags that make no sense with --eks.
var eksExcluded = []string{"cluster", "from", "server", "certificate-authority", "cluster-id", "env", "exec-absolute"}

func checkEKSFlags(cmd *cobra.Command, opts *WriteOptions) error {
	if f := changedAny(cmd, eksExcluded...); f != "" {
		return clierr.Usagef("--%s does not apply with --eks", f)
	}
	// As aws eks update-kubeconfig: merge unless a file is named.
	if !cmd.Flags().Changed("output") {
		opts.Output.Merge = true
	}
	return nil
}

func changedAny(cmd *cobra.Command, names ...string) string {
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			return n
		}
	}
	return ""
}

// RunWriteEKS describes the EKS cluster and writes its entries.
func RunWriteEKS(cmd *cobra.Command, opts *WriteOptions) error {
	in := opts.Input
	cfg, err := eks.LoadProfile(cmd.Context(), in.Profile, in.Region)
	if err != nil {
		return err
	}
	c := eks.NewClient(cfg, in.Profile, cfg.Region, eks.ClientOptions{})
	eo := eks.EntryOptions{Profile: in.Profile, RoleARN: in.RoleARN, Alias: opts.Alias, UserAlias: opts.UserAlias,
		ExecCommand: in.ExecCommand, ExecAPIVersion: in.ExecAPIVersion}
	res, e, err := eks.Write(cmd.Context(), c, opts.EKS, eo, opts.Output)
	if err != nil {
		var se *eks.StatusError
		if errors.As(err, &se) {
			return clierr.WithHint(err, "wait until aws eks describe-cluster --name %s --region %s says ACTIVE", se.Cluster.Name, se.Cluster.Region)
		}
		return withLockHint(err)
	}
	return report(opts.IO, res, opts.DryRun, fmt.Sprintf("wrote context %s (cluster %s, cluster ID %s)", e.ContextName, e.ClusterName, e.ClusterID))
}
