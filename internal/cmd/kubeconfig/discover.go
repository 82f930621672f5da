package kubeconfig

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/eks"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/completion"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// DiscoverOptions are the flags of `kubeiam kubeconfig discover`.
type DiscoverOptions struct {
	IO          *iostreams.IOStreams
	Scan        eks.Scan
	AllProfiles bool
	Prune       bool
	Format      string
	Kubeconfig  string
	// SSOSession scans the accounts of an IAM Identity Center session
	// instead of profiles: Roles are tried in order, ExecRole's profile is
	// what the contexts run.
	SSOSession string
	Roles      []string
	ExecRole   string
	lockFlags
}

// NewDiscoverCmd builds `kubeiam kubeconfig discover`; runF replaces RunDiscover in tests.
func NewDiscoverCmd(io *iostreams.IOStreams, runF func(*DiscoverOptions) error) *cobra.Command {
	opts := &DiscoverOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "discover ([--profile P]... | --sso-session NAME [--role ROLE]... [--exec-role ROLE]) [--region R]...",
		Short: "Find the EKS clusters of profiles and regions and write their entries",
		Long: `List and describe the EKS clusters of every (profile, region) pair and merge
an entry for each ACTIVE or UPDATING one into the kubeconfig, in one locked
write. Entries are named as "kubeiam kubeconfig write --eks" names them (by
the cluster ARN) and run "kubeiam token" as the profile that found them.

A profile that does not load, or a region that is not enabled, denied or
unreachable, is one warning line on stderr; the others are still scanned.
Contexts that exist already and were not written by discover are left alone.
--prune removes the contexts discover wrote earlier whose cluster is gone,
only within the profiles and regions that answered this time.

Regions: --region (repeatable), or every region of the profile's partition
in the AWS SDK's partition data with --all-regions, or else the profile's own
region.

--sso-session NAME scans every account of that IAM Identity Center session
instead, through the profiles "kubeiam profile sync" wrote: in each account
and region the first --role (in the order given) allowed to list clusters
does; the contexts run "kubeiam token" with the profile of --exec-role where
the account has it, else of the listing role. Without --region it scans the
session's sso_region only. A role without EKS permission, a denied account
or a disabled region is one warning.`,
		Example: `  kubeiam kubeconfig discover --profile dev --profile prod --region eu-west-1 --region us-east-1
  kubeiam kubeconfig discover --all-profiles --all-regions --prune --dry-run
  kubeiam kubeconfig discover --profile prod -o json
  kubeiam kubeconfig discover --sso-session corp --region eu-west-1 --role ReadOnly --role Admin --exec-role Developer`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.SSOSession != "" && (opts.AllProfiles || len(opts.Scan.Profiles) > 0 || opts.Scan.AllRegions) {
				return clierr.Usagef("--sso-session cannot be used with --profile, --all-profiles or --all-regions")
			}
			if opts.SSOSession == "" && (len(opts.Roles) > 0 || opts.ExecRole != "") {
				return clierr.Usagef("--role and --exec-role go with --sso-session")
			}
			if opts.AllProfiles && len(opts.Scan.Profiles) > 0 {
				return clierr.Usagef("--profile and --all-profiles exclude each other")
			}
			if opts.Scan.AllRegions && len(opts.Scan.Regions) > 0 {
				return clierr.Usagef("--region and --all-regions exclude each other")
			}
			if opts.Format != "table" && opts.Format != "json" {
				return clierr.Usagef("unknown output format %q: use table or json", opts.Format)
			}
			if opts.Scan.MaxInFlight < 1 {
				return clierr.Usagef("--max-in-flight must be at least 1")
			}
			if runF != nil {
				return runF(opts)
			}
			return RunDiscover(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Scan.Profiles, "profile", nil, "AWS profile to scan (repeatable; default: the default credentials)")
	f.BoolVar(&opts.AllProfiles, "all-profiles", false, "scan every profile of the AWS config and credentials files")
	f.StringArrayVar(&opts.Scan.Regions, "region", nil, "region to scan (repeatable; default: each profile's region; with --sso-session, the session's sso_region)")
	f.BoolVar(&opts.Scan.AllRegions, "all-regions", false, "scan every region of the profile's partition (AWS SDK partition data)")
	f.BoolVar(&opts.Prune, "prune", false, "remove entries discover wrote earlier for clusters that are gone")
	f.StringVarP(&opts.Format, "output", "o", "table", "output format: table or json")
	f.StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig to merge into (default: KUBECONFIG's first file or ~/.kube/config)")
	f.IntVar(&opts.Scan.MaxInFlight, "max-in-flight", eks.DefaultMaxInFlight, "EKS calls in flight at most")
	f.DurationVar(&opts.Scan.Client.Timeout, "timeout", 0, "timeout of each EKS call, retries included (env KUBEIAM_TIMEOUT; default "+eks.DefaultCallTimeout.String()+")")
	f.StringVar(&opts.SSOSession, "sso-session", "", "scan every account of this IAM Identity Center session (profiles from kubeiam profile sync)")
	f.StringArrayVar(&opts.Roles, "role", nil, "with --sso-session: roles to list clusters with, first allowed wins (repeatable; default: every role)")
	f.StringVar(&opts.ExecRole, "exec-role", "", "with --sso-session: role whose profile the contexts use (default: the role that listed)")
	_ = cmd.RegisterFlagCompletionFunc("profile", completion.Profiles)
	opts.lockFlags.add(cmd)
	return cmd
}

// RunDiscover scans, writes and prints the table.
func RunDiscover(cmd *cobra.Command, opts *DiscoverOptions) error {
	if opts.AllProfiles {
		opts.Scan.Profiles = completion.AWSProfiles()
		if len(opts.Scan.Profiles) == 0 {
			return clierr.WithHint(fmt.Errorf("could not find any AWS profile"), "aws configure --profile NAME adds one")
		}
	}
	opts.Scan.Progress, opts.Scan.Terminal = opts.IO.ErrOut, opts.IO.ErrIsTerminal
	var res *eks.Result
	var err error
	if opts.SSOSession != "" {
		res, err = discoverSSO(cmd.Context(), cmd.Root().DisplayName(), opts)
	} else {
		res, err = eks.Discover(cmd.Context(), opts.Scan)
	}
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintf(opts.IO.ErrOut, "kubeiam: warning: %s\n", w)
		}
	}
	if err != nil {
		return err
	}
	edit, ch, err := eks.Apply(cmd.Context(), kubeconfig.Target(opts.Kubeconfig), res, eks.ApplyOptions{Prune: opts.Prune, Edit: opts.editOptions(opts.IO)})
	if err != nil {
		return withLockHint(err)
	}
	if opts.Format == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"clusters": res.Found, "pruned": ch.Pruned, "warnings": res.Warnings, "dryRun": opts.DryRun}); err != nil {
			return err
		}
	} else if !opts.DryRun {
		if err := printTable(opts.IO, res, ch); err != nil {
			return err
		}
	}
	chs := ch.String()
	if opts.DryRun {
		// -o json --dry-run prints the summary too: it must not claim a write.
		chs = strings.Replace(chs, " written", " would be written", 1)
	}
	return report(opts.IO, edit, opts.DryRun && opts.Format != "json", fmt.Sprintf("%d %s in %d of %d (profile, region) %s; %s", len(res.Found), text.Plural(len(res.Found), "cluster", "clusters"), len(res.Scanned), res.Pairs, text.Plural(res.Pairs, "pair", "pairs"), chs))
}

func printTable(io *iostreams.IOStreams, res *eks.Result, ch *eks.Changes) error {
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tREGION\tCLUSTER\tVERSION\tSTATUS\tCONTEXT")
	for _, f := range res.Found {
		ctx := f.Context
		if f.Note != "" {
			ctx = fmt.Sprintf("%s (%s)", orDash(ctx), f.Note)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", orDash(f.Profile), f.Cluster.Region, f.Cluster.Name, f.Cluster.Version, f.Cluster.Status, orDash(ctx))
	}
	for _, p := range ch.Pruned {
		fmt.Fprintf(tw, "-\t-\t-\t-\tGONE\t%s (pruned)\n", p)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
