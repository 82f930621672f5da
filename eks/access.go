package eks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/kubeiam/kubeiam/internal/ctxsleep"
	"github.com/kubeiam/kubeiam/internal/deadline"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/internal/text"
)

// Authentication modes (accessConfig.authenticationMode). A cluster moves
// only forward through them: CONFIG_MAP → API_AND_CONFIG_MAP → API.
const (
	ModeConfigMap       = "CONFIG_MAP"
	ModeAPIAndConfigMap = "API_AND_CONFIG_MAP"
	ModeAPI             = "API"
)

// ModeRank orders the modes; a change may only go up.
func ModeRank(m string) int {
	switch m {
	case ModeConfigMap:
		return 0
	case ModeAPIAndConfigMap:
		return 1
	case ModeAPI:
		return 2
	}
	return -1
}

// Access policies.
const (
	PolicyPrefix       = "arn:aws:eks::aws:cluster-access-policy/"
	ClusterAdminPolicy = PolicyPrefix + "AmazonEKSClusterAdminPolicy"
	ScopeCluster       = "cluster"
	ScopeNamespace     = "namespace"
	TypeStandard       = "STANDARD"
	TypeEC2Linux       = "EC2_LINUX"
	TypeEC2Windows     = "EC2_WINDOWS"
	TypeFargateLinux   = "FARGATE_LINUX"
)

// NodeTypes are the entry types for nodes: EKS fixes their username and
// groups and takes no policies.
var NodeTypes = []string{TypeEC2Linux, TypeEC2Windows, TypeFargateLinux, "HYBRID_LINUX", "EC2", "HYPERPOD_LINUX"}

// Policy is an access policy associated with an entry.
type Policy struct {
	ARN        string   `json:"policyArn"`
	Scope      string   `json:"scope"`
	Namespaces []string `json:"namespaces,omitempty"`
}

// Name is the policy's short name (AmazonEKSClusterAdminPolicy).
func (p Policy) Name() string { return strings.TrimPrefix(p.ARN, PolicyPrefix) }

func (p Policy) String() string {
	if p.Scope == ScopeNamespace {
		return fmt.Sprintf("%s (namespaces %s)", p.Name(), strings.Join(p.Namespaces, ","))
	}
	return p.Name() + " (cluster)"
}

func (p Policy) equal(o Policy) bool {
	return p.ARN == o.ARN && p.Scope == o.Scope && slices.Equal(sortedCopy(p.Namespaces), sortedCopy(o.Namespaces))
}

// Entry is an access entry with its policies.
type Entry struct {
	PrincipalARN string   `json:"principalArn"`
	Type         string   `json:"type"`
	Username     string   `json:"username"`
	Groups       []string `json:"kubernetesGroups"`
	Policies     []Policy `json:"policies"`
	// Managed: kubeiam made the entry (its ManagedTag), so an apply may
	// change or delete it; other entries are someone else's.
	Managed bool `json:"managed,omitempty"`
}

// ManagedTag marks the access entries kubeiam creates from a file, so a
// later apply can tell them from hand-made ones (and EKS's node entries).
const ManagedTag = "kubeiam.io/managed"

// IsNode says the entry is of a node type.
func (e Entry) IsNode() bool { return slices.Contains(NodeTypes, e.Type) }

// ClusterAdmin says the entry holds AmazonEKSClusterAdminPolicy at cluster scope.
func (e Entry) ClusterAdmin() bool {
	return slices.ContainsFunc(e.Policies, func(p Policy) bool { return p.ARN == ClusterAdminPolicy && p.Scope == ScopeCluster })
}

// AccessOptions tune NewAccessClient.
type AccessOptions struct {
	// Timeout bounds each call, retries included; 0 means a minute (a
	// throttled call backs off several times).
	Timeout time.Duration
	// Concurrency bounds the calls in flight; 0 means 8.
	Concurrency int
	// MaxAttempts per call; 0 means 10, so that throttling (429) is
	// ridden out with backoff rather than reported.
	MaxAttempts int
	// MaxBackoff caps one retry's wait; 0 means 5 s.
	MaxBackoff time.Duration
	// PollInterval is how often a mode change is checked; 0 means 5 s.
	PollInterval time.Duration
	// HTTPClient replaces the SDK's (tests).
	HTTPClient aws.HTTPClient
	// EKSEndpoint, IAMEndpoint and STSEndpoint replace the services'
	// endpoints (the benchmark's stand-ins); AWS_ENDPOINT_URL_EKS and its
	// kin do the same from the environment.
	EKSEndpoint, IAMEndpoint, STSEndpoint string
}

