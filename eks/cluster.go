// Package eks finds Amazon EKS clusters (DescribeCluster, ListClusters) and
// turns them into kubeconfig entries whose exec block runs `kubeiam token`.
//
// It links the SDK's EKS client, so only kubeiam-core uses it; the front
// binary that answers cached tokens never does.
//
// Every AWS call takes the caller's context and ends within the budget of
// ClientOptions or AccessOptions. Changes to access entries are planned
// first (Plan, DiffEntries) and checked by the lockout guard (CheckLockout)
// before one is made. Nothing here prints on its own: results and typed
// errors come back, errors that know their fix carry it in a Hint method,
// and progress goes where the caller says (Scan.Progress, a func(string)).
//
// The exported API is part of kubeiam's library promise: api/kubeiam.txt
// records it and a test fails when it changes (README, "Using kubeiam as a
// library").
package eks

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/smithy-go"

	"github.com/kubeiam/kubeiam/internal/deadline"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/chain"
)

// DefaultCallTimeout bounds each EKS API call (retries included).
const DefaultCallTimeout = 10 * time.Second

// Cluster is what kubeiam needs of DescribeCluster.
type Cluster struct {
	Name    string `json:"name"`
	ARN     string `json:"arn"`
	Region  string `json:"region"`
	Account string `json:"account"`
	// Status is ACTIVE, CREATING, UPDATING, DELETING, FAILED or PENDING.
	Status   string `json:"status"`
	Version  string `json:"version"`
	Endpoint string `json:"endpoint,omitempty"`
	// CAData is certificateAuthority.data, decoded (PEM).
	CAData []byte `json:"-"`
	// ID is the cluster's id, which EKS reports for Outposts local clusters.
	ID string `json:"id,omitempty"`
	// Outpost says outpostConfig is set: a local cluster on Outposts.
	Outpost bool `json:"outpost,omitempty"`
	// AuthenticationMode is accessConfig.authenticationMode: CONFIG_MAP,
	// API_AND_CONFIG_MAP or API.
	AuthenticationMode string `json:"authenticationMode,omitempty"`
}

// ClusterID is the ID a token for the cluster must name (x-k8s-aws-id). The
// AWS CLI's rule (update_kubeconfig.py, get_user_entry): when the
// description has an outpostConfig the cluster is an Outposts local cluster
// and is identified by its id (`get-token --cluster-id`), else by its name.
// The current AWS CLI looks at nothing else in outpostConfig (no
// controlPlaneInstanceType or etcd condition), and neither does kubeiam.
func (c Cluster) ClusterID() string {
	if c.Outpost {
		return c.ID
	}
	return c.Name
}

// Usable says whether kubeconfig entries may be written for the cluster:
// the AWS CLI requires ACTIVE or UPDATING (before, there is no endpoint; a
// deleting or failed cluster is going away).
func (c Cluster) Usable() bool { return c.Status == "ACTIVE" || c.Status == "UPDATING" }

// Client calls EKS in one region as one profile.
type Client struct {
	Profile string
	Region  string
	api     *eks.Client
	timeout time.Duration
}

// ClientOptions tune NewClient.
type ClientOptions struct {
	// Timeout bounds each call, retries included; 0 means KUBEIAM_TIMEOUT,
	// else DefaultCallTimeout.
	Timeout time.Duration
	// HTTPClient replaces the SDK's (tests).
	HTTPClient aws.HTTPClient
	// MaxAttempts is the SDK retryer's attempts per call; 0 keeps the SDK's.
	MaxAttempts int
}

// LoadProfile loads the AWS configuration of profile ("" is the default
// chain); region "" keeps the profile's region, or token.DefaultRegion.
func LoadProfile(ctx context.Context, profile, region string) (aws.Config, error) {
	if region != "" {
		if err := CheckRegion(region); err != nil {
			return aws.Config{}, err
		}
	}
	cfg, err := chain.LoadConfig(ctx, profile, region)
	if err != nil {
		return aws.Config{}, err
	}
	if cfg.Region == "" {
		cfg.Region = token.DefaultRegion
	}
	return cfg, nil
}

