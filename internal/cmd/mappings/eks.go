package mappings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	goio "io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/eks"
	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/text"
)

// eksFlags select an EKS cluster as the place the mappings live: its
// access entries, and aws-auth as EKS reads it.
type eksFlags struct {
	Cluster, Region, Profile string
	// Kubeconfig and Context, when set, are how aws-auth is read instead
	// of the cluster's own endpoint with a kubeiam token.
	Kubeconfig *string
	Context    string
	// Options are for tests (an HTTP client, a faster poll).
	Options eks.AccessOptions
}

func (f *eksFlags) add(cmd *cobra.Command, kubeconfig *string) {
	fl := cmd.Flags()
	fl.StringVar(&f.Cluster, "eks", "", "EKS cluster name: work on its access entries (and aws-auth as EKS reads it)")
	fl.StringVar(&f.Region, "region", "", "AWS region of the EKS cluster (default: the profile's)")
	fl.StringVar(&f.Profile, "profile", "", "AWS profile for the EKS, IAM and STS calls (default: the default chain)")
	if kubeconfig == nil {
		kubeconfig = new(string)
		fl.StringVar(kubeconfig, "kubeconfig", "", "with --eks: read aws-auth through this kubeconfig instead of the cluster's endpoint and a kubeiam token")
	}
	f.Kubeconfig = kubeconfig
	fl.StringVar(&f.Context, "context", "", "with --eks: kubeconfig context to read aws-auth through")
}

// eksSession is a connected cluster.
type eksSession struct {
	flags   *eksFlags
	client  *eks.AccessClient
	cluster eks.Cluster
}

// connect checks the flags, then describes the cluster.
func (f *eksFlags) connect(ctx context.Context) (*eksSession, error) {
	if err := eks.ValidateName(f.Cluster); err != nil {
		return nil, err
	}
	if err := input.Text("--profile", f.Profile); err != nil {
		return nil, err
	}
	cfg, err := eks.LoadProfile(ctx, f.Profile, f.Region)
	if err != nil {
		return nil, err
	}
	c := eks.NewAccessClient(cfg, f.Profile, cfg.Region, f.Cluster, f.Options)
	cl, err := c.Describe(ctx)
	if err != nil {
		return nil, err
	}
	return &eksSession{flags: f, client: c, cluster: cl}, nil
}

// needEntries refuses a CONFIG_MAP cluster in one line: it has no access
// entries until it is migrated.
func (s *eksSession) needEntries() error {
	if s.cluster.AuthenticationMode != eks.ModeConfigMap {
		return nil
	}
	return clierr.WithHint(fmt.Errorf("could not use the access entries of cluster %s in %s: its authentication mode is CONFIG_MAP, which has none; migrate first",
		s.cluster.Name, s.cluster.Region), "kubeiam mappings migrate --eks %s --region %s --dry-run shows the plan", s.cluster.Name, s.cluster.Region)
}

// loadAuth reads aws-auth through --kubeconfig/--context when given, else
// at the cluster's own endpoint with a kubeiam token.
func (s *eksSession) loadAuth(ctx context.Context) (*eks.AWSAuth, error) {
	if *s.flags.Kubeconfig != "" || s.flags.Context != "" {
		cfg, err := installer.RESTConfig(*s.flags.Kubeconfig, s.flags.Context)
		if err != nil {
			return nil, err
		}
		return eks.ReadAWSAuth(ctx, cfg)
	}
	cfg, err := s.client.RESTConfigFor(ctx, s.cluster)
	if err != nil {
		return nil, err
	}
	return eks.ReadAWSAuth(ctx, cfg)
}

// state reads what EKS lets in now: entries, and aws-auth unless the mode
// is API.
func (s *eksSession) state(ctx context.Context) (eks.State, error) {
	st := eks.State{Mode: s.cluster.AuthenticationMode}
	if st.Mode != eks.ModeConfigMap {
		entries, err := s.client.List(ctx)
		if err != nil {
			return st, err
		}
		st.Entries = entries
	}
	if st.Mode != eks.ModeAPI {
		auth, err := s.loadAuth(ctx)
		if err != nil {
			return st, clierr.WithHint(err, "the lockout check needs aws-auth while EKS reads it; pass --kubeconfig/--context to read it another way")
		}
		st.AWSAuth = auth.Mappings
	}
	return st, nil
}

