// Package whoami implements `kubeiam whoami`: who AWS says the caller of a
// kubeconfig context is, and which identity mapping of the cluster turns
// that caller into a Kubernetes user — or that none does, before a kubectl
// call fails with a bare "Unauthorized".
package whoami

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/deadline"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/kubeconfig"
	"github.com/kubeiam/kubeiam/mappings"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/chain"
	"github.com/kubeiam/kubeiam/token/execargs"
)

// ErrUnmapped is returned (after the report is printed) when no mapping
// applies, so the exit code says "denied" to scripts.
var ErrUnmapped = errors.New("no mapping: the server will deny this identity")

// Options are the flags of `kubeiam whoami` and the seams of its tests.
type Options struct {
	IO *iostreams.IOStreams
	// Context is the context whose exec block says who logs in, read from
	// KUBECONFIG (or ~/.kube/config); "" is the current context.
	Context string
	// Kubeconfig is an admin kubeconfig to read aws-auth with; empty means
	// the identity's own context.
	Kubeconfig string
	// Spec is an EKS Anywhere cluster spec whose AWSIamConfig holds the
	// mappings, instead of the cluster's aws-auth.
	Spec string
	// ARN skips STS: the identity to match.
	ARN string
	// Explain words the report as `mappings explain` does: the server's
	// answer for an ARN rather than the user's own identity.
	Explain bool
	// Overrides of (or, without a context, instead of) the exec arguments.
	Req     execargs.Request
	Output  string
	Timeout time.Duration

	Now func() time.Time
	// HTTPClient carries the GetCallerIdentity GET of the token; nil means
	// Go's default transport (HTTPS_PROXY, SSL_CERT_FILE), as the server's.
	HTTPClient *http.Client
	// Client reads aws-auth; nil means one built from the kubeconfig.
	Client installer.Client
}

