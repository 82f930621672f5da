package mappings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/text"
	idmap "github.com/kubeiam/kubeiam/mappings"
)

// AddOptions are the flags of `kubeiam mappings add`.
type AddOptions struct {
	IO *iostreams.IOStreams
	editFlags
	target
	Username string
	Groups   []string
	// EKS, Policies and EntryType are for access entries (--eks).
	EKS       eksFlags
	Policies  []string
	EntryType string
}

// NewAddCmd builds `kubeiam mappings add`; runF replaces RunAdd in tests.
func NewAddCmd(io *iostreams.IOStreams, runF func(*AddOptions) error) *cobra.Command {
	opts := &AddOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "add (-f SPEC | --eks CLUSTER) (--role-arn|--user-arn ARN --username U [--group G]... | --account ID)",
		Short: "Map an IAM role, user or account in the spec's AWSIamConfig, or add an EKS access entry",
		Long: `Append a mapping to the AWSIamConfig. An ARN that is mapped already is
refused (ARNs compare case-insensitively, as the server compares them), and
so is anything the validator rejects, before the file is touched.

With --eks CLUSTER, create an access entry instead: a role given without its
path gets the path IAM has (EKS stores roles with it), --policy associates
access policies (cluster scope, or NAME=ns1,ns2 for namespaces), --type a
node type. Usernames and groups EKS refuses are refused before any call.`,
		Example: `  kubeiam mappings add -f clusters/my-cluster/eksa-system/eksa-cluster.yaml \
      --user-arn arn:aws:iam::111122223333:user/alice --username alice --group viewers
  kubeiam mappings add -f eksa-cluster.yaml --role-arn arn:aws:iam::111122223333:role/Admin \
      --username 'admin:{{SessionName}}' --group system:masters --dry-run
  kubeiam mappings add --eks prod --region eu-west-1 --role-arn arn:aws:iam::111122223333:role/Admin \
      --username 'admin:{{SessionName}}' --policy AmazonEKSClusterAdminPolicy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			if opts.EKS.Cluster != "" {
				if opts.File != "" {
					return clierr.Usagef("give one place to add to: -f SPEC or --eks CLUSTER")
				}
				return runEKSAdd(cmd.Context(), opts)
			}
			if len(opts.Policies) > 0 || opts.EntryType != "" {
				return clierr.Usagef("--policy and --type are for access entries: give --eks CLUSTER")
			}
			return RunAdd(opts)
		},
	}
	opts.editFlags.add(cmd)
	opts.target.add(cmd)
	cmd.Flags().StringVar(&opts.Username, "username", "", "Kubernetes user name (templates: {{AccountID}}, {{SessionName}}, …)")
	cmd.Flags().StringArrayVar(&opts.Groups, "group", nil, "Kubernetes group (repeat for more)")
	opts.EKS.add(cmd, nil)
	cmd.Flags().StringArrayVar(&opts.Policies, "policy", nil, "with --eks: access policy NAME (cluster scope) or NAME=ns1,ns2 (namespace scope); repeat for more")
	cmd.Flags().StringVar(&opts.EntryType, "type", "", "with --eks: access entry type, STANDARD (default) or a node type such as EC2_LINUX")
	return cmd
}

// RunAdd adds the mapping.
func RunAdd(opts *AddOptions) error {
	e, err := opts.target.edit()
	if err != nil {
		return err
	}
	switch {
	case e.Kind == "account" && (opts.Username != "" || len(opts.Groups) > 0):
		return clierr.Usagef("--account takes no --username or --group: the server maps an account's identities by ARN")
	case e.Kind != "account" && opts.Username == "":
		return clierr.Usagef("--username is required")
	}
	e.Username, e.Groups = opts.Username, opts.Groups
	res, err := apply(opts.IO, opts.editFlags, e, nil)
	if err != nil {
		return err
	}
	if res.Stored != "" {
		e.ARN = res.Stored
	}
	if !opts.DryRun {
		what := e.Kind + " " + e.ARN
		if e.Kind != "account" {
			what += fmt.Sprintf(" → %s [%s]", e.Username, strings.Join(e.Groups, ", "))
		}
		fmt.Fprintf(opts.IO.ErrOut, "%s: added %s\n", opts.File, what)
		fmt.Fprintln(opts.IO.ErrOut, "commit the file for GitOps, or apply it with: kubeiam server sync -f "+opts.File)
	}
	return nil
}

// RemoveOptions are the flags of `kubeiam mappings remove`.
type RemoveOptions struct {
	IO *iostreams.IOStreams
	editFlags
	target
	// Kubeconfig, when set, is the cluster whose cluster-admin bindings
	// and own identity the lockout check uses.
	Kubeconfig   string
	AllowLockout bool
	EKS          eksFlags
}

// NewRemoveCmd builds `kubeiam mappings remove`; runF replaces RunRemove in tests.
func NewRemoveCmd(io *iostreams.IOStreams, runF func(*RemoveOptions) error) *cobra.Command {
	opts := &RemoveOptions{IO: io}
	cmd := &cobra.Command{
		Use:     "remove (-f SPEC | --eks CLUSTER) (--role-arn ARN | --user-arn ARN | --account ID)",
		Aliases: []string{"rm"},
		Short:   "Remove a mapping from the spec's AWSIamConfig, or an EKS access entry",
		Long: `Remove a mapping from the spec's AWSIamConfig, or with --eks CLUSTER the
principal's access entry. The lockout guard refuses a change after which no
mapping reaches cluster-admin (for EKS: no principal keeps
AmazonEKSClusterAdminPolicy at cluster scope, or system:masters through a
source EKS still reads), or that unmaps your own identity; --allow-lockout
makes it anyway.`,
		Example: `  kubeiam mappings remove -f clusters/my-cluster/eksa-system/eksa-cluster.yaml --user-arn arn:aws:iam::111122223333:user/alice
  kubeiam mappings remove --eks prod --region eu-west-1 --user-arn arn:aws:iam::111122223333:user/alice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			if opts.EKS.Cluster != "" {
				if opts.File != "" {
					return clierr.Usagef("give one place to remove from: -f SPEC or --eks CLUSTER")
				}
				return runEKSRemove(cmd.Context(), opts)
			}
			return RunRemove(opts)
		},
	}
	opts.editFlags.add(cmd)
	opts.target.add(cmd)
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "admin kubeconfig: also count the cluster's cluster-admin bindings, and refuse to unmap your own identity")
	cmd.Flags().BoolVar(&opts.AllowLockout, "allow-lockout", false, "remove even when no mapping would reach cluster-admin afterwards, or your own identity would be unmapped")
	opts.EKS.add(cmd, &opts.Kubeconfig)
	return cmd
}