func policyText(ps []eks.Policy) string {
	var out []string
	for _, p := range ps {
		if p.Scope == eks.ScopeNamespace {
			out = append(out, p.Name()+"(namespace:"+strings.Join(p.Namespaces, ",")+")")
		} else {
			out = append(out, p.Name()+"(cluster)")
		}
	}
	return strings.Join(out, ";")
}

// runEKSList prints one access entry a line, tab-separated: full ARN,
// type, username, groups, policies with their scope.
func runEKSList(ctx context.Context, io *iostreams.IOStreams, f *eksFlags, output string) error {
	s, err := f.connect(ctx)
	if err != nil {
		return err
	}
	if err := s.needEntries(); err != nil {
		return err
	}
	entries, err := s.client.List(ctx)
	if err != nil {
		return err
	}
	if output == "json" {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"cluster": s.cluster.Name, "region": s.cluster.Region, "authenticationMode": s.cluster.AuthenticationMode, "accessEntries": entries})
	}
	for _, e := range entries {
		fmt.Fprintf(io.Out, "%s\t%s\t%s\t%s\t%s\n", e.PrincipalARN, e.Type, e.Username, strings.Join(e.Groups, ","), policyText(e.Policies))
	}
	admins := eks.State{Mode: eks.ModeAPI, Entries: entries}.Admins()
	fmt.Fprintf(io.ErrOut, "cluster %s (%s), authentication mode %s: %d access %s; %s\n", s.cluster.Name, s.cluster.Region,
		s.cluster.AuthenticationMode, len(entries), text.Plural(len(entries), "entry", "entries"), describeEKSAdmins(admins))
	if s.cluster.AuthenticationMode == eks.ModeAPIAndConfigMap {
		fmt.Fprintln(io.ErrOut, "EKS also reads aws-auth in this mode (an access entry wins for the same principal); kubeiam mappings migrate --dry-run lists it")
	}
	return nil
}

// runEKSExplain says what EKS does with the caller.
func runEKSExplain(ctx context.Context, io *iostreams.IOStreams, f *eksFlags, arn, output string) error {
	if _, _, err := eks.CallerPrincipal(arn); err != nil {
		return badFlag(err)
	}
	s, err := f.connect(ctx)
	if err != nil {
		return err
	}
	a, err := eks.Explain(ctx, s.client, s.cluster, arn, s.loadAuth)
	if err != nil {
		return err
	}
	if output == "json" {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(a); err != nil {
			return err
		}
	} else {
		w := io.Out
		fmt.Fprintf(w, "cluster:        %s (%s), authentication mode %s\n", s.cluster.Name, s.cluster.Region, a.Mode)
		fmt.Fprintf(w, "ARN:            %s (given with --arn)\n", a.Caller)
		fmt.Fprintf(w, "principal:      %s\n", a.Principal)
		fmt.Fprintf(w, "backends:       %s (walked in EKS's order; the first that maps decides)\n", strings.Join(a.Backends, ", "))
		for _, t := range a.Trace {
			fmt.Fprintf(w, "checked:        %s\n", t)
		}
		if a.Mapped {
			fmt.Fprintf(w, "answered by:    %s\n", a.Source)
			if a.Type != "" {
				fmt.Fprintf(w, "type:           %s\n", a.Type)
			}
			if a.UsernameTemplate != "" && a.UsernameTemplate != a.Username {
				fmt.Fprintf(w, "username:       %s (from %s)\n", a.Username, a.UsernameTemplate)
			} else {
				fmt.Fprintf(w, "username:       %s\n", a.Username)
			}
			fmt.Fprintf(w, "groups:         %s\n", strings.Join(a.Groups, ", "))
			if a.Backend == eks.BackendName {
				pols := "none"
				if len(a.Policies) > 0 {
					var ps []string
					for _, p := range a.Policies {
						ps = append(ps, p.String())
					}
					pols = strings.Join(ps, ", ")
				}
				fmt.Fprintf(w, "policies:       %s\n", pols)
			}
		}
		for _, n := range append(a.Unknown, a.Notes...) {
			fmt.Fprintf(w, "note:           %s\n", n)
		}
		if a.Problem != "" {
			fmt.Fprintf(w, "problem:        %s\n", a.Problem)
		}
	}
	if !a.Mapped {
		return clierr.WithHint(errors.New("no access entry or aws-auth mapping: EKS answers Unauthorized"),
			"kubeiam mappings add --eks %s --region %s --role-arn|--user-arn ARN --policy POLICY grants access", s.cluster.Name, s.cluster.Region)
	}
	return nil
}

