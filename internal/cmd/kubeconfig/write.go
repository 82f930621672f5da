package kubeconfig

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// WriteOptions are the flags of `kubeiam kubeconfig write`.
type WriteOptions struct {
	IO     *iostreams.IOStreams
	Input  kubeconfig.WriteInput
	Output kubeconfig.OutputOptions
	lockFlags
}

// NewWriteCmd builds `kubeiam kubeconfig write`; runF replaces RunWrite in tests.
func NewWriteCmd(io *iostreams.IOStreams, runF func(*WriteOptions) error) *cobra.Command {
	opts := &WriteOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "write --cluster NAME",
		Short: "Write the IAM kubeconfig of an EKS Anywhere cluster",
		Long: `Write NAME/NAME-aws.kubeconfig as EKS Anywhere does (cluster NAME, user and
context NAME-aws), with an exec block that runs kubeiam.

The server and CA come from the admin kubeconfig (default
NAME/NAME-eks-a-cluster.kubeconfig) or from --server and --certificate-authority.
The cluster ID is read from the cluster's kube-system/aws-iam-authenticator
ConfigMap through the admin kubeconfig unless --cluster-id gives it.`,
		Example: `  # In the directory where eksctl anywhere create cluster ran
  kubeiam kubeconfig write --cluster prod --profile prod-admins

  # Into ~/.kube/config instead, showing the change first
  kubeiam kubeconfig write --cluster prod --merge --dry-run
  kubeiam kubeconfig write --cluster prod --merge --set-current-context

  # Without the admin kubeconfig
  kubeiam kubeconfig write --cluster prod --server https://10.0.0.10:6443 \
      --certificate-authority ca.pem --cluster-id 5f0c…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Input.Cluster == "" {
				return clierr.Usagef("--cluster is required")
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
	f.StringVar(&in.RoleARN, "role-arn", "", "IAM role the plugin assumes for this cluster")
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
