package eks

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/fsafe"
	"github.com/kubeiam/kubeiam/internal/text"
)

// SSORole is one role of an account that may list clusters, and the AWS
// profile (written by profile sync) that signs in as it.
type SSORole struct {
	Role, Profile string
}

// SSOAccount is one account of an IAM Identity Center session to scan.
type SSOAccount struct {
	ID, Name string
	// Roles are tried in order in each region: the first one allowed to
	// list clusters there is used.
	Roles []SSORole
	// ExecProfile is the profile the written contexts run kubeiam token
	// with; "" means the profile of the role that listed.
	ExecProfile string
}

// SSOScan says where to look for clusters through an SSO session's
// accounts: credentials come straight from the portal (Credentials, paced
// by the caller's limiter), not from loading each profile.
type SSOScan struct {
	Accounts []SSOAccount
	Regions  []string
	// Credentials gets the credentials of role in account.
	Credentials func(ctx context.Context, account, role string) (aws.Credentials, error)
	Scan        Scan
	// CacheKey, when set, names a result reused for ResultCacheTTL unless
	// Fresh: a second run in a row makes no call.
	CacheKey string
	Fresh    bool
}

// ResultCacheTTL is how long an SSO scan's result is reused.
const ResultCacheTTL = 10 * time.Minute

// DiscoverSSO lists and describes the clusters of every (account, region)
// of s with the first role allowed to in that region. A role denied (no EKS
// permission) falls through to the next; an account all of whose roles are
// denied, a disabled region, or credentials that cannot be had are one
// warning each, never fatal.
func DiscoverSSO(ctx context.Context, s SSOScan) (*Result, error) {
	for _, r := range s.Regions {
		if err := CheckRegion(r); err != nil {
			return nil, err
		}
	}
	if s.CacheKey != "" && !s.Fresh {
		if res, ok := cachedResult(s.CacheKey); ok {
			return res, nil
		}
	}
	inFlight := cmp.Or(s.Scan.MaxInFlight, DefaultMaxInFlight)
	if s.Scan.Client.HTTPClient == nil {
		s.Scan.Client.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = inFlight
		})
	}
	env, err := config.NewEnvConfig()
	if err != nil {
		return nil, err
	}
	d := &discovery{scan: s.Scan, global: make(chan struct{}, inFlight), res: &Result{}}
	stop := d.progress()
	defer stop()
	d.total.Add(int64(len(s.Accounts) * len(s.Regions)))
	var wg sync.WaitGroup
	for _, a := range s.Accounts {
		// One credentials cache per role, shared by its regions: the
		// portal is asked once per (account, role).
		creds := make([]*aws.CredentialsCache, len(a.Roles))
		for i, r := range a.Roles {
			creds[i] = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
				return s.Credentials(ctx, a.ID, r.Role)
			}))
		}
		for _, region := range s.Regions {
			wg.Go(func() { d.ssoPair(ctx, a, region, creds, env) })
		}
	}
	wg.Wait()
	res := d.res
	res.Pairs = int(d.total.Load())
	slices.SortFunc(res.Found, func(a, b Found) int {
		return cmp.Or(cmp.Compare(a.Profile, b.Profile), cmp.Compare(a.Cluster.Region, b.Cluster.Region), cmp.Compare(a.Cluster.Name, b.Cluster.Name))
	})
	slices.SortFunc(res.Scanned, func(a, b Pair) int { return cmp.Or(cmp.Compare(a.Profile, b.Profile), cmp.Compare(a.Region, b.Region)) })
	slices.Sort(res.Warnings)
	if len(res.Scanned) == 0 && len(s.Accounts) > 0 {
		return res, errors.New("could not scan any (account, region): see the warnings above")
	}
	if s.CacheKey != "" {
		storeResult(s.CacheKey, res)
	}
	return res, nil
}

// ssoPair scans one (account, region) with the first role allowed to list.
func (d *discovery) ssoPair(ctx context.Context, a SSOAccount, region string, creds []*aws.CredentialsCache, env config.EnvConfig) {
	defer d.done.Add(1)
	var denied []string
	for i, r := range a.Roles {
		cfg := aws.Config{Region: region, Credentials: creds[i], ConfigSources: []any{env}}
		if env.BaseEndpoint != "" && !aws.ToBool(env.IgnoreConfiguredEndpoints) {
			cfg.BaseEndpoint = aws.String(env.BaseEndpoint)
		}
		c := NewClient(cfg, cmp.Or(a.ExecProfile, r.Profile), region, d.scan.Client)
		// Credentials first, outside the EKS bound: a call waiting for
		// the portal's limiter must not hold a slot others could use.
		_, err := creds[i].Retrieve(ctx)
		var names []string
		if err == nil {
			err = d.call(ctx, func() (err error) { names, err = c.List(ctx); return })
		}
		var ae *APIError
		if errors.As(err, &ae) && (ae.Code == "AccessDeniedException" || ae.Code == "AccessDenied") {
			denied = append(denied, r.Role)
			continue
		}
		if err != nil {
			d.warn(fmt.Sprintf("skipping account %s (%s) in %s: %s", a.ID, a.Name, region, text.OneLine(err.Error())))
			return
		}
		d.mu.Lock()
		d.res.Scanned = append(d.res.Scanned, Pair{c.Profile, region})
		d.mu.Unlock()
		d.describeAll(ctx, c, names)
		return
	}
	if len(a.Roles) == 0 {
		d.warn(fmt.Sprintf("skipping account %s (%s) in %s: no role to list clusters with", a.ID, a.Name, region))
		return
	}
	d.warn(fmt.Sprintf("skipping account %s (%s) in %s: no role may list clusters (denied: %s)", a.ID, a.Name, region, strings.Join(denied, ", ")))
}

type resultCache struct {
	Stored time.Time `json:"stored"`
	Result *Result   `json:"result"`
}

func resultFile(key string) (string, error) {
	dir, err := cache.PrivateDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, "eks-sso-"+hex.EncodeToString(sum[:16])+".json"), nil
}

func cachedResult(key string) (*Result, bool) {
	path, err := resultFile(key)
	if err != nil {
		return nil, false
	}
	b, err := fsafe.ReadFile(path, fsafe.SmallFile, fsafe.Owned|fsafe.Private)
	if err != nil {
		return nil, false
	}
	var rc resultCache
	if json.Unmarshal(b, &rc) != nil || rc.Result == nil {
		return nil, false
	}
	if age := time.Since(rc.Stored); age < 0 || age > ResultCacheTTL {
		return nil, false
	}
	return rc.Result, true
}

// storeResult keeps a result for the next run; a cache that cannot be
// written only costs that run its speed.
func storeResult(key string, res *Result) {
	path, err := resultFile(key)
	if err != nil {
		return
	}
	if b, err := json.Marshal(resultCache{Stored: time.Now().UTC(), Result: res}); err == nil {
		_ = fsafe.WriteFile(path, b, 0o600)
	}
}