// parsePolicy reads --policy NAME (cluster scope) or NAME=ns1,ns2
// (namespace scope); NAME may be the full ARN.
func parsePolicy(v string) (eks.Policy, error) {
	name, ns, scoped := strings.Cut(v, "=")
	name = strings.TrimPrefix(name, eks.PolicyPrefix)
	if err := input.Text("--policy", v); err != nil {
		return eks.Policy{}, err
	}
	if name == "" || strings.ContainsAny(name, "/:") {
		return eks.Policy{}, &input.Error{Name: "--policy", Value: v, Reason: "give a policy name such as AmazonEKSViewPolicy, or NAME=ns1,ns2 for namespace scope"}
	}
	p := eks.Policy{ARN: eks.PolicyPrefix + name, Scope: eks.ScopeCluster}
	if scoped {
		for _, n := range strings.Split(ns, ",") {
			if n = strings.TrimSpace(n); n != "" {
				p.Namespaces = append(p.Namespaces, n)
			}
		}
		if len(p.Namespaces) == 0 {
			return eks.Policy{}, &input.Error{Name: "--policy", Value: v, Reason: "namespace scope needs at least one namespace after ="}
		}
		p.Scope = eks.ScopeNamespace
	}
	return p, nil
}

// badFlag marks a flag value refused before any call as a usage error
// (exit 2), as the rest of the CLI treats bad flags; a hint it carries is
// kept.
func badFlag(err error) error {
	var u *clierr.UsageError
	if err == nil || errors.As(err, &u) {
		return err
	}
	return &clierr.UsageError{Err: err}
}

// eksTarget checks --role-arn/--user-arn for an access entry.
func eksTarget(t target) (eks.Principal, error) {
	if t.Account != "" {
		return eks.Principal{}, clierr.Usagef("--account has no access-entry form: EKS names principals one by one")
	}
	e, err := t.edit()
	if err != nil {
		return eks.Principal{}, err
	}
	flag := "--" + e.Kind + "-arn"
	p, err := eks.ParsePrincipal(flag, e.ARN)
	if err != nil {
		return p, badFlag(err)
	}
	if p.Kind != e.Kind {
		return p, badFlag(&input.Error{Name: flag, Value: e.ARN, Reason: "an IAM " + p.Kind + " ARN; use --" + p.Kind + "-arn"})
	}
	return p, nil
}