// AccessClient reads and changes the access entries of one cluster.
type AccessClient struct {
	Cluster, Region, Profile string
	api                      *eks.Client
	iam                      *iam.Client
	cfg                      aws.Config
	opts                     AccessOptions

	acctOnce sync.Once
	acct     string
	acctErr  error
}

// NewAccessClient returns a client for cluster in region with cfg's
// credentials. Throttled calls are retried with backoff and without the
// SDK's retry quota: a migration makes hundreds of calls, and a quota
// spent on 429s would turn the rest into errors.
func NewAccessClient(cfg aws.Config, profile, region, cluster string, o AccessOptions) *AccessClient {
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = o.MaxAttempts
			so.MaxBackoff = o.MaxBackoff
			so.RateLimiter = ratelimit.None
		})
	}
	api := eks.NewFromConfig(cfg, func(eo *eks.Options) {
		eo.Region = region
		eo.Retryer = retryer()
		if o.EKSEndpoint != "" {
			eo.BaseEndpoint = aws.String(o.EKSEndpoint)
		}
		if o.HTTPClient != nil {
			eo.HTTPClient = o.HTTPClient
		}
	})
	ic := iam.NewFromConfig(cfg, func(io *iam.Options) {
		// IAM is global; its endpoint signs for us-east-1 in the aws
		// partition.
		io.Region = iamRegion(region)
		io.Retryer = retryer()
		if o.IAMEndpoint != "" {
			io.BaseEndpoint = aws.String(o.IAMEndpoint)
		}
		if o.HTTPClient != nil {
			io.HTTPClient = o.HTTPClient
		}
	})
	return &AccessClient{Cluster: cluster, Region: region, Profile: profile, api: api, iam: ic, cfg: cfg, opts: o}
}

func iamRegion(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "cn-north-1"
	case strings.HasPrefix(region, "us-gov-"):
		return "us-gov-west-1"
	}
	return "us-east-1"
}

// Concurrency is the bound on calls in flight.
func (c *AccessClient) Concurrency() int { return c.opts.Concurrency }

func (c *AccessClient) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return deadline.Start(ctx, deadline.Budget{Total: c.opts.Timeout, Attempt: deadline.Attempt(ctx, deadline.Command.Attempt)})
}

// ErrConfigMapMode: the cluster is in CONFIG_MAP mode, where every
// access-entry call fails.
var ErrConfigMapMode = errors.New("the cluster's authentication mode is CONFIG_MAP")

// AccessError is a failed access-entry call, explained in one line.
type AccessError struct {
	Op, Cluster, Region, Profile string
	Code, Message                string
	Status                       int
	Err                          error
}

func (e *AccessError) Error() string {
	who := ""
	if e.Profile != "" {
		who = fmt.Sprintf(" (profile %s)", e.Profile)
	}
	where := fmt.Sprintf("cluster %s in %s%s", e.Cluster, e.Region, who)
	switch {
	case e.Code == "InvalidRequestException" && strings.Contains(e.Message, "authentication mode"):
		return fmt.Sprintf("could not %s: %s uses authentication mode CONFIG_MAP, which has no access entries", e.Op, where)
	case e.Code == "":
		return fmt.Sprintf("could not %s on %s: %s", e.Op, where, text.OneLine(e.Err.Error()))
	}
	return fmt.Sprintf("could not %s on %s: %s: %s", e.Op, where, e.Code, text.OneLine(e.Message))
}

func (e *AccessError) Unwrap() error {
	if e.Code == "InvalidRequestException" && strings.Contains(e.Message, "authentication mode") {
		return ErrConfigMapMode
	}
	return e.Err
}

func (c *AccessClient) fail(err error, op string) error {
	e := &AccessError{Op: op, Cluster: c.Cluster, Region: c.Region, Profile: c.Profile, Err: err}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		e.Code, e.Message = apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		e.Status = re.HTTPStatusCode()
	}
	// No answer, refused, reset, a failing proxy: one line naming the
	// endpoint (the service's own errors keep their code).
	if e.Code == "" {
		if ne := deadline.Describe(context.Background(), err); ne != nil {
			e.Err = ne
		}
	}
	if errors.Is(e, ErrConfigMapMode) {
		return hint.With(e, "kubeiam mappings migrate --eks %s --region %s moves it to API_AND_CONFIG_MAP first, keeping aws-auth", c.Cluster, c.Region)
	}
	return e
}