// CheckRegion refuses a region that is not well-formed (with the closest
// known one) or that has control characters. A well-formed region missing
// from the partition table passes: new regions appear.
func CheckRegion(region string) error {
	if _, err := token.CheckRegion(region); err != nil {
		return hint.With(err, "AWS regions are lowercase, like us-east-1 or eu-west-2")
	}
	return nil
}

// NewClient returns a client for cfg's credentials in region.
func NewClient(cfg aws.Config, profile, region string, opts ClientOptions) *Client {
	api := eks.NewFromConfig(cfg, func(o *eks.Options) {
		o.Region = region
		if opts.HTTPClient != nil {
			o.HTTPClient = opts.HTTPClient
		}
		if opts.MaxAttempts > 0 {
			o.RetryMaxAttempts = opts.MaxAttempts
		}
	})
	t := opts.Timeout
	if t <= 0 {
		t = deadline.Total(DefaultCallTimeout)
	}
	return &Client{Profile: profile, Region: region, api: api, timeout: t}
}

// Describe returns the cluster called name. Errors are one line naming the
// cluster, region and profile (ResourceNotFound: "no cluster X in REGION").
func (c *Client) Describe(ctx context.Context, name string) (Cluster, error) {
	ctx, cancel := deadline.Start(ctx, deadline.Budget{Total: c.timeout, Attempt: deadline.Attempt(ctx, deadline.Command.Attempt)})
	defer cancel()
	out, err := c.api.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
	if err != nil {
		return Cluster{}, c.describeError(ctx, err, "describe cluster "+name)
	}
	if out.Cluster == nil {
		return Cluster{}, fmt.Errorf("could not describe cluster %s in %s: empty answer", name, c.Region)
	}
	return c.fromAPI(out.Cluster)
}

// List returns the names of every cluster in the region, following nextToken.
func (c *Client) List(ctx context.Context) ([]string, error) {
	var names []string
	p := eks.NewListClustersPaginator(c.api, &eks.ListClustersInput{})
	for p.HasMorePages() {
		callCtx, cancel := deadline.Start(ctx, deadline.Budget{Total: c.timeout, Attempt: deadline.Attempt(ctx, deadline.Command.Attempt)})
		page, err := p.NextPage(callCtx)
		cancel()
		if err != nil {
			return nil, c.describeError(callCtx, err, "list clusters")
		}
		names = append(names, page.Clusters...)
	}
	return names, nil
}

// fromAPI checks what kubeiam will write into a kubeconfig: an answer with
// control characters in a value, or a CA that is not base64, is refused
// rather than written.
func (c *Client) fromAPI(a *types.Cluster) (Cluster, error) {
	cl := Cluster{
		Name:     aws.ToString(a.Name),
		ARN:      aws.ToString(a.Arn),
		Region:   c.Region,
		Status:   string(a.Status),
		Version:  aws.ToString(a.Version),
		Endpoint: aws.ToString(a.Endpoint),
		ID:       aws.ToString(a.Id),
		Outpost:  a.OutpostConfig != nil,
	}
	if a.AccessConfig != nil {
		cl.AuthenticationMode = string(a.AccessConfig.AuthenticationMode)
	}
	for _, f := range []struct{ what, v string }{{"name", cl.Name}, {"arn", cl.ARN}, {"endpoint", cl.Endpoint}, {"id", cl.ID}, {"version", cl.Version}} {
		if err := input.Text(fmt.Sprintf("%s of EKS cluster %q", f.what, cl.Name), f.v); err != nil {
			return Cluster{}, err
		}
	}
	if parts := strings.SplitN(cl.ARN, ":", 6); len(parts) == 6 && parts[2] == "eks" {
		cl.Account = parts[4]
		if parts[3] != "" {
			cl.Region = parts[3]
		}
	} else {
		return Cluster{}, fmt.Errorf("could not use EKS cluster %q in %s: arn %q is not an EKS cluster ARN", cl.Name, c.Region, cl.ARN)
	}
	if a.CertificateAuthority != nil && aws.ToString(a.CertificateAuthority.Data) != "" {
		ca, err := base64.StdEncoding.DecodeString(aws.ToString(a.CertificateAuthority.Data))
		if err != nil {
			return Cluster{}, fmt.Errorf("could not use certificateAuthority.data of EKS cluster %q in %s: not base64", cl.Name, cl.Region)
		}
		cl.CAData = ca
	}
	if cl.Outpost && cl.ID == "" {
		return Cluster{}, fmt.Errorf("could not use EKS cluster %q in %s: it has an outpostConfig but no id", cl.Name, cl.Region)
	}
	return cl, nil
}