// runEKSAdd creates an access entry with its policies.
func runEKSAdd(ctx context.Context, opts *AddOptions) error {
	p, err := eksTarget(opts.target)
	if err != nil {
		return err
	}
	typ := opts.EntryType
	if typ == "" {
		typ = eks.TypeStandard
	}
	var pols []eks.Policy
	if typ == eks.TypeStandard {
		if opts.Username != "" {
			if err := eks.ValidateUsername("--username", opts.Username); err != nil {
				return badFlag(err)
			}
		}
		for _, g := range opts.Groups {
			if err := eks.ValidateGroup("--group", g); err != nil {
				return badFlag(err)
			}
		}
		for _, v := range opts.Policies {
			pol, err := parsePolicy(v)
			if err != nil {
				return badFlag(err)
			}
			pols = append(pols, pol)
		}
	} else if !containsStr(eks.NodeTypes, typ) {
		return badFlag(&input.Error{Name: "--type", Value: typ, Reason: "give STANDARD or a node type (" + strings.Join(eks.NodeTypes, ", ") + ")"})
	} else if opts.Username != "" || len(opts.Groups) > 0 || len(opts.Policies) > 0 {
		return clierr.Usagef("--type %s takes no --username, --group or --policy: EKS sets them for nodes", typ)
	}
	s, err := opts.EKS.connect(ctx)
	if err != nil {
		return err
	}
	if err := s.needEntries(); err != nil {
		return err
	}
	arn, note, err := s.client.Resolve(ctx, p)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(opts.IO.ErrOut, "note: "+note)
	}
	e := eks.Entry{PrincipalARN: arn, Type: typ, Username: opts.Username, Groups: opts.Groups, Policies: pols}
	if opts.DryRun {
		// The change on stdout, as apply --dry-run prints it.
		changes, err := eks.DiffEntries([]eks.Entry{e}, nil, false)
		if err != nil {
			return err
		}
		for _, c := range changes {
			fmt.Fprintln(opts.IO.Out, c)
		}
		fmt.Fprintf(opts.IO.ErrOut, "would create access entry %s (%s) on cluster %s; nothing changed (--dry-run)\n", arn, typ, s.cluster.Name)
		return nil
	}
	if err := s.client.Create(ctx, e); err != nil {
		if errors.Is(err, eks.ErrExists) {
			return clierr.WithHint(err, "kubeiam mappings list --eks %s --region %s shows it; remove it first to change its type", s.cluster.Name, s.cluster.Region)
		}
		return err
	}
	got, err := s.client.Get(ctx, arn)
	if err != nil {
		return err
	}
	if got == nil {
		return fmt.Errorf("could not read back access entry %s on cluster %s", arn, s.cluster.Name)
	}
	fmt.Fprintf(opts.IO.ErrOut, "cluster %s: added access entry %s (%s) → %s [%s] %s\n", s.cluster.Name, got.PrincipalARN, got.Type, got.Username,
		strings.Join(got.Groups, ", "), policyText(got.Policies))
	entries, err := s.client.List(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.IO.ErrOut, describeEKSAdmins(eks.State{Mode: eks.ModeAPI, Entries: entries}.Admins())+" (access entries; aws-auth not counted)")
	return nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// runEKSRemove deletes an access entry after the lockout check.
func runEKSRemove(ctx context.Context, opts *RemoveOptions) error {
	p, err := eksTarget(opts.target)
	if err != nil {
		return err
	}
	s, err := opts.EKS.connect(ctx)
	if err != nil {
		return err
	}
	if err := s.needEntries(); err != nil {
		return err
	}
	before, err := s.state(ctx)
	if err != nil {
		return err
	}
	var victim *eks.Entry
	after := before
	after.Entries = nil
	for i, e := range before.Entries {
		if victim == nil && samePrincipalCLI(e.PrincipalARN, p) {
			victim = &before.Entries[i]
			continue
		}
		after.Entries = append(after.Entries, e)
	}
	if victim == nil {
		return clierr.WithHint(fmt.Errorf("could not remove access entry %s: cluster %s has none for it", p.ARN, s.cluster.Name),
			"kubeiam mappings list --eks %s --region %s shows what is there", s.cluster.Name, s.cluster.Region)
	}
	caller, _, err := s.client.Caller(ctx)
	var cp *eks.Principal
	if err == nil {
		cp = &caller
	}
	admins, err := eks.CheckLockout(before, after, cp, opts.AllowLockout)
	if err != nil {
		return clierr.WithHint(err, "keep another admin (kubeiam mappings add --eks %s --policy AmazonEKSClusterAdminPolicy …), or rerun with --allow-lockout if you have another way in", s.cluster.Name)
	}
	if opts.DryRun {
		fmt.Fprintln(opts.IO.Out, eks.Change{Op: "delete", ARN: victim.PrincipalARN,
			Detail: fmt.Sprintf("%s username=%q groups=[%s]", victim.Type, victim.Username, strings.Join(victim.Groups, ","))})
		fmt.Fprintf(opts.IO.ErrOut, "would remove access entry %s from cluster %s; nothing changed (--dry-run)\n", victim.PrincipalARN, s.cluster.Name)
	} else {
		if err := s.client.Delete(ctx, victim.PrincipalARN); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "cluster %s: removed access entry %s\n", s.cluster.Name, victim.PrincipalARN)
	}
	fmt.Fprintln(opts.IO.ErrOut, describeEKSAdmins(admins))
	return nil
}

