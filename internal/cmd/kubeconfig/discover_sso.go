package kubeconfig

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kubeiam/kubeiam/eks"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/token/sso"
)

// discoverSSO scans the accounts of --sso-session: the listing of profile
// sync (cached for a while), role credentials from the portal through the
// same limiter, and the profiles profile sync wrote as the contexts' exec
// profiles. Regions default to the session's sso_region.
func discoverSSO(ctx context.Context, prog string, opts *DiscoverOptions) (*eks.Result, error) {
	s, err := sso.ResolveSession(opts.SSOSession)
	if err != nil {
		return nil, err
	}
	c, err := sso.NewClient(ctx, s, nil)
	if err != nil {
		return nil, err
	}
	bar := NewDelayedBar(opts.IO, "listing accounts")
	p, err := c.Portal(ctx, sso.ListOptions{})
	if err != nil {
		return nil, loginHint(err, prog)
	}
	l, err := p.List(ctx, sso.ListOptions{Fresh: opts.Prune, Progress: bar.Set})
	bar.Done()
	if err != nil {
		return nil, loginHint(err, prog)
	}
	profiles, err := sso.SessionProfiles(s.Name)
	if err != nil {
		return nil, err
	}
	regions := opts.Scan.Regions
	if len(regions) == 0 {
		regions = []string{s.Region}
	}
	scan := eks.SSOScan{Regions: regions, Scan: opts.Scan, Fresh: opts.Prune,
		Credentials: func(ctx context.Context, account, role string) (aws.Credentials, error) {
			return p.RoleCredentials(ctx, account, role)
		}}
	// Progress only where it redraws in place: a log gets the one
	// summary line at the end.
	if !opts.IO.ErrIsTerminal {
		scan.Scan.Progress = nil
	}
	var warnings, missing []string
	for _, sk := range l.Skipped {
		warnings = append(warnings, "skipping "+sk.String())
	}
	for _, a := range l.Accounts {
		acct := eks.SSOAccount{ID: a.ID, Name: a.Name}
		roles := a.Roles
		if len(opts.Roles) > 0 {
			roles = nil
			for _, r := range opts.Roles {
				if slices.Contains(a.Roles, r) {
					roles = append(roles, r)
				}
			}
		}
		for _, r := range roles {
			if pr, ok := profiles[[2]string{a.ID, r}]; ok {
				acct.Roles = append(acct.Roles, eks.SSORole{Role: r, Profile: pr})
			} else {
				missing = append(missing, a.ID+"/"+r)
			}
		}
		if opts.ExecRole != "" && slices.Contains(a.Roles, opts.ExecRole) {
			pr, ok := profiles[[2]string{a.ID, opts.ExecRole}]
			if !ok {
				missing = append(missing, a.ID+"/"+opts.ExecRole)
				continue
			}
			acct.ExecProfile = pr
		}
		if len(acct.Roles) > 0 {
			scan.Accounts = append(scan.Accounts, acct)
		}
	}
	// A role no account has is most likely a typo: say so, or the only
	// trace would be a hint to run profile sync.
	warnings = append(warnings, unmatchedFilters(l, nil, opts.Roles)...)
	if opts.ExecRole != "" && !slices.Contains(opts.Roles, opts.ExecRole) {
		for _, w := range unmatchedFilters(l, nil, []string{opts.ExecRole}) {
			warnings = append(warnings, strings.Replace(w, "--role", "--exec-role", 1))
		}
	}
	if len(missing) > 0 {
		warnings = append(warnings, fmt.Sprintf("skipping %d (account, role) %s with no profile in the AWS config file (%s); run: %s",
			len(missing), text.Plural(len(missing), "pair", "pairs"), strings.Join(firstN(missing, 5), ", "), clierr.AsTyped(prog, "kubeiam profile sync --sso-session "+s.Name)))
	}
	if len(scan.Accounts) == 0 {
		for _, w := range warnings {
			fmt.Fprintf(opts.IO.ErrOut, "kubeiam: warning: %s\n", w)
		}
		return nil, clierr.WithHint(fmt.Errorf("could not find any profile of %s to scan with", s),
			"run: %s", clierr.AsTyped(prog, "kubeiam profile sync --sso-session "+s.Name))
	}
	// The cached result is only as good as what it was asked: key it by
	// everything that changes the answer.
	key := strings.Join([]string{s.StartURL, s.Name, strings.Join(regions, ","), opts.ExecRole, strings.Join(opts.Roles, ",")}, "\x00")
	for _, a := range scan.Accounts {
		key += "\x00" + a.ID + "=" + a.ExecProfile
		for _, r := range a.Roles {
			key += "," + r.Role + ":" + r.Profile
		}
	}
	scan.CacheKey = key
	res, err := eks.DiscoverSSO(ctx, scan)
	if res != nil {
		res.Warnings = append(warnings, res.Warnings...)
	}
	return res, err
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), "…")
}

// loginHint adds to a LoginNeededError the command that signs in to its SSO
// session, named as the user runs kubeiam (prog); other errors pass as they
// are.
func loginHint(err error, prog string) error {
	var ln *sso.LoginNeededError
	if !errors.As(err, &ln) {
		return err
	}
	cmd := hint.AsTyped(prog, "kubeiam login")
	if ln.Session.Name != "" {
		cmd += " --sso-session " + ln.Session.Name
	}
	return hint.With(err, "run: %s", cmd)
}