// NewCmd builds `kubeiam whoami`; runF replaces Run in tests.
func NewCmd(io *iostreams.IOStreams, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: io, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "whoami [--context C] [--kubeconfig ADMIN | -f SPEC] [--arn ARN]",
		Short: "Show the AWS identity of a context and the Kubernetes user the cluster maps it to",
		Long: `Show who a kubeconfig context logs in as: the caller STS reports for a token
made with the context's exec arguments (cluster ID, role, profile, region),
its canonical ARN, the mapping that applies to it, and the Kubernetes
username and groups the server will give it.

The token goes through the same GetCallerIdentity call the server makes, so
a token STS refuses for the cluster ID fails here too. The mappings come from
every backend the cluster's server reads, in its order (ConfigMap
kube-system/aws-auth, IAMIdentityMapping objects), read with --kubeconfig
ADMIN (or with the context itself when it may), or offline from an EKS
Anywhere spec (-f).
--arn skips STS and only matches the given ARN.

Exit code 1 when no mapping applies: the server will deny the identity.`,
		Example: `  kubeiam whoami
  kubeiam whoami --context prod-aws --kubeconfig prod/prod-eks-a-cluster.kubeconfig
  kubeiam whoami -f clusters/prod/eksa-system/eksa-cluster.yaml -o json
  kubeiam whoami -f prod.yaml --arn arn:aws:sts::111122223333:assumed-role/Admin/alice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output != "" && opts.Output != "json" {
				return clierr.Usagef("unknown output format %q: use json or leave it out", opts.Output)
			}
			if opts.Spec != "" && opts.Kubeconfig != "" {
				return clierr.Usagef("-f SPEC and --kubeconfig ADMIN are two sources of mappings: use one")
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Context, "context", "", "context whose exec arguments say who logs in (default: the current context)")
	f.StringVar(&opts.Kubeconfig, "kubeconfig", "", "admin kubeconfig to read kube-system/aws-auth with (default: the context itself)")
	f.StringVarP(&opts.Spec, "filename", "f", "", "EKS Anywhere cluster spec whose AWSIamConfig mappings to match, offline")
	f.StringVar(&opts.ARN, "arn", "", "match this IAM or STS ARN instead of asking STS")
	f.StringVarP(&opts.Req.ClusterID, "cluster-id", "i", "", "cluster ID (default: the context's)")
	f.StringVarP(&opts.Req.RoleARN, "role-arn", "r", "", "role to assume (default: the context's)")
	f.StringVar(&opts.Req.Profile, "profile", "", "AWS profile (default: the context's)")
	f.StringVar(&opts.Req.Region, "region", "", "STS region (default: the context's)")
	f.StringVarP(&opts.Output, "output", "o", "", "output format: json")
	f.DurationVar(&opts.Timeout, "timeout", 30*time.Second, "bound for the AWS and Kubernetes calls")
	return cmd
}

// Report is what whoami found. The JSON form is an interface for scripts:
// fields are only ever added.
type Report struct {
	Context      string `json:"context,omitempty"`
	ClusterID    string `json:"clusterID,omitempty"`
	ARN          string `json:"arn"`
	CanonicalARN string `json:"canonicalARN"`
	Account      string `json:"account"`
	// Verified is true when STS answered for a token signed for ClusterID,
	// false when the ARN was given with --arn.
	Verified bool `json:"verified"`
	// Source names where the mappings came from.
	Source string `json:"source"`
	// InstalledClusterID is the cluster ID the cluster's server checks
	// tokens against (only when read from the cluster).
	InstalledClusterID string `json:"installedClusterID,omitempty"`

	// Principal names the kind of caller (role session, IAM user, …).
	Principal string `json:"principal,omitempty"`
	// Backends are the server's backend modes, in its order.
	Backends []string `json:"backends,omitempty"`
	// Trace is what each backend found, in the server's order.
	Trace []string `json:"trace,omitempty"`

	Mapped  bool            `json:"mapped"`
	Mapping *mappings.Match `json:"mapping,omitempty"`
	// Denied says why the server will refuse the identity; Hint what to do.
	Denied string `json:"denied,omitempty"`
	Hint   string `json:"hint,omitempty"`
}

// Run finds the caller, reads the mappings, prints the report and fails
// when the server would deny the identity.
func Run(ctx context.Context, opts *Options) error {
	// One budget for the AWS and Kubernetes calls; a call that runs it out
	// is reported as one line naming the endpoint.
	ctx, cancel := deadline.Start(ctx, deadline.Budget{Total: opts.Timeout, Attempt: deadline.Attempt(ctx, deadline.Command.Attempt)})
	defer cancel()
	rep := &Report{}
	caller, err := resolveCaller(ctx, opts, rep)
	if err != nil {
		return deadline.Explain(ctx, err)
	}
	maps, err := loadMappings(ctx, opts, rep)
	if err != nil {
		return deadline.Explain(ctx, err)
	}
	decide(rep, caller, maps)
	if opts.Explain && rep.Denied == ErrUnmapped.Error() {
		rep.Denied = "no mapping: the server answers Unauthorized"
	}
	if err := write(opts, rep); err != nil {
		return err
	}
	if !rep.Mapped {
		return clierr.WithHint(errors.New(rep.Denied), "%s", rep.Hint)
	}
	return nil
}

func decide(rep *Report, c mappings.Caller, maps mappings.Chain) {
	rep.ARN, rep.CanonicalARN, rep.Account = c.ARN, c.CanonicalARN, c.AccountID
	rep.Principal, rep.Backends = c.Describe(), maps.Modes()
	if rep.InstalledClusterID != "" && rep.ClusterID != "" && rep.InstalledClusterID != rep.ClusterID {
		// The server would refuse the token's signature before mapping.
		rep.Denied = fmt.Sprintf("cluster ID mismatch: tokens are signed for %s, the cluster's server checks %s: the server will deny this identity", rep.ClusterID, rep.InstalledClusterID)
		rep.Hint = fmt.Sprintf("set -i %s in the context's exec arguments (kubeiam kubeconfig write --cluster-id %s)", rep.InstalledClusterID, rep.InstalledClusterID)
		return
	}
	m, trace := maps.Explain(c)
	rep.Trace = trace
	if m == nil {
		rep.Denied = ErrUnmapped.Error()
		rep.Hint = fmt.Sprintf("map %s in the AWSIamConfig (kubeiam mappings add --%s-arn %s --username U --group G -f SPEC, then kubeiam server sync)",
			c.CanonicalARN, arnKind(c.CanonicalARN), c.CanonicalARN)
		if near := maps.Near(c); len(near) > 0 {
			rep.Hint = fmt.Sprintf("%s is mapped with a role path, which the server never matches: map %s instead", strings.Join(near, ", "), c.CanonicalARN)
		}
		return
	}
	rep.Mapping = m
	if m.Problem != "" {
		rep.Denied = m.Problem
		rep.Hint = "map the role with a username that does not use {{EC2PrivateDNSName}}, or log in from the instance's own role session"
		return
	}
	rep.Mapped = true
}

func arnKind(canonical string) string {
	if strings.Contains(canonical, ":user/") {
		return "user"
	}
	return "role"
}

// resolveCaller asks STS who the context's credentials are, with a token
// signed for the cluster ID exactly as `kubeiam token` signs it, or takes
// the identity from --arn.
func resolveCaller(ctx context.Context, opts *Options, rep *Report) (mappings.Caller, error) {
	if opts.ARN != "" {
		c, err := mappings.CallerOfARN(opts.ARN)
		if err != nil {
			return mappings.Caller{}, clierr.Usagef("--arn: %v", err)
		}
		rep.Context, rep.ClusterID = opts.Context, opts.Req.ClusterID
		return c, nil
	}
	req, err := requestFor(opts, rep)
	if err != nil {
		return mappings.Caller{}, err
	}
	copts := chain.OptionsFor(&req)
	copts.Interactive = opts.IO.ErrIsTerminal
	copts.Prompt, copts.Input = opts.IO.ErrOut, opts.IO.In
	copts.Now = opts.Now
	sess, err := chain.NewSession(ctx, copts)
	if err != nil {
		return mappings.Caller{}, fmt.Errorf("could not load the AWS configuration: %w", err)
	}
	tok, _, err := sess.Token(ctx)
	if err != nil {
		return mappings.Caller{}, err
	}
	claims, err := token.Verify(tok.Token, sess.Endpoint.Partition, opts.Now())
	if err != nil {
		return mappings.Caller{}, fmt.Errorf("could not check the token: %w", err)
	}
	id, err := claims.CallerIdentity(ctx, opts.HTTPClient, req.ClusterID)
	if err != nil {
		return mappings.Caller{}, clierr.WithHint(fmt.Errorf("could not get the caller identity: %w", err),
			"kubeiam doctor checks the credentials and the STS endpoint")
	}
	rep.Verified = true
	c := callerOf(id.ARN, id.CanonicalARN, id.Account, claims.AccessKeyID)
	if _, s, ok := strings.Cut(id.UserID, ":"); ok {
		// The server takes the session name from UserId, as here.
		c.SessionName = s
	}
	return c, nil
}

// callerOf fills a Caller from an ARN; the account and session name come
// from the ARN when STS did not say.
func callerOf(arn, canon, account, accessKey string) mappings.Caller {
	parts := strings.SplitN(arn, ":", 6)
	if account == "" && len(parts) == 6 {
		account = parts[4]
	}
	c := mappings.Caller{ARN: arn, CanonicalARN: canon, AccountID: account, AccessKeyID: accessKey}
	if len(parts) == 6 && strings.HasPrefix(parts[5], "assumed-role/") {
		if seg := strings.SplitN(parts[5], "/", 3); len(seg) == 3 {
			c.SessionName = seg[2]
		}
	}
	return c
}

// requestFor reads the token flags of the context's exec block, then lets
// the command's flags override them. With -i and no usable context, the
// flags alone say who logs in.
func requestFor(opts *Options, rep *Report) (execargs.Request, error) {
	var req execargs.Request
	ctxName, e, err := execOf(opts.Context)
	switch {
	case err != nil && (opts.Context != "" || opts.Req.ClusterID == ""):
		return req, err
	case err == nil:
		req = requestOf(e)
		rep.Context = ctxName
	}
	o := opts.Req
	for _, p := range []struct {
		dst *string
		v   string
	}{
		{&req.ClusterID, o.ClusterID}, {&req.RoleARN, o.RoleARN}, {&req.Profile, o.Profile}, {&req.Region, o.Region},
	} {
		if p.v != "" {
			*p.dst = p.v
		}
	}
	if req.ClusterID == "" {
		return req, clierr.WithHint(fmt.Errorf("context %q names no cluster ID", ctxName), "pass -i CLUSTER_ID (EKS-A keeps it in ConfigMap kube-system/aws-iam-authenticator)")
	}
	rep.ClusterID = req.ClusterID
	return req, nil
}

// execOf returns the exec block of the context (the current one for "").
func execOf(name string) (string, *clientcmdapi.ExecConfig, error) {
	loaded, err := kubeconfig.LoadFiles(kubeconfig.DefaultFiles(""))
	if err != nil {
		return "", nil, err
	}
	merged := loaded.Merged()
	if name == "" {
		name = merged.CurrentContext
	}
	if name == "" {
		return "", nil, clierr.WithHint(errors.New("no current context"), "pass --context C, or -i CLUSTER_ID with --profile/--role-arn")
	}
	_, user, err := loaded.UserFile(name)
	if err != nil {
		return name, nil, err
	}
	ai := merged.AuthInfos[user]
	if ai == nil || ai.Exec == nil {
		return name, nil, fmt.Errorf("context %q does not log in through an exec plugin, so not with AWS IAM", name)
	}
	if _, ok := kubeconfig.IdentityOf(ai.Exec); !ok {
		return name, nil, fmt.Errorf("context %q runs %q, which is not kubeiam, aws-iam-authenticator or aws", name, ai.Exec.Command)
	}
	return name, ai.Exec, nil
}

// requestOf is the request the plugin will make, with AWS_PROFILE from the
// exec env standing in for a missing --profile, as the plugin sees it.
func requestOf(e *clientcmdapi.ExecConfig) execargs.Request {
	req, id := kubeconfig.TokenRequest(e)
	if req.Profile == "" {
		req.Profile = id.Profile
	}
	return req
}

// loadMappings reads the mappings from the spec, else from the cluster.
func loadMappings(ctx context.Context, opts *Options, rep *Report) (mappings.Chain, error) {
	if opts.Spec != "" {
		spec, err := installer.LoadSpec(opts.Spec, opts.IO.In)
		var ve *installer.ValidationError
		if errors.As(err, &ve) {
			return mappings.Chain{}, clierr.WithHint(err, "kubeiam server validate -f %s lists the problems", opts.Spec)
		}
		if err != nil {
			return mappings.Chain{}, err
		}
		rep.Source = fmt.Sprintf("%s (AWSIamConfig %s)", opts.Spec, spec.Config.Name)
		return installer.SpecChain(spec.Config, opts.Spec, nil), nil
	}
	c, host := opts.Client, "the cluster"
	if c == nil {
		kcfg, kctx := opts.Kubeconfig, ""
		if kcfg == "" {
			kctx = rep.Context
		}
		cfg, err := installer.RESTConfig(kcfg, kctx)
		if err != nil {
			return mappings.Chain{}, err
		}
		if c, err = installer.NewClient(cfg); err != nil {
			return mappings.Chain{}, err
		}
		host = cfg.Host
	}
	inst, err := installer.ReadInstalled(ctx, c)
	var fe *installer.ForbiddenError
	if errors.As(err, &fe) && opts.Kubeconfig == "" {
		return mappings.Chain{}, clierr.WithHint(err, "the context may not read aws-auth: pass --kubeconfig ADMIN, or -f SPEC to match offline")
	}
	if err != nil {
		return mappings.Chain{}, err
	}
	var srcs []string
	if mappings.Reads(inst.Modes, mappings.ModeEKSConfigMap) || len(inst.Modes) == 0 {
		s := "ConfigMap kube-system/aws-auth"
		if !inst.HasAWSAuth {
			s += " (missing)"
		}
		srcs = append(srcs, s)
	}
	if mappings.Reads(inst.Modes, mappings.ModeCRD) {
		srcs = append(srcs, fmt.Sprintf("%d %s objects", len(inst.Objects), mappings.CRDKind))
	}
	if len(srcs) == 0 {
		srcs = append(srcs, "no backend kubeiam can read")
	}
	rep.Source = strings.Join(srcs, " and ") + " at " + host
	rep.InstalledClusterID = inst.ClusterID
	return inst.Chain, nil
}

func write(opts *Options, rep *Report) error {
	if opts.Output == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := opts.IO.Out
	if rep.Context != "" {
		fmt.Fprintf(w, "context:        %s\n", rep.Context)
	}
	if rep.ClusterID != "" {
		fmt.Fprintf(w, "cluster ID:     %s\n", rep.ClusterID)
	}
	verified := "(given with --arn, not asked of STS)"
	if rep.Verified {
		verified = "(STS GetCallerIdentity for a token signed for the cluster ID)"
	}
	fmt.Fprintf(w, "ARN:            %s %s\n", rep.ARN, verified)
	if rep.Principal != "" {
		fmt.Fprintf(w, "principal:      %s\n", rep.Principal)
	}
	fmt.Fprintf(w, "canonical ARN:  %s\n", rep.CanonicalARN)
	fmt.Fprintf(w, "mappings:       %s\n", rep.Source)
	if len(rep.Backends) > 0 {
		fmt.Fprintf(w, "backends:       %s (walked in the server's order; the first that maps decides)\n", strings.Join(rep.Backends, ", "))
	}
	for _, t := range rep.Trace {
		fmt.Fprintf(w, "checked:        %s\n", t)
	}
	if m := rep.Mapping; m != nil && m.Backend != "" {
		fmt.Fprintf(w, "answered by:    %s\n", m.Backend)
	}
	if m := rep.Mapping; m != nil {
		fmt.Fprintf(w, "mapping:        %s %s", m.Kind, m.ARN)
		if m.UsernameTemplate != "" {
			fmt.Fprintf(w, " → %s [%s]", m.UsernameTemplate, strings.Join(m.GroupTemplates, ", "))
		}
		if m.Source != "" {
			fmt.Fprintf(w, " (%s)", m.Source)
		}
		fmt.Fprintln(w)
	}
	if rep.Mapped {
		fmt.Fprintf(w, "username:       %s\n", rep.Mapping.Username)
		fmt.Fprintf(w, "groups:         %s\n", strings.Join(rep.Mapping.Groups, ", "))
		for _, u := range rep.Mapping.Unknown {
			fmt.Fprintf(w, "note:           %s\n", u)
		}
	}
	return nil
}
