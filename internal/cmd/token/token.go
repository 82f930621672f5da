// Package token implements `kubeiam token`, the kubectl exec credential
// plugin. Its stdout carries only the ExecCredential (or, with --token-only,
// the bare token); everything for people goes to stderr.
package token

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/token"
)

// ClusterIDEnv is aws-iam-authenticator's variable for the cluster ID.
const ClusterIDEnv = "KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID"

// CacheEnv selects the cache backend when --cache is not given.
const CacheEnv = "KUBEIAM_CACHE"

// Options are the flags of `kubeiam token`.
type Options struct {
	IO     *iostreams.IOStreams
	Getenv func(string) string

	ClusterID          string
	RoleARN            string
	ExternalID         string
	SessionName        string
	ForwardSessionName bool
	Region             string
	Profile            string
	STSGlobal          bool
	FIPS               bool
	TokenOnly          bool
	Cache              string
	NoCache            bool
	Verbose            bool
}

// NewCmd builds `kubeiam token`; runF replaces Run in tests.
func NewCmd(io *iostreams.IOStreams, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: io, Getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "token -i CLUSTER_ID",
		Short: "Print an ExecCredential with a token for an aws-iam-authenticator cluster",
		Long: `Print a kubectl ExecCredential holding a token for the cluster ID, signed with
your AWS credentials (the AWS SDK's default chain: environment, profiles, SSO,
credential_process, web identity, ECS/IMDS), optionally after assuming a role.

The ExecCredential's apiVersion follows KUBERNETES_EXEC_INFO (v1 or v1beta1;
v1beta1 when unset). The token names the canonical STS host of the region
(--sts-global for sts.amazonaws.com); AWS_ENDPOINT_URL_STS redirects only
kubeiam's own STS calls such as AssumeRole.`,
		Example: `  # what a kubeconfig's exec block runs
  kubeiam token -i 6d9b1f5e-1c2a-4c36-9e0f-2a7d4e1c0b11

  # assume a role first, as a named session
  kubeiam token -i my-cluster -r arn:aws:iam::111122223333:role/k8s-admin -s alice

  # just the token, for curl
  kubeiam token -i my-cluster --token-only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.ClusterID == "" {
				opts.ClusterID = opts.Getenv(ClusterIDEnv)
			}
			if opts.ClusterID == "" {
				return clierr.WithHint(clierr.Usagef("a cluster ID is required"),
					"pass -i CLUSTER_ID (EKS-A keeps it in ConfigMap kube-system/aws-iam-authenticator) or set %s", ClusterIDEnv)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.ClusterID, "cluster-id", "i", "", "cluster ID the token is bound to (env "+ClusterIDEnv+")")
	f.StringVarP(&opts.RoleARN, "role-arn", "r", "", "assume this IAM role before signing")
	f.StringVar(&opts.RoleARN, "role", "", "alias of --role-arn")
	f.StringVarP(&opts.ExternalID, "external-id", "e", "", "external ID for the role assumption")
	f.StringVarP(&opts.SessionName, "session-name", "s", "", "session name for the role assumption")
	f.BoolVar(&opts.ForwardSessionName, "forward-session-name", false, "use the caller's own session name for the role assumption")
	f.StringVar(&opts.Region, "region", "", "region whose STS endpoint signs the token (default: the AWS configuration's, else us-east-1)")
	f.StringVar(&opts.Profile, "profile", "", "AWS profile to use (default: AWS_PROFILE, else the default chain)")
	f.BoolVar(&opts.STSGlobal, "sts-global", false, "sign for the global endpoint sts.amazonaws.com (us-east-1), for old servers")
	f.BoolVar(&opts.FIPS, "fips", false, "sign for the FIPS endpoint (also AWS_USE_FIPS_ENDPOINT=true)")
	f.BoolVar(&opts.TokenOnly, "token-only", false, "print only the token, not an ExecCredential")
	f.StringVar(&opts.Cache, "cache", "", "token cache: auto, keyring, file or none (env "+CacheEnv+"; bare --cache means auto)")
	f.Lookup("cache").NoOptDefVal = "auto"
	f.BoolVar(&opts.NoCache, "no-cache", false, "do not read or write the token cache (same as --cache=none)")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "explain choices on stderr (never secrets)")
	_ = f.MarkHidden("role")
	return cmd
}

// Run prints the credential.
func Run(ctx context.Context, opts *Options) error {
	info, err := token.ParseExecInfo(opts.Getenv(token.ExecInfoEnv))
	if err != nil {
		return clierr.WithHint(err, "the kubeconfig's exec apiVersion must be %s or %s", token.APIVersionV1, token.APIVersionV1beta1)
	}
	if _, err := cacheBackend(opts); err != nil {
		return err
	}
	topts := token.Options{
		ClusterID:          opts.ClusterID,
		Region:             opts.Region,
		Profile:            opts.Profile,
		STSGlobal:          opts.STSGlobal,
		FIPS:               opts.FIPS,
		RoleARN:            opts.RoleARN,
		ExternalID:         opts.ExternalID,
		SessionName:        opts.SessionName,
		ForwardSessionName: opts.ForwardSessionName,
		Interactive:        info.Interactive || (!info.FromKubectl && opts.IO.ErrIsTerminal),
		Prompt:             opts.IO.ErrOut,
		Input:              opts.IO.In,
	}
	if opts.Verbose {
		topts.Debug = opts.IO.ErrOut
	}
	sess, err := token.NewSession(ctx, topts)
	if err != nil {
		return err
	}
	topts.Debug = nil
	if opts.Verbose {
		fmt.Fprintf(opts.IO.ErrOut, "kubeiam: signing for %s (region %s, partition %s)\n", sess.Endpoint.Host, sess.Endpoint.SigningRegion, sess.Endpoint.Partition)
	}
	tok, _, err := sess.Token(ctx)
	if err != nil {
		return err
	}
	if opts.TokenOnly {
		_, err = fmt.Fprintln(opts.IO.Out, tok.Token)
		return err
	}
	return token.WriteExecCredential(opts.IO.Out, info.APIVersion, tok)
}

// cacheBackend resolves --cache, --no-cache and KUBEIAM_CACHE. The boolean
// spellings keep aws-iam-authenticator's `--cache` flag working.
func cacheBackend(opts *Options) (string, error) {
	if opts.NoCache {
		return "none", nil
	}
	v := opts.Cache
	if v == "" {
		v = opts.Getenv(CacheEnv)
	}
	switch strings.ToLower(v) {
	case "", "auto", "true":
		return "auto", nil
	case "none", "false", "off":
		return "none", nil
	case "file", "keyring":
		return strings.ToLower(v), nil
	}
	return "", clierr.Usagef("unknown cache backend %q (use auto, keyring, file or none)", v)
}
