// Package verify implements `kubeiam verify`: the authenticator server's
// checks on a token, offline, and optionally the STS call the server makes.
package verify

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/token"
)

// Options are the flags of `kubeiam verify`.
type Options struct {
	IO        *iostreams.IOStreams
	Token     string
	ClusterID string
	Partition string
	// ServerRegion is the region the server runs in (its EC2 instance
	// metadata): it also accepts that region's STS host.
	ServerRegion string
	STS          bool
	Output       string
	Now          func() time.Time
}

// NewCmd builds `kubeiam verify`; runF replaces Run in tests.
func NewCmd(io *iostreams.IOStreams, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: io, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "verify -t TOKEN -i CLUSTER_ID",
		Short: "Check a token the way the aws-iam-authenticator server does",
		Long: `Check a token offline with the rules of the ` + server.Name + `
server (length, prefix, encoding, STS host in that version's host table for
the partition, path, query parameters, signed cluster ID header,
X-Amz-Expires, 15-minute lifetime) and print what it says. The cluster ID is
not in the token, only in its signature, so offline it is not checked. With
--sts, also call STS with the cluster ID header as the server does, which
checks the signature and the cluster ID, and print the caller and its
canonical ARN.

A failed check exits 1 and names the check. -t - reads the token from stdin.`,
		Example: `  kubeiam verify -t "$(kubeiam token -i my-cluster --token-only)" -i my-cluster
  kubeiam token -i my-cluster --token-only | kubeiam verify -t - -i my-cluster --sts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Token == "" {
				return clierr.Usagef("a token is required (-t TOKEN, or -t - for stdin)")
			}
			if opts.STS && opts.ClusterID == "" {
				return clierr.Usagef("--sts needs the cluster ID (-i)")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Token, "token", "t", "", "the token (k8s-aws-v1.…), or - to read it from stdin")
	f.StringVarP(&opts.ClusterID, "cluster-id", "i", "", "the cluster ID the server expects")
	f.StringVar(&opts.Partition, "partition", "aws", "the server's partition: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f")
	f.StringVar(&opts.ServerRegion, "server-region", "", "the region the server runs in (EC2 instance metadata), whose STS host it also accepts")
	f.BoolVar(&opts.STS, "sts", false, "also call STS as the server does (checks signature and cluster ID)")
	f.StringVarP(&opts.Output, "output", "o", "", "output format: json")
	return cmd
}

// server is the aws-iam-authenticator version whose checks verify applies.
var server = token.ServerV072

const clusterIDNotChecked = "cluster ID not checked offline; use --sts"

// Run checks the token and prints the findings.
func Run(ctx context.Context, opts *Options) error {
	if opts.Output != "" && opts.Output != "json" {
		return clierr.Usagef("unknown output format %q: use json or leave it out", opts.Output)
	}
	tok := opts.Token
	if tok == "-" {
		line, err := bufio.NewReader(opts.IO.In).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("could not read the token from stdin: %w", err)
		}
		tok = line
	}
	tok = strings.TrimSpace(tok)
	claims, err := server.Verify(tok, opts.Partition, opts.ServerRegion, opts.Now())
	if err != nil {
		return err
	}
	var id *token.Identity
	if opts.STS {
		if id, err = claims.CallerIdentity(ctx, nil, opts.ClusterID); err != nil {
			return err
		}
	}
	if opts.Output == "json" {
		if id == nil {
			fmt.Fprintf(opts.IO.ErrOut, "kubeiam: %s\n", clusterIDNotChecked)
		}
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Server string `json:"server"`
			*token.Claims
			// ClusterIDChecked: STS recomputed the signature with the
			// cluster ID header (--sts); offline it cannot be checked.
			ClusterIDChecked bool            `json:"clusterIDChecked"`
			Caller           *token.Identity `json:"caller,omitempty"`
		}{server.Name, claims, id != nil, id})
	}
	w := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "checks\tof %s's server\n", server.Name)
	fmt.Fprintf(w, "host\t%s\n", claims.Host)
	fmt.Fprintf(w, "partition\t%s\n", claims.Partition)
	fmt.Fprintf(w, "region\t%s\n", claims.Region)
	fmt.Fprintf(w, "access key ID\t%s\n", claims.AccessKeyID)
	fmt.Fprintf(w, "signed at\t%s\n", claims.SignedAt.Format(time.RFC3339))
	fmt.Fprintf(w, "expires\t%s (in %s)\n", claims.Expires.Format(time.RFC3339), claims.Expires.Sub(opts.Now()).Round(time.Second))
	fmt.Fprintf(w, "session token\t%t\n", claims.SessionToken)
	if id == nil {
		fmt.Fprintf(w, "cluster ID\t%s\n", clusterIDNotChecked)
	} else {
		fmt.Fprintf(w, "cluster ID\t%s (checked by STS)\n", opts.ClusterID)
		fmt.Fprintf(w, "caller\t%s\n", id.ARN)
		fmt.Fprintf(w, "canonical ARN\t%s\n", id.CanonicalARN)
		fmt.Fprintf(w, "account\t%s\n", id.Account)
	}
	return w.Flush()
}