func code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// Describe returns the cluster with its authentication mode.
func (c *AccessClient) Describe(ctx context.Context) (Cluster, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	out, err := c.api.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(c.Cluster)})
	if err != nil {
		cl := &Client{Profile: c.Profile, Region: c.Region}
		return Cluster{}, cl.describeError(ctx, err, "describe cluster "+c.Cluster)
	}
	if out.Cluster == nil {
		return Cluster{}, fmt.Errorf("could not describe cluster %s in %s: empty answer", c.Cluster, c.Region)
	}
	return (&Client{Profile: c.Profile, Region: c.Region}).fromAPI(out.Cluster)
}

// List returns every entry with its policies, sorted by principal ARN; the
// describe calls run with bounded concurrency.
func (c *AccessClient) List(ctx context.Context) ([]Entry, error) {
	var arns []string
	p := eks.NewListAccessEntriesPaginator(c.api, &eks.ListAccessEntriesInput{ClusterName: aws.String(c.Cluster)})
	for p.HasMorePages() {
		callCtx, cancel := c.call(ctx)
		page, err := p.NextPage(callCtx)
		cancel()
		if err != nil {
			return nil, c.fail(err, "list access entries")
		}
		arns = append(arns, page.AccessEntries...)
	}
	out := make([]Entry, len(arns))
	err := c.each(ctx, len(arns), func(ctx context.Context, i int) error {
		e, err := c.Get(ctx, arns[i])
		if err != nil {
			return err
		}
		if e == nil {
			// Deleted since the list: keep the slot, drop it below.
			return nil
		}
		out[i] = *e
		return nil
	})
	if err != nil {
		return nil, err
	}
	out = slices.DeleteFunc(out, func(e Entry) bool { return e.PrincipalARN == "" })
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.PrincipalARN, b.PrincipalARN) })
	return out, nil
}

// each runs f for 0..n-1 with at most Concurrency at once; the first error
// cancels the rest and is returned.
func (c *AccessClient) each(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, c.opts.Concurrency)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return fmt.Errorf("could not finish on cluster %s: %w", c.Cluster, context.Cause(ctx))
	}
	return first
}

// Get returns the entry of principal with its policies, or nil when there
// is none.
func (c *AccessClient) Get(ctx context.Context, principal string) (*Entry, error) {
	callCtx, cancel := c.call(ctx)
	out, err := c.api.DescribeAccessEntry(callCtx, &eks.DescribeAccessEntryInput{ClusterName: aws.String(c.Cluster), PrincipalArn: aws.String(principal)})
	cancel()
	if code(err) == "ResourceNotFoundException" {
		return nil, nil
	}
	if err != nil {
		return nil, c.fail(err, "describe access entry "+principal)
	}
	if out.AccessEntry == nil {
		return nil, fmt.Errorf("could not describe access entry %s on cluster %s: empty answer", principal, c.Cluster)
	}
	a := out.AccessEntry
	e := &Entry{PrincipalARN: aws.ToString(a.PrincipalArn), Type: aws.ToString(a.Type), Username: aws.ToString(a.Username), Groups: a.KubernetesGroups,
		Managed: a.Tags[ManagedTag] == "true"}
	if e.Groups == nil {
		e.Groups = []string{}
	}
	e.Policies = []Policy{}
	if e.IsNode() {
		return e, nil
	}
	p := eks.NewListAssociatedAccessPoliciesPaginator(c.api, &eks.ListAssociatedAccessPoliciesInput{ClusterName: aws.String(c.Cluster), PrincipalArn: aws.String(principal)})
	for p.HasMorePages() {
		callCtx, cancel := c.call(ctx)
		page, err := p.NextPage(callCtx)
		cancel()
		if code(err) == "ResourceNotFoundException" {
			return nil, nil
		}
		if err != nil {
			return nil, c.fail(err, "list the access policies of "+principal)
		}
		for _, ap := range page.AssociatedAccessPolicies {
			pol := Policy{ARN: aws.ToString(ap.PolicyArn)}
			if ap.AccessScope != nil {
				pol.Scope, pol.Namespaces = string(ap.AccessScope.Type), ap.AccessScope.Namespaces
			}
			if len(pol.Namespaces) == 0 {
				pol.Namespaces = nil
			}
			e.Policies = append(e.Policies, pol)
		}
	}
	slices.SortFunc(e.Policies, func(a, b Policy) int { return strings.Compare(a.ARN, b.ARN) })
	return e, nil
}