// Error kinds a caller branches on (discovery: warn and go on).
var (
	// ErrNotFound: ResourceNotFoundException.
	ErrNotFound = errors.New("not found")
	// ErrRegionUnavailable: the region is not enabled for the account (or
	// the credentials are not valid there), access is denied, or the
	// endpoint cannot be reached.
	ErrRegionUnavailable = errors.New("region unavailable")
)

// APIError is a failed EKS call, explained.
type APIError struct {
	Op, Region, Profile string
	Kind                error
	Code, Message       string
	Err                 error
}

func (e *APIError) Error() string {
	who := ""
	if e.Profile != "" {
		who = fmt.Sprintf(" (profile %s)", e.Profile)
	}
	switch e.Code {
	case "ResourceNotFoundException":
		return fmt.Sprintf("could not %s: no such cluster in %s%s", e.Op, e.Region, who)
	case "UnrecognizedClientException", "InvalidClientTokenId":
		return fmt.Sprintf("could not %s in %s%s: the region is not enabled for the account, or the credentials are not valid there (%s)", e.Op, e.Region, who, e.Code)
	case "AccessDeniedException", "AccessDenied":
		return fmt.Sprintf("could not %s in %s%s: access denied (%s)", e.Op, e.Region, who, text.OneLine(e.Message))
	case "":
		return fmt.Sprintf("could not %s in %s%s: %s", e.Op, e.Region, who, text.OneLine(e.Err.Error()))
	}
	return fmt.Sprintf("could not %s in %s%s: %s: %s", e.Op, e.Region, who, e.Code, text.OneLine(e.Message))
}

func (e *APIError) Unwrap() []error { return []error{e.Kind, e.Err} }

// Hint is the fix of the cause, when it has one (a network failure's).
func (e *APIError) Hint() string { return hint.Of(e.Err) }

func (c *Client) describeError(ctx context.Context, err error, op string) error {
	e := &APIError{Op: op, Region: c.Region, Profile: c.Profile, Err: err, Kind: ErrRegionUnavailable}
	// The network, a failing service, throttling: one line naming the
	// endpoint (and the proxy), whatever the SDK wrapped around it.
	if ne := chain.NetworkError(ctx, err); ne != nil {
		e.Err = ne
		return e
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		e.Code, e.Message = apiErr.ErrorCode(), apiErr.ErrorMessage()
		if e.Code == "ResourceNotFoundException" {
			e.Kind = ErrNotFound
		}
		var re interface{ HTTPStatusCode() int }
		if e.Code == "" && errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
			e.Kind = ErrNotFound
		}
		return e
	}
	// Credentials that cannot be had (SSO expired, no keys): the chain's
	// message is the useful part, and the way out is a profile.
	e.Err = err
	if msg := err.Error(); strings.Contains(msg, "failed to refresh cached credentials") || strings.Contains(msg, "no EC2 IMDS role found") ||
		strings.Contains(msg, "no credential source") || strings.Contains(msg, "static credentials are empty") {
		return hint.With(e, "no AWS credentials were found: pass --profile P (or set AWS_PROFILE), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for SSO profiles run 'kubeiam login'")
	}
	return e
}
