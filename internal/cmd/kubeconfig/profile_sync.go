package kubeconfig

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/sso"
)

// ProfileSyncOptions are the flags of `kubeiam profile sync`.
type ProfileSyncOptions struct {
	IO         *iostreams.IOStreams
	SSOSession string
	Sync       sso.SyncOptions
}

// NewProfileSyncCmd builds `kubeiam profile sync`; runF replaces RunProfileSync in tests.
func NewProfileSyncCmd(io *iostreams.IOStreams, runF func(*ProfileSyncOptions) error) *cobra.Command {
	opts := &ProfileSyncOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "sync --sso-session NAME [--role ROLE]... [--account ID|NAME]... [--region R] [--name TEMPLATE]",
		Short: "Write an AWS profile for every account and role of an SSO session",
		Long: `List every account and role the signed-in user of an IAM Identity Center
session can reach, and write one AWS CLI profile per (account, role) into the
AWS config file (AWS_CONFIG_FILE, else ~/.aws/config):

  [profile NAME]
  sso_session = SESSION
  sso_account_id = 111122223333
  sso_role_name = ROLE
  region = R                      (with --region)
  kubeiam_sso_session = SESSION   (marks the sections sync writes)

Names come from --name, a template over {{.AccountName}}, {{.AccountID}},
{{.RoleName}} and {{.Session}}. In the names it fills in, characters a
profile name cannot hold (spaces, brackets, quotes) become '-'; a template
whose own text gives an unusable name (a space in --name) is an error, and
so are two profiles with one name. A profile of that name you wrote yourself
is kept as it is.

The file is edited line by line: everything outside the sections sync writes
stays byte for byte. --prune also removes the profiles sync wrote for this
session whose account or role is gone (it always lists afresh). Listings are
reused for 10 minutes otherwise. --dry-run prints the diff and writes nothing.`,
		Example: `  kubeiam profile sync --sso-session corp --region eu-west-1
  kubeiam profile sync --sso-session corp --role AdministratorAccess --name '{{.AccountName}}-admin'
  kubeiam profile sync --sso-session corp --prune --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.SSOSession == "" {
				return clierr.Usagef("--sso-session is required")
			}
			if opts.Sync.Region != "" {
				if _, err := token.CheckRegion(opts.Sync.Region); err != nil {
					return &clierr.UsageError{Err: err}
				}
			}
			if _, err := sso.ParseNameTemplate(opts.Sync.NameTemplate); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return RunProfileSync(cmd.Context(), cmd.Root().DisplayName(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.SSOSession, "sso-session", "", "name of the [sso-session NAME] section to list (required)")
	f.StringArrayVar(&opts.Sync.Roles, "role", nil, "write profiles of this role only (repeatable)")
	f.StringArrayVar(&opts.Sync.Accounts, "account", nil, "write profiles of this account only, by ID or name (repeatable)")
	f.StringVar(&opts.Sync.Region, "region", "", "region to write into each profile")
	f.StringVar(&opts.Sync.NameTemplate, "name", sso.DefaultNameTemplate, "template of the profile names")
	f.BoolVar(&opts.Sync.Prune, "prune", false, "remove profiles sync wrote whose account or role is gone")
	f.BoolVar(&opts.Sync.DryRun, "dry-run", false, "print the change as a diff; write nothing")
	return cmd
}

// RunProfileSync lists, plans and writes.
func RunProfileSync(ctx context.Context, prog string, opts *ProfileSyncOptions) error {
	s, err := sso.ResolveSession(opts.SSOSession)
	if err != nil {
		return err
	}
	c, err := sso.NewClient(ctx, s, nil)
	if err != nil {
		return err
	}
	start := time.Now()
	bar := NewDelayedBar(opts.IO, "listing accounts")
	p, err := c.Portal(ctx, sso.ListOptions{})
	if err != nil {
		return loginHint(err, prog)
	}
	l, err := p.List(ctx, sso.ListOptions{Fresh: opts.Sync.Prune, Progress: bar.Set})
	bar.Done()
	if err != nil {
		return loginHint(err, prog)
	}
	profiles, err := sso.PlanProfiles(s, l, opts.Sync)
	if err != nil {
		return err
	}
	res, err := sso.Sync(ctx, s, profiles, l, opts.Sync)
	if err != nil {
		return err
	}
	for _, sk := range l.Skipped {
		fmt.Fprintf(opts.IO.ErrOut, "kubeiam: warning: skipped %s\n", sk)
	}
	// A filter that matches nothing is most likely a typo: say so rather
	// than report "0 profiles" as if all were well.
	for _, w := range unmatchedFilters(l, opts.Sync.Accounts, opts.Sync.Roles) {
		fmt.Fprintf(opts.IO.ErrOut, "kubeiam: warning: %s\n", w)
	}
	for _, k := range res.Kept {
		fmt.Fprintf(opts.IO.ErrOut, "kubeiam: warning: kept [profile %s]: it was not written by profile sync for %s\n", k, s)
	}
	if opts.Sync.DryRun {
		before := "/dev/null"
		if res.Before != nil {
			before = res.Path
		}
		_, _ = opts.IO.Out.Write(diff.Diff(before, res.Before, res.Path, res.After))
	}
	n := len(l.Accounts) + len(l.Skipped)
	listed := fmt.Sprintf("%d %s listed with %d portal %s", n, text.Plural(n, "account", "accounts"), l.Calls, text.Plural(l.Calls, "call", "calls"))
	if l.Cached {
		listed = fmt.Sprintf("%d %s from the listing cache", len(l.Accounts), text.Plural(len(l.Accounts), "account", "accounts"))
	}
	if l.Throttled > 0 {
		listed += fmt.Sprintf(", %d throttled and retried", l.Throttled)
	}
	verb := "wrote"
	if opts.Sync.DryRun {
		verb = "would write"
	}
	fmt.Fprintf(opts.IO.ErrOut, "%s: %s %d %s of %s: %d added, %d updated, %d unchanged, %d removed, %d kept (%s in %s)\n",
		res.Path, verb, len(profiles), text.Plural(len(profiles), "profile", "profiles"), s,
		len(res.Added), len(res.Updated), len(res.Unchanged), len(res.Removed), len(res.Kept), listed, time.Since(start).Round(10*time.Millisecond))
	if len(l.Skipped) > 0 {
		ids := make([]string, len(l.Skipped))
		for i, sk := range l.Skipped {
			ids[i] = sk.AccountID
		}
		return clierr.WithHint(fmt.Errorf("could not list the roles of %d %s (%s): their profiles were left as they were",
			len(ids), text.Plural(len(ids), "account", "accounts"), strings.Join(ids, ", ")), "run the same command again later")
	}
	return nil
}

// DelayedBar is the progress of a long listing: a progress bar on stderr
// when stderr is a terminal and the work has gone on for over a second,
// nothing otherwise (the caller prints one summary line at the end).
type DelayedBar struct {
	mu       sync.Mutex
	io       *iostreams.IOStreams
	desc     string
	start    time.Time
	bar      *progressbar.ProgressBar
	finished bool
}

// NewDelayedBar starts the clock of a bar described as desc.
func NewDelayedBar(io *iostreams.IOStreams, desc string) *DelayedBar {
	return &DelayedBar{io: io, desc: desc, start: time.Now()}
}

// Set reports done of total.
func (b *DelayedBar) Set(done, total int) {
	if !b.io.ErrIsTerminal {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	if b.bar == nil {
		if time.Since(b.start) < time.Second {
			return
		}
		b.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(b.io.ErrOut),
			progressbar.OptionSetDescription(b.desc),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	_ = b.bar.Set(done)
}

// Done removes the bar.
func (b *DelayedBar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finished = true
	if b.bar != nil {
		_ = b.bar.Finish()
	}
}

// unmatchedFilters names each --account and --role value that matches no
// account (by ID or name) or no role of the listing.
func unmatchedFilters(l *sso.Listing, accounts, roles []string) []string {
	var out []string
	for _, want := range accounts {
		found := false
		for _, a := range l.Accounts {
			found = found || a.ID == want || a.Name == want
		}
		if !found {
			out = append(out, fmt.Sprintf("--account %s matches none of the %d %s the session lists", want, len(l.Accounts), text.Plural(len(l.Accounts), "account", "accounts")))
		}
	}
	for _, want := range roles {
		found := false
		for _, a := range l.Accounts {
			for _, r := range a.Roles {
				found = found || r == want
			}
		}
		if !found {
			out = append(out, fmt.Sprintf("--role %s is a role of none of the accounts the session lists", want))
		}
	}
	return out
}