func samePrincipalCLI(entryARN string, p eks.Principal) bool {
	q, err := eks.ParsePrincipal("", entryARN)
	if err != nil {
		return false
	}
	if q.Kind == "role" && p.Kind == "role" && !p.HasPath {
		return q.Account == p.Account && strings.EqualFold(q.Name, p.Name)
	}
	return strings.EqualFold(q.ARN, p.ARN)
}

// MigrateOptions are the flags of `kubeiam mappings migrate`.
type MigrateOptions struct {
	IO           *iostreams.IOStreams
	EKS          eksFlags
	To           string
	DryRun       bool
	Backup       string
	AllowLockout bool
	Output       string
	Now          func() time.Time
}

// NewMigrateCmd builds `kubeiam mappings migrate`.
func NewMigrateCmd(io *iostreams.IOStreams, runF func(*MigrateOptions) error) *cobra.Command {
	opts := &MigrateOptions{IO: io, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "migrate --eks CLUSTER [--region R] [--to API_AND_CONFIG_MAP|API] [--dry-run]",
		Short: "Move an EKS cluster's aws-auth mappings to access entries, safely",
		Long: `Plan first: every aws-auth mapping and what it becomes — an access entry with
the role's real path (asked of IAM; aws-auth had to drop it), system:masters
as AmazonEKSClusterAdminPolicy at cluster scope, node roles as EC2_LINUX
(EC2_WINDOWS, FARGATE_LINUX) entries, other reserved groups dropped with a
note, or skipped with the reason (mapAccounts, service-linked roles, usernames
EKS refuses). Skips that would lock callers out under API keep the mode at
API_AND_CONFIG_MAP, where EKS still reads aws-auth.

Then: aws-auth is saved to a file (the path is printed) and never modified or
deleted; the mode leaves CONFIG_MAP (EKS changes it asynchronously: migrate
waits); entries are created with bounded concurrency, and entries that exist
(EKS makes node-group entries itself) are adopted — updated in place when
they differ, never deleted and re-created; the move to API comes last. A
second run makes no change call. The lockout guard applies to the result.`,
		Example: `  kubeiam mappings migrate --eks prod --region eu-west-1 --dry-run
  kubeiam mappings migrate --eks prod --region eu-west-1 --to API`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.EKS.Cluster == "" {
				return clierr.Usagef("--eks CLUSTER is required")
			}
			if opts.To != "" && opts.To != eks.ModeAPIAndConfigMap && opts.To != eks.ModeAPI {
				return clierr.Usagef("--to takes API_AND_CONFIG_MAP or API, not %q (CONFIG_MAP is where migrations start)", opts.To)
			}
			if opts.Output != "" && opts.Output != "json" {
				return clierr.Usagef("unknown output format %q: use json or leave it out", opts.Output)
			}
			if runF != nil {
				return runF(opts)
			}
			return RunMigrate(cmd.Context(), opts)
		},
	}
	opts.EKS.add(cmd, nil)
	f := cmd.Flags()
	f.StringVar(&opts.To, "to", "", "authentication mode to reach: API_AND_CONFIG_MAP (default) or API")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and change nothing")
	f.StringVar(&opts.Backup, "backup", "", "file to save aws-auth to first (default aws-auth.CLUSTER.REGION.TIME.yaml here)")
	f.BoolVar(&opts.AllowLockout, "allow-lockout", false, "migrate even when no principal would stay cluster admin, or you would lose access")
	f.StringVarP(&opts.Output, "output", "o", "", "print the plan as json")
	return cmd
}

