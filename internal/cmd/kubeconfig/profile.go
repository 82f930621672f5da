package kubeconfig

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/kubeconfig"
	"github.com/kubeiam/kubeiam/token/sso"
)

// NewProfileCmd builds `kubeiam profile` and its verbs.
func NewProfileCmd(io *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Bind an AWS profile and role to a kubeconfig context",
		Long: `Say which AWS profile (and role) each cluster uses. The binding is written into
the context's exec arguments as --profile, so it holds even when
AWS_ACCESS_KEY_ID is set in your environment (AWS_PROFILE would lose to it).`,
	}
	cmd.AddCommand(NewProfileSetCmd(io, nil), NewProfileUnsetCmd(io, nil), NewProfileListCmd(io, nil), NewProfileSyncCmd(io, nil))
	return cmd
}

// ProfileSetOptions are the flags of `kubeiam profile set` and `unset`.
type ProfileSetOptions struct {
	IO         *iostreams.IOStreams
	Context    string
	Profile    string
	RoleARN    string
	RoleSet    bool
	Unset      bool
	Kubeconfig string
	lockFlags
}

// NewProfileSetCmd builds `kubeiam profile set`; runF replaces RunProfileSet in tests.
func NewProfileSetCmd(io *iostreams.IOStreams, runF func(*ProfileSetOptions) error) *cobra.Command {
	opts := &ProfileSetOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "set CONTEXT --profile PROFILE [--role-arn ROLE]",
		Short: "Bind an AWS profile (and role) to a context",
		Example: `  kubeiam profile set prod-aws --profile prod
  kubeiam profile set prod-aws --profile prod --role-arn arn:aws:iam::111122223333:role/eks-admins`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Context = args[0]
			if opts.Profile == "" {
				return clierr.Usagef("--profile is required (kubeiam profile unset removes a binding)")
			}
			opts.RoleSet = cmd.Flags().Changed("role-arn")
			if runF != nil {
				return runF(opts)
			}
			return RunProfileSet(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Profile, "profile", "", "AWS profile (required)")
	cmd.Flags().StringVar(&opts.RoleARN, "role-arn", "", "IAM role to assume; unchanged when not given, removed when empty")
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	opts.lockFlags.add(cmd)
	return cmd
}

// NewProfileUnsetCmd builds `kubeiam profile unset`.
func NewProfileUnsetCmd(io *iostreams.IOStreams, runF func(*ProfileSetOptions) error) *cobra.Command {
	opts := &ProfileSetOptions{IO: io, Unset: true, RoleSet: true}
	cmd := &cobra.Command{
		Use:     "unset CONTEXT",
		Short:   "Remove the profile and role bound to a context",
		Example: `  kubeiam profile unset prod-aws`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Context = args[0]
			if runF != nil {
				return runF(opts)
			}
			return RunProfileSet(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	opts.lockFlags.add(cmd)
	return cmd
}

// RunProfileSet writes (or removes) the binding.
func RunProfileSet(cmd *cobra.Command, opts *ProfileSetOptions) error {
	profile, role := opts.Profile, opts.RoleARN
	if opts.Unset {
		profile, role = "", ""
	}
	res, warning, err := kubeconfig.SetProfileInFiles(cmd.Context(), kubeconfig.DefaultFiles(opts.Kubeconfig), opts.Context, profile, role, opts.RoleSet, opts.editOptions(opts.IO))
	if err != nil {
		return withLockHint(err)
	}
	if warning != "" {
		fmt.Fprintf(opts.IO.ErrOut, "warning: %s\n", warning)
	}
	what := fmt.Sprintf("context %s uses profile %s", opts.Context, profile)
	if opts.Unset {
		what = fmt.Sprintf("context %s has no profile or role", opts.Context)
	}
	if err := report(opts.IO, res, opts.DryRun, what); err != nil {
		return err
	}
	// An SSO profile is bound as it is; say when it needs a sign-in first.
	if s, err := sso.Resolve(profile); err == nil && s != nil && profile != "" {
		if sum := s.Describe(time.Now()); !sum.SignedIn || (!sum.CanRenew && !sum.ExpiresAt.After(time.Now())) {
			fmt.Fprintf(opts.IO.ErrOut, "note: profile %s signs in with %s (%s); kubectl signs in when run in a terminal, or run: %s\n",
				profile, s, ssoSummary(sum, time.Now()), clierr.AsTyped(cmd.Root().DisplayName(), "kubeiam login --profile "+profile))
		}
	}
	return nil
}

// ProfileListOptions are the flags of `kubeiam profile list`.
type ProfileListOptions struct {
	IO         *iostreams.IOStreams
	Output     string
	Kubeconfig string
}

// NewProfileListCmd builds `kubeiam profile list`; runF replaces RunProfileList in tests.
func NewProfileListCmd(io *iostreams.IOStreams, runF func(*ProfileListOptions) error) *cobra.Command {
	opts := &ProfileListOptions{IO: io}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "Show context, cluster, cluster ID, profile, role and plugin of each context",
		Example: "  kubeiam profile list\n  kubeiam profile list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch opts.Output {
			case "", "json", "yaml":
			default:
				return clierr.Usagef("unknown output format %q: use json or yaml", opts.Output)
			}
			if runF != nil {
				return runF(opts)
			}
			return RunProfileList(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "output format: json or yaml (default: table)")
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	return cmd
}

// listed is a binding with the SSO session its profile depends on.
type listed struct {
	kubeconfig.Binding
	SSO *sso.Summary `json:"sso,omitempty"`
}

// RunProfileList prints the bindings, and for contexts whose profile signs
// in with IAM Identity Center, the SSO session, when its token expires and
// whether kubeiam can renew it without a person (files only, no network).
func RunProfileList(opts *ProfileListOptions) error {
	bs, err := kubeconfig.ListBindings(kubeconfig.DefaultFiles(opts.Kubeconfig))
	if err != nil {
		return err
	}
	now := time.Now()
	rows := make([]listed, 0, len(bs))
	withSSO := false
	summaries := map[string]*sso.Summary{}
	for _, b := range bs {
		r := listed{Binding: b}
		if b.ClusterID != "" {
			sum, ok := summaries[b.Profile]
			if !ok {
				// A profile that does not load is doctor's to explain;
				// the list lists.
				if s, err := sso.Resolve(b.Profile); err == nil && s != nil {
					d := s.Describe(now)
					sum = &d
				}
				summaries[b.Profile] = sum
			}
			r.SSO = sum
			withSSO = withSSO || sum != nil
		}
		rows = append(rows, r)
	}
	switch opts.Output {
	case "json":
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "yaml":
		data, err := yaml.Marshal(rows)
		if err != nil {
			return err
		}
		_, err = opts.IO.Out.Write(data)
		return err
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	header := "CURRENT\tCONTEXT\tCLUSTER\tCLUSTER ID\tPROFILE\tROLE\tCOMMAND"
	if withSSO {
		header += "\tSSO"
	}
	fmt.Fprintln(tw, header)
	// Values come from kubeconfig files, which may hold anything: a newline
	// in a profile would print as a row of its own.
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return input.Display(s)
	}
	for _, r := range rows {
		cur := ""
		if r.Current {
			cur = "*"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", cur, input.Display(r.Context), dash(r.Cluster), dash(r.ClusterID), dash(r.Profile), dash(r.RoleARN), dash(r.Command))
		if withSSO {
			ssoText := ""
			if r.SSO != nil {
				ssoText = ssoSummary(*r.SSO, now)
			}
			line += "\t" + dash(ssoText)
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}