// Create makes the entry and associates its policies. A 409 (the entry
// exists: EKS made it, or an earlier run did) is reported as ErrExists.
func (c *AccessClient) Create(ctx context.Context, e Entry) error {
	in := &eks.CreateAccessEntryInput{ClusterName: aws.String(c.Cluster), PrincipalArn: aws.String(e.PrincipalARN)}
	if e.Managed {
		in.Tags = map[string]string{ManagedTag: "true"}
	}
	if e.Type != "" && e.Type != TypeStandard {
		in.Type = aws.String(e.Type)
	} else {
		in.KubernetesGroups = e.Groups
		if e.Username != "" {
			in.Username = aws.String(e.Username)
		}
	}
	callCtx, cancel := c.call(ctx)
	_, err := c.api.CreateAccessEntry(callCtx, in)
	cancel()
	if code(err) == "ResourceInUseException" {
		return fmt.Errorf("could not create access entry %s on cluster %s: %w", e.PrincipalARN, c.Cluster, ErrExists)
	}
	if err != nil {
		return c.fail(err, "create access entry "+e.PrincipalARN)
	}
	for _, p := range e.Policies {
		if err := c.Associate(ctx, e.PrincipalARN, p); err != nil {
			return err
		}
	}
	return nil
}

// ErrExists: the access entry is there already (ResourceInUseException).
var ErrExists = errors.New("it exists already")

// Update sets the username and groups of an entry in place (all
// UpdateAccessEntry can change).
func (c *AccessClient) Update(ctx context.Context, principal, username string, groups []string) error {
	in := &eks.UpdateAccessEntryInput{ClusterName: aws.String(c.Cluster), PrincipalArn: aws.String(principal), KubernetesGroups: groups}
	if in.KubernetesGroups == nil {
		in.KubernetesGroups = []string{}
	}
	if username != "" {
		in.Username = aws.String(username)
	}
	callCtx, cancel := c.call(ctx)
	defer cancel()
	if _, err := c.api.UpdateAccessEntry(callCtx, in); err != nil {
		return c.fail(err, "update access entry "+principal)
	}
	return nil
}

// Delete removes an entry (its policies go with it).
func (c *AccessClient) Delete(ctx context.Context, principal string) error {
	callCtx, cancel := c.call(ctx)
	defer cancel()
	if _, err := c.api.DeleteAccessEntry(callCtx, &eks.DeleteAccessEntryInput{ClusterName: aws.String(c.Cluster), PrincipalArn: aws.String(principal)}); err != nil {
		return c.fail(err, "delete access entry "+principal)
	}
	return nil
}

// Associate associates (or re-scopes) a policy.
func (c *AccessClient) Associate(ctx context.Context, principal string, p Policy) error {
	scope := &types.AccessScope{Type: types.AccessScopeType(p.Scope)}
	if p.Scope == ScopeNamespace {
		scope.Namespaces = p.Namespaces
	}
	callCtx, cancel := c.call(ctx)
	defer cancel()
	if _, err := c.api.AssociateAccessPolicy(callCtx, &eks.AssociateAccessPolicyInput{ClusterName: aws.String(c.Cluster),
		PrincipalArn: aws.String(principal), PolicyArn: aws.String(p.ARN), AccessScope: scope}); err != nil {
		return c.fail(err, "associate "+p.Name()+" with "+principal)
	}
	return nil
}

// Disassociate removes a policy from an entry.
func (c *AccessClient) Disassociate(ctx context.Context, principal, policyARN string) error {
	callCtx, cancel := c.call(ctx)
	defer cancel()
	if _, err := c.api.DisassociateAccessPolicy(callCtx, &eks.DisassociateAccessPolicyInput{ClusterName: aws.String(c.Cluster),
		PrincipalArn: aws.String(principal), PolicyArn: aws.String(policyARN)}); err != nil {
		return c.fail(err, "disassociate "+strings.TrimPrefix(policyARN, PolicyPrefix)+" from "+principal)
	}
	return nil
}