// RunRemove removes the mapping.
func RunRemove(opts *RemoveOptions) error {
	e, err := opts.target.edit()
	if err != nil {
		return err
	}
	e.Remove = true
	if _, err := apply(opts.IO, opts.editFlags, e, opts.checkLockout); err != nil {
		return err
	}
	if !opts.DryRun {
		fmt.Fprintf(opts.IO.ErrOut, "%s: removed %s %s\n", opts.File, e.Kind, e.ARN)
	}
	return nil
}

// ListOptions are the flags of `kubeiam mappings list`.
type ListOptions struct {
	IO   *iostreams.IOStreams
	File string
	// Kubeconfig lists the live cluster's mappings instead: every backend
	// its server reads, IAMIdentityMapping objects with their state.
	Kubeconfig string
	// EKS lists a cluster's access entries instead; Output json.
	EKS    eksFlags
	Output string
}

// NewListCmd builds `kubeiam mappings list`; runF replaces RunList in tests.
func NewListCmd(io *iostreams.IOStreams, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: io}
	cmd := &cobra.Command{
		Use:     "list (-f SPEC | --kubeconfig ADMIN | --eks CLUSTER)",
		Aliases: []string{"ls"},
		Short:   "List the mappings: kind, ARN, user name, groups (and, live, backend, source, state)",
		Long: `List the spec's mappings, one a line, tab-separated: kind, ARN, user name,
groups. With --kubeconfig ADMIN list what the cluster's server reads instead, in
its backend order: aws-auth for EKSConfigMap, the IAMIdentityMapping objects for
CRD, each line with its backend, where it lives, whether kubeiam wrote it, and
its state ("active", or "not active yet" for an object whose status the server
has not written). With --eks CLUSTER list the cluster's access entries on
stdout: full principal ARN, type, username, groups and policies with their
scope; the authentication mode and who stays cluster admin go to stderr.`,
		Example: `  kubeiam mappings list -f clusters/my-cluster/eksa-system/eksa-cluster.yaml
  kubeiam mappings list --kubeconfig my-cluster/my-cluster-eks-a-cluster.kubeconfig
  kubeiam mappings list --eks prod --region eu-west-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			if opts.Output != "" && opts.Output != "json" {
				return clierr.Usagef("unknown output format %q: use json or leave it out", opts.Output)
			}
			if opts.EKS.Cluster != "" {
				if opts.File != "" {
					return clierr.Usagef("give one source of mappings: -f SPEC or --eks CLUSTER")
				}
				return runEKSList(cmd.Context(), opts.IO, &opts.EKS, opts.Output)
			}
			return RunList(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.File, "filename", "f", "", "cluster spec file (- for stdin)")
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "admin kubeconfig: list the live cluster's mappings instead (with --eks: read aws-auth through it)")
	opts.EKS.add(cmd, &opts.Kubeconfig)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "with --eks: output format json")
	return cmd
}

// RunList prints one mapping a line, tab-separated, on stdout.
func RunList(opts *ListOptions) error {
	if (opts.File == "") == (opts.Kubeconfig == "") {
		return clierr.Usagef("give one source of mappings: -f SPEC or --kubeconfig ADMIN")
	}
	if opts.Kubeconfig != "" {
		return listLive(opts)
	}
	spec, err := installer.LoadSpec(opts.File, opts.IO.In)
	if err != nil {
		return hint(err)
	}
	for _, w := range spec.Warnings {
		fmt.Fprintln(opts.IO.ErrOut, w.String())
	}
	c := spec.Config
	for _, x := range []struct {
		kind string
		ms   []installer.Mapping
	}{{"role", c.MapRoles}, {"user", c.MapUsers}} {
		for _, m := range x.ms {
			fmt.Fprintf(opts.IO.Out, "%s\t%s\t%s\t%s\n", x.kind, m.ARN, m.Username, strings.Join(m.Groups, ","))
		}
	}
	for _, a := range c.MapAccounts {
		fmt.Fprintf(opts.IO.Out, "account\t%s\t\t\n", a)
	}
	r, u, a := len(c.MapRoles), len(c.MapUsers), len(c.MapAccounts)
	fmt.Fprintf(opts.IO.ErrOut, "AWSIamConfig %s of cluster %s: %d %s, %d %s, %d %s\n", c.Name, spec.ClusterName,
		r, text.Plural(r, "role", "roles"), u, text.Plural(u, "user", "users"), a, text.Plural(a, "account", "accounts"))
	return nil
}

// listLive prints the entries of every backend the live server reads.
func listLive(opts *ListOptions) error {
	cfg, err := installer.RESTConfig(opts.Kubeconfig, "")
	if err != nil {
		return err
	}
	c, err := installer.NewClient(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inst, err := installer.ReadInstalled(ctx, c)
	if err != nil {
		return err
	}
	if inst.Chain.Assumed != "" {
		fmt.Fprintln(opts.IO.ErrOut, "note: "+inst.Chain.Assumed)
	}
	n := 0
	for _, b := range inst.Chain.Backends {
		for _, e := range b.Entries() {
			state, owner := "active", "other"
			if e.Inactive != "" {
				state = e.Inactive
			}
			if e.Managed {
				owner = "kubeiam"
			}
			fmt.Fprintf(opts.IO.Out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Kind, e.ARN, e.Username, strings.Join(e.Groups, ","), b.Name(), e.Source, owner, state)
			n++
		}
	}
	fmt.Fprintf(opts.IO.ErrOut, "%s: %d %s in backends %s (the server's order)\n", cfg.Host, n, text.Plural(n, "entry", "entries"), strings.Join(inst.Chain.Modes(), ", "))
	return nil
}

// checkLockout refuses a removal after which no mapping the server reads
// reaches cluster-admin, or that unmaps the identity of --kubeconfig, and
// says who would be admin. Only the backends the spec's server reads
// count: in CRD mode an admin left in aws-auth is no way in. With
// --kubeconfig, IAMIdentityMapping objects kubeiam did not write count
// too, since a sync leaves them.
func (opts *RemoveOptions) checkLockout(before []byte, after *installer.Spec) error {
	prev, err := installer.ParseSpec(opts.File, before)
	if err != nil {
		return err
	}
	admins := idmap.DefaultAdminSubjects()
	var caller *idmap.Caller
	var foreign []idmap.Mapping
	if opts.Kubeconfig != "" {
		cfg, err := installer.RESTConfig(opts.Kubeconfig, "")
		if err != nil {
			return err
		}
		c, err := installer.NewClient(cfg)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if admins, err = installer.ReadAdminSubjects(ctx, c); err != nil {
			return err
		}
		if caller, err = installer.CallerOf(ctx, c); err != nil {
			return err
		}
		if idmap.Reads(after.Config.BackendMode, idmap.ModeCRD) {
			objs, err := installer.ListIdentityMappings(ctx, c)
			if err != nil && !errors.As(err, new(*installer.NoCRDError)) {
				return err
			}
			for _, o := range objs {
				if m := idmap.FromObject(o); !m.Managed {
					foreign = append(foreign, m)
				}
			}
		}
	}
	lc := idmap.LockoutCheck{
		Before: installer.SpecChain(prev.Config, opts.File, foreign),
		After:  installer.SpecChain(after.Config, opts.File, foreign),
		Admins: admins, Caller: caller,
	}
	left, err := idmap.CheckLockout(lc)
	if opts.AllowLockout {
		left, err = lc.After.Admins(lc.Admins), nil
	}
	if err != nil {
		return clierr.WithHint(err, "keep an admin mapping, or rerun with --allow-lockout if you have another way in; the file was not changed")
	}
	fmt.Fprint(opts.IO.ErrOut, DescribeAdmins(left, lc.Admins.Source))
	return nil
}