// RunMigrate plans, backs aws-auth up, and applies.
func RunMigrate(ctx context.Context, opts *MigrateOptions) error {
	s, err := opts.EKS.connect(ctx)
	if err != nil {
		return err
	}
	errOut := opts.IO.ErrOut
	if opts.To != "" && eks.ModeRank(opts.To) < eks.ModeRank(s.cluster.AuthenticationMode) {
		return fmt.Errorf("could not migrate cluster %s to %s: it is in mode %s already, and EKS never moves a cluster back", s.cluster.Name, opts.To, s.cluster.AuthenticationMode)
	}
	auth, err := s.loadAuth(ctx)
	if err != nil {
		return clierr.WithHint(err, "migrate reads aws-auth at the cluster's endpoint with a kubeiam token; pass --kubeconfig/--context to read it another way")
	}
	var existing []eks.Entry
	if s.cluster.AuthenticationMode != eks.ModeConfigMap {
		if existing, err = s.client.List(ctx); err != nil {
			return err
		}
	}
	plan, err := eks.MakePlan(ctx, s.client, s.cluster, auth.Mappings, existing, opts.To)
	if err != nil {
		return err
	}
	before := eks.State{Mode: s.cluster.AuthenticationMode, Entries: existing, AWSAuth: auth.Mappings}
	after := plan.After(auth.Mappings)
	var cp *eks.Principal
	if caller, _, err := s.client.Caller(ctx); err == nil {
		cp = &caller
	}
	admins, lockErr := eks.CheckLockout(before, after, cp, opts.AllowLockout)
	if opts.Output == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(plan); err != nil {
			return err
		}
	} else {
		printPlan(opts.IO, plan)
	}
	if plan.Held != "" {
		fmt.Fprintln(errOut, plan.Held)
	}
	if lockErr != nil {
		return clierr.WithHint(lockErr, "map an admin first, or rerun with --allow-lockout if you have another way in")
	}
	fmt.Fprintln(errOut, describeEKSAdmins(admins))
	n := plan.Changes()
	if opts.DryRun {
		fmt.Fprintf(errOut, "%d change %s planned; nothing changed (--dry-run)\n", n, text.Plural(n, "call", "calls"))
		return nil
	}
	if n == 0 {
		fmt.Fprintf(errOut, "cluster %s: nothing to change (mode %s, every mapping done or skipped)\n", s.cluster.Name, s.cluster.AuthenticationMode)
		return nil
	}
	path := opts.Backup
	if path == "" {
		path = fmt.Sprintf("aws-auth.%s.%s.%s.yaml", s.cluster.Name, s.cluster.Region, opts.Now().UTC().Format("20060102T150405Z"))
	}
	if err := eks.SaveAWSAuth(path, auth.Object); err != nil {
		return err
	}
	fmt.Fprintf(errOut, "aws-auth saved to %s (migrate never changes or deletes it)\n", path)
	res, err := eks.Migrate(ctx, s.client, plan, eks.MigrateOptions{Progress: func(line string) { fmt.Fprintln(errOut, line) }})
	if err != nil {
		return clierr.WithHint(err, "rerun the same command: it adopts what was made and goes on")
	}
	fmt.Fprintf(errOut, "cluster %s: %d created, %d updated in place, %d adopted, %d %s associated, mode %s\n",
		s.cluster.Name, res.Created, res.Updated, res.Adopted, res.Associated, text.Plural(res.Associated, "policy", "policies"), plan.Target)
	return nil
}

func printPlan(io *iostreams.IOStreams, p *eks.Plan) {
	w := io.Out
	fmt.Fprintf(w, "cluster %s: authentication mode %s → %s\n", p.Cluster, p.From, p.Target)
	for _, s := range p.Steps {
		fmt.Fprintf(w, "%-7s %s (%s)", s.Decision, s.From.ARN, s.From.Source)
		if s.Entry != nil {
			fmt.Fprintf(w, " → %s %s", s.Entry.Type, s.Entry.PrincipalARN)
			if s.Entry.Type == eks.TypeStandard {
				fmt.Fprintf(w, " username=%q groups=[%s]", s.Entry.Username, strings.Join(s.Entry.Groups, ","))
				if len(s.Entry.Policies) > 0 {
					fmt.Fprintf(w, " policies=%s", policyText(s.Entry.Policies))
				}
			}
		}
		if s.Reason != "" {
			fmt.Fprintf(w, ": %s", s.Reason)
		}
		if s.Blocker {
			fmt.Fprint(w, " [blocks API]")
		}
		fmt.Fprintln(w)
		for _, n := range s.Notes {
			fmt.Fprintf(w, "        note: %s\n", n)
		}
	}
}

// ApplyOptions are the flags of `kubeiam mappings apply`.
type ApplyOptions struct {
	IO           *iostreams.IOStreams
	EKS          eksFlags
	File         string
	Prune        bool
	DryRun       bool
	AllowLockout bool
}