// SetMode moves the cluster to authentication mode to and waits until EKS
// says the change is done (it is asynchronous); progress gets a line per
// poll. A change already under way (an interrupted run) is waited for.
func (c *AccessClient) SetMode(ctx context.Context, to string, progress func(string)) error {
	callCtx, cancel := c.call(ctx)
	out, err := c.api.UpdateClusterConfig(callCtx, &eks.UpdateClusterConfigInput{Name: aws.String(c.Cluster),
		AccessConfig: &types.UpdateAccessConfigRequest{AuthenticationMode: types.AuthenticationMode(to)}})
	cancel()
	if code(err) == "ResourceInUseException" {
		progress("an update of cluster " + c.Cluster + " is already in progress; waiting for mode " + to)
		return c.waitMode(ctx, to, progress)
	}
	if err != nil {
		return c.fail(err, "change the authentication mode to "+to)
	}
	if out.Update == nil || out.Update.Id == nil {
		return c.waitMode(ctx, to, progress)
	}
	id := aws.ToString(out.Update.Id)
	progress(fmt.Sprintf("authentication mode → %s: update %s %s", to, id, out.Update.Status))
	for {
		callCtx, cancel := c.call(ctx)
		du, err := c.api.DescribeUpdate(callCtx, &eks.DescribeUpdateInput{Name: aws.String(c.Cluster), UpdateId: aws.String(id)})
		cancel()
		if err != nil {
			return c.fail(err, "follow update "+id)
		}
		switch st := du.Update.Status; st {
		case types.UpdateStatusSuccessful:
			progress(fmt.Sprintf("authentication mode → %s: update %s Successful", to, id))
			return nil
		case types.UpdateStatusFailed, types.UpdateStatusCancelled:
			msg := ""
			for _, e := range du.Update.Errors {
				msg += " " + aws.ToString(e.ErrorMessage)
			}
			return fmt.Errorf("could not change the authentication mode of cluster %s to %s: update %s %s%s", c.Cluster, to, id, st, msg)
		}
		progress(fmt.Sprintf("authentication mode → %s: update %s InProgress", to, id))
		if err := ctxsleep.Sleep(ctx, c.opts.PollInterval); err != nil {
			return fmt.Errorf("could not wait for update %s of cluster %s: %w", id, c.Cluster, err)
		}
	}
}

// waitMode polls DescribeCluster until the mode is to.
func (c *AccessClient) waitMode(ctx context.Context, to string, progress func(string)) error {
	for {
		cl, err := c.Describe(ctx)
		if err != nil {
			return err
		}
		if cl.AuthenticationMode == to {
			return nil
		}
		progress("authentication mode is " + cl.AuthenticationMode + ", waiting for " + to)
		if err := ctxsleep.Sleep(ctx, c.opts.PollInterval); err != nil {
			return fmt.Errorf("could not wait for cluster %s to reach mode %s: %w", c.Cluster, to, err)
		}
	}
}

// ErrNoSuchRole: IAM says the caller's own account has no role of that
// name; a mapping of it admits nobody.
var ErrNoSuchRole = errors.New("no such IAM role")

// RoleARN asks IAM for the role's ARN with its path. ok is false when IAM
// cannot tell (a role of another account: GetRole only sees the caller's
// own; no iam:GetRole): the caller then keeps the ARN it has. A role
// missing from the caller's own account is ErrNoSuchRole.
func (c *AccessClient) RoleARN(ctx context.Context, account, name string) (arn string, ok bool, err error) {
	callCtx, cancel := c.call(ctx)
	defer cancel()
	out, err := c.iam.GetRole(callCtx, &iam.GetRoleInput{RoleName: aws.String(name)})
	switch {
	case code(err) == "NoSuchEntity":
		if own, _ := c.ownAccount(ctx); own == account {
			return "", false, fmt.Errorf("could not find IAM role %s in account %s: %w", name, account, ErrNoSuchRole)
		}
		return "", false, nil
	case code(err) == "AccessDenied" || code(err) == "AccessDeniedException":
		return "", false, nil
	case err != nil:
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden {
			return "", false, nil
		}
		return "", false, fmt.Errorf("could not look up IAM role %s: %s", name, text.OneLine(err.Error()))
	}
	got := aws.ToString(out.Role.Arn)
	if acct := arnPart(got, 4); acct != account {
		// Same name in our own account: not the role asked about.
		return "", false, nil
	}
	return got, true, nil
}

// ownAccount is the account of the client's credentials, asked once.
func (c *AccessClient) ownAccount(ctx context.Context) (string, error) {
	c.acctOnce.Do(func() {
		p, _, err := c.Caller(ctx)
		c.acct, c.acctErr = p.Account, err
	})
	return c.acct, c.acctErr
}

func arnPart(arn string, i int) string {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 {
		return ""
	}
	return p[i]
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
