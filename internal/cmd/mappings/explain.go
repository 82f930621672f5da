package mappings

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/cmd/whoami"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

// NewExplainCmd builds `kubeiam mappings explain`: whoami's matching for a
// given ARN, worded as the server's answer.
func NewExplainCmd(io *iostreams.IOStreams, runF func(*whoami.Options) error) *cobra.Command {
	opts := &whoami.Options{IO: io, Explain: true, Timeout: 30 * time.Second, Now: time.Now}
	var ef eksFlags
	cmd := &cobra.Command{
		Use:   "explain --arn ARN (-f SPEC | --kubeconfig ADMIN | --eks CLUSTER)",
		Short: "Say which mapping the server picks for a caller ARN, and the user and groups it gives",
		Long: `Answer "why is this caller Unauthorized" without a login: take a caller ARN — an
IAM user, a role session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION), or
a role, standing for any of its sessions — and walk aws-iam-authenticator's
own rules: the ARN made canonical (a session becomes its role, with no path),
the backend modes in the server's order, mapRoles before mapUsers before
mapAccounts, ARNs compared lower-cased, then the user name and group
templates ({{SessionName}}, {{SessionNameRaw}}, {{AccountID}},
{{AccessKeyID}}, {{EC2PrivateDNSName}}) rendered.

The mappings come from a spec's AWSIamConfig (-f: its entries where a sync
puts them, aws-auth and/or IAMIdentityMapping objects) or from the cluster
(--kubeconfig ADMIN: the DaemonSet's backend order, ConfigMap
kube-system/aws-auth and the IAMIdentityMapping objects, matched on the
status.canonicalARN the server writes; one without it is "not active yet").
The report names each backend walked and the one that answered.
With --eks CLUSTER, walk what EKS walks in the cluster's authentication mode:
the access entry of the caller's IAM principal (a role with the path IAM
gives it), then, unless the mode is API, aws-auth read at the cluster's own
endpoint with a kubeiam token (--kubeconfig/--context to read it otherwise).

Exit code 1 when no mapping applies: the server answers Unauthorized.`,
		Example: `  kubeiam mappings explain -f eksa-cluster.yaml --arn arn:aws:sts::111122223333:assumed-role/Admin/alice
  kubeiam mappings explain --kubeconfig prod/prod-eks-a-cluster.kubeconfig --arn arn:aws:iam::111122223333:user/bob -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.ARN == "":
				return clierr.Usagef("--arn ARN is required")
			case ef.Cluster != "" && opts.Spec != "":
				return clierr.Usagef("give one source of mappings: -f SPEC or --eks CLUSTER")
			case ef.Cluster != "":
				if opts.Output != "" && opts.Output != "json" {
					return clierr.Usagef("unknown output format %q: use json or leave it out", opts.Output)
				}
				if runF != nil {
					return runF(opts)
				}
				return runEKSExplain(cmd.Context(), io, &ef, opts.ARN, opts.Output)
			case (opts.Spec == "") == (opts.Kubeconfig == ""):
				return clierr.Usagef("give one source of mappings: -f SPEC or --kubeconfig ADMIN")
			case opts.Output != "" && opts.Output != "json":
				return clierr.Usagef("unknown output format %q: use json or leave it out", opts.Output)
			}
			if runF != nil {
				return runF(opts)
			}
			return whoami.Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ARN, "arn", "", "caller ARN: IAM user or role, or STS assumed-role session")
	f.StringVarP(&opts.Spec, "filename", "f", "", "EKS Anywhere cluster spec whose AWSIamConfig holds the mappings")
	f.StringVar(&opts.Kubeconfig, "kubeconfig", "", "admin kubeconfig to read the server's backend modes, aws-auth and IAMIdentityMapping objects with")
	f.StringVarP(&opts.Output, "output", "o", "", "output format: json")
	ef.add(cmd, &opts.Kubeconfig)
	return cmd
}