// NewApplyCmd builds `kubeiam mappings apply --eks`: the GitOps form of
// access entries.
func NewApplyCmd(io *iostreams.IOStreams, runF func(*ApplyOptions) error) *cobra.Command {
	opts := &ApplyOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "apply --eks CLUSTER -f FILE [--prune] [--dry-run]",
		Short: "Make an EKS cluster's access entries what a file says (diff first)",
		Long: `Read the access entries a file lists (accessEntries: principalArn, type,
username, kubernetesGroups, policies with optional namespaces), print the
diff against the cluster, check the lockout guard, then make the changes:
create, update in place (username, groups, policies), and delete the
entries kubeiam made earlier that the file no longer lists. Entries made by
hand are left alone unless --prune; node entries are never pruned.`,
		Example: `  kubeiam mappings apply --eks prod --region eu-west-1 -f access-entries.yaml --dry-run`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.EKS.Cluster == "" {
				return clierr.Usagef("--eks CLUSTER is required")
			}
			if opts.File == "" {
				return clierr.Usagef("-f FILE is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return RunApply(cmd.Context(), opts)
		},
	}
	opts.EKS.add(cmd, nil)
	f := cmd.Flags()
	f.StringVarP(&opts.File, "filename", "f", "", "file of access entries (- for stdin)")
	f.BoolVar(&opts.Prune, "prune", false, "also delete hand-made entries the file does not list (never node entries)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the diff and change nothing")
	f.BoolVar(&opts.AllowLockout, "allow-lockout", false, "apply even when no principal would stay cluster admin, or you would lose access")
	return cmd
}

// RunApply diffs and applies.
func RunApply(ctx context.Context, opts *ApplyOptions) error {
	var data []byte
	var err error
	if opts.File == "-" {
		data, err = readAll(opts.IO)
	} else {
		data, err = os.ReadFile(opts.File)
	}
	if err != nil {
		return fmt.Errorf("could not read %s: %w", opts.File, err)
	}
	want, principals, err := eks.ParseAccessFile(opts.File, data)
	if err != nil {
		return err
	}
	s, err := opts.EKS.connect(ctx)
	if err != nil {
		return err
	}
	if err := s.needEntries(); err != nil {
		return err
	}
	for i := range want {
		arn, note, err := s.client.Resolve(ctx, principals[i])
		if err != nil {
			return err
		}
		if note != "" && arn != want[i].PrincipalARN {
			fmt.Fprintf(opts.IO.ErrOut, "%s: %s\n", opts.File, note)
		}
		want[i].PrincipalARN = arn
	}
	before, err := s.state(ctx)
	if err != nil {
		return err
	}
	changes, err := eks.DiffEntries(want, before.Entries, opts.Prune)
	if err != nil {
		return err
	}
	n := 0
	for _, c := range changes {
		fmt.Fprintln(opts.IO.Out, c.String())
		if c.Op != "leave" {
			n++
		}
	}
	after := before
	after.Entries = eks.After(before.Entries, changes)
	var cp *eks.Principal
	if caller, _, err := s.client.Caller(ctx); err == nil {
		cp = &caller
	}
	admins, err := eks.CheckLockout(before, after, cp, opts.AllowLockout)
	if err != nil {
		return clierr.WithHint(err, "keep an admin entry in %s, or rerun with --allow-lockout if you have another way in", opts.File)
	}
	fmt.Fprintln(opts.IO.ErrOut, describeEKSAdmins(admins))
	if opts.DryRun || n == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "cluster %s: %d %s; nothing changed%s\n", s.cluster.Name, n, text.Plural(n, "change", "changes"), map[bool]string{true: " (--dry-run)"}[opts.DryRun])
		return nil
	}
	var mu sync.Mutex
	if err := eks.ApplyChanges(ctx, s.client, changes, func(line string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(opts.IO.ErrOut, "done: "+line)
	}); err != nil {
		return clierr.WithHint(err, "rerun the same command: it diffs again and goes on")
	}
	fmt.Fprintf(opts.IO.ErrOut, "cluster %s: %d %s made\n", s.cluster.Name, n, text.Plural(n, "change", "changes"))
	return nil
}

// readAll reads a file given as "-" (8 MB at most).
func readAll(s *iostreams.IOStreams) ([]byte, error) {
	return goio.ReadAll(goio.LimitReader(s.In, 8<<20))
}
