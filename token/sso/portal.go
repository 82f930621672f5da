package sso

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	"github.com/aws/smithy-go"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// Portal defaults.
const (
	// PortalPageSize is the most ListAccounts and ListAccountRoles return
	// per page; the service rejects a larger maxResults.
	PortalPageSize = 100
	// PortalConcurrency bounds the portal calls in flight: at 20 a second
	// and well under a second each, a few are enough to keep the limiter's
	// schedule full.
	PortalConcurrency = 8
	// ListCacheTTL is how long a listing of accounts and roles is reused.
	ListCacheTTL = 10 * time.Minute
	// portalCallTimeout bounds each portal call.
	portalCallTimeout = 15 * time.Second
	// portalAttempts bounds the tries of one call that keeps being
	// throttled or failing on the network before its account is skipped.
	portalAttempts = 8
)

// Account is one AWS account the signed-in user can reach, with the roles
// (permission sets) they may use in it.
type Account struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Email string   `json:"email,omitempty"`
	Roles []string `json:"roles"`
}

// Skipped is an account whose roles could not be listed.
type Skipped struct {
	AccountID, AccountName, Reason string
}

func (s Skipped) String() string {
	return fmt.Sprintf("account %s (%s): %s", s.AccountID, s.AccountName, s.Reason)
}

// Listing is every account and role of a session.
type Listing struct {
	Accounts []Account
	// Skipped accounts are missing from Accounts: their roles would not
	// list. Callers must not treat their profiles as gone.
	Skipped []Skipped
	// Cached says the listing came from the short-lived cache.
	Cached bool
	// Calls is how many portal calls were made, Throttled how many were
	// answered 429.
	Calls, Throttled int
}

// ListOptions tune List.
type ListOptions struct {
	// Limiter paces the calls; nil makes one at PortalRate.
	Limiter *Limiter
	// Concurrency bounds the calls in flight; 0 is PortalConcurrency.
	Concurrency int
	// Fresh skips the cache (the listing is still stored in it).
	Fresh bool
	// Progress, when set, is told how many accounts are listed of how many.
	Progress func(done, total int)
}

// Portal lists accounts and roles and gets role credentials with one
// session's access token, every call paced by one Limiter.
type Portal struct {
	c   *Client
	tok *Token
	lim *Limiter
	sem chan struct{}

	calls atomic.Int64
}

// Portal returns the portal of c's session with a valid access token,
// renewed first when it can be; a session that needs a person to sign in is
// a *LoginNeededError.
func (c *Client) Portal(ctx context.Context, o ListOptions) (*Portal, error) {
	t, err := c.ValidToken(ctx)
	if err != nil {
		return nil, err
	}
	lim := o.Limiter
	if lim == nil {
		lim = NewLimiter(PortalRate)
	}
	return &Portal{c: c, tok: t, lim: lim, sem: make(chan struct{}, cmp.Or(o.Concurrency, PortalConcurrency))}, nil
}

// ValidToken returns the session's access token, renewed (under the
// session's sign-in lock) when it is close to expiry and a refresh token
// allows; otherwise a *LoginNeededError.
func (c *Client) ValidToken(ctx context.Context) (*Token, error) {
	t, err := c.s.ReadToken()
	if errors.Is(err, os.ErrNotExist) {
		return nil, c.loginNeeded("it is not signed in")
	}
	if err != nil {
		return nil, err
	}
	switch t.State(c.now()) {
	case Valid:
		return t, nil
	case Renewable:
		unlock, err := c.s.Lock(ctx, time.Minute)
		if err != nil {
			return nil, err
		}
		defer unlock()
		if t2, err := c.s.ReadToken(); err == nil && t2.State(c.now()) == Valid {
			return t2, nil
		}
		return c.Renew(ctx, t)
	}
	return nil, c.loginNeeded("it has expired")
}

// Calls is how many portal calls were made so far.
func (p *Portal) Calls() int { return int(p.calls.Load()) }

// Limiter is the portal's limiter.
func (p *Portal) Limiter() *Limiter { return p.lim }

// call runs one portal call in a concurrency slot and a limiter slot,
// retrying a throttled call (429) or a network failure after the limiter's
// back-off; other errors end it.
func (p *Portal) call(ctx context.Context, fn func(ctx context.Context, opt func(*sso.Options)) error) error {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.sem }()
	// The limiter retries; the SDK's own retryer would retry throttled
	// calls on a schedule of its own, blind to the other workers.
	noRetry := func(o *sso.Options) { o.Retryer = aws.NopRetryer{} }
	var err error
	for range portalAttempts {
		if err = p.lim.Wait(ctx); err != nil {
			return err
		}
		p.calls.Add(1)
		cctx, cancel := context.WithTimeout(ctx, portalCallTimeout)
		err = fn(cctx, noRetry)
		cancel()
		var tm *ssotypes.TooManyRequestsException
		switch {
		case err == nil:
			p.lim.OK()
			return nil
		case errors.As(err, &tm):
			p.lim.Throttled()
		case ctx.Err() != nil:
			return ctx.Err()
		case isUnauthorized(err):
			return p.c.loginNeeded("the portal refused its access token (it expired or was signed out)")
		case isNetwork(err):
			p.lim.Throttled() // a hiccup: back off the same way
		default:
			return err
		}
	}
	return err
}

func isUnauthorized(err error) bool {
	var ue *ssotypes.UnauthorizedException
	return errors.As(err, &ue)
}

func isNetwork(err error) bool {
	var ae smithy.APIError
	return !errors.As(err, &ae)
}

// Accounts lists every account of the session, page by page.
func (p *Portal) Accounts(ctx context.Context) ([]Account, error) {
	var out []Account
	var next *string
	for {
		var page *sso.ListAccountsOutput
		err := p.call(ctx, func(ctx context.Context, opt func(*sso.Options)) (err error) {
			page, err = p.c.portal.ListAccounts(ctx, &sso.ListAccountsInput{
				AccessToken: aws.String(p.tok.AccessToken), MaxResults: aws.Int32(PortalPageSize), NextToken: next,
			}, opt)
			return err
		})
		if err != nil {
			return nil, p.portalError("list the accounts", err)
		}
		for _, a := range page.AccountList {
			out = append(out, Account{ID: aws.ToString(a.AccountId), Name: aws.ToString(a.AccountName), Email: aws.ToString(a.EmailAddress)})
		}
		if next = page.NextToken; aws.ToString(next) == "" {
			return out, nil
		}
	}
}

// Roles lists the roles of one account, page by page.
func (p *Portal) Roles(ctx context.Context, accountID string) ([]string, error) {
	var out []string
	var next *string
	for {
		var page *sso.ListAccountRolesOutput
		err := p.call(ctx, func(ctx context.Context, opt func(*sso.Options)) (err error) {
			page, err = p.c.portal.ListAccountRoles(ctx, &sso.ListAccountRolesInput{
				AccessToken: aws.String(p.tok.AccessToken), AccountId: aws.String(accountID),
				MaxResults: aws.Int32(PortalPageSize), NextToken: next,
			}, opt)
			return err
		})
		if err != nil {
			return nil, p.portalError("list the roles of account "+accountID, err)
		}
		for _, r := range page.RoleList {
			out = append(out, aws.ToString(r.RoleName))
		}
		if next = page.NextToken; aws.ToString(next) == "" {
			return out, nil
		}
	}
}

// RoleCredentials gets the credentials of role in account.
func (p *Portal) RoleCredentials(ctx context.Context, account, role string) (aws.Credentials, error) {
	var out *sso.GetRoleCredentialsOutput
	err := p.call(ctx, func(ctx context.Context, opt func(*sso.Options)) (err error) {
		out, err = p.c.portal.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
			AccessToken: aws.String(p.tok.AccessToken), AccountId: aws.String(account), RoleName: aws.String(role),
		}, opt)
		return err
	})
	if err != nil {
		return aws.Credentials{}, p.portalError(fmt.Sprintf("get the credentials of role %s in account %s", role, account), err)
	}
	rc := out.RoleCredentials
	return aws.Credentials{
		AccessKeyID: aws.ToString(rc.AccessKeyId), SecretAccessKey: aws.ToString(rc.SecretAccessKey), SessionToken: aws.ToString(rc.SessionToken),
		CanExpire: true, Expires: time.UnixMilli(rc.Expiration), Source: "SSO",
	}, nil
}

func (p *Portal) portalError(what string, err error) error {
	var ln *LoginNeededError
	if errors.As(err, &ln) {
		return err
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("could not %s of %s: %s (%s)", what, p.c.s, ae.ErrorMessage(), ae.ErrorCode())
	}
	return fmt.Errorf("could not %s of %s: %w", what, p.c.s, err)
}

// List lists every account of the session and the roles of each, roles
// concurrently within the bounds, paced by the limiter. An account whose
// roles fail to list is Skipped, never the end of the run; a session that
// needs a new sign-in is an error at once (nothing to be gained from going
// on). Unless o.Fresh, a listing cached less than ListCacheTTL ago is
// returned without a call; every complete listing is cached.
func (p *Portal) List(ctx context.Context, o ListOptions) (*Listing, error) {
	if !o.Fresh {
		if l, ok := p.c.s.cachedListing(p.c.now()); ok {
			return l, nil
		}
	}
	accounts, err := p.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	res := &Listing{}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		fatal   error
		done    atomic.Int64
		workers = make(chan struct{}, cmp.Or(o.Concurrency, PortalConcurrency))
	)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range accounts {
		workers <- struct{}{}
		wg.Go(func() {
			defer func() { <-workers }()
			roles, err := p.Roles(cctx, accounts[i].ID)
			mu.Lock()
			defer mu.Unlock()
			var ln *LoginNeededError
			switch {
			case errors.As(err, &ln):
				if fatal == nil {
					fatal = err
				}
				cancel()
			case err != nil:
				res.Skipped = append(res.Skipped, Skipped{accounts[i].ID, accounts[i].Name, oneLine(err)})
			default:
				slices.Sort(roles)
				accounts[i].Roles = roles
			}
			if o.Progress != nil {
				o.Progress(int(done.Add(1)), len(accounts))
			}
		})
	}
	wg.Wait()
	if fatal != nil {
		return nil, fatal
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	skipped := map[string]bool{}
	for _, s := range res.Skipped {
		skipped[s.AccountID] = true
	}
	for _, a := range accounts {
		if !skipped[a.ID] {
			res.Accounts = append(res.Accounts, a)
		}
	}
	slices.SortFunc(res.Accounts, func(a, b Account) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(res.Skipped, func(a, b Skipped) int { return cmp.Compare(a.AccountID, b.AccountID) })
	res.Calls, res.Throttled = p.Calls(), p.lim.ThrottledCount()
	if len(res.Skipped) == 0 {
		// Only a complete listing is reused: a partial one would hide
		// accounts for the cache's lifetime.
		_ = p.c.s.storeListing(res, p.c.now())
	}
	return res, nil
}

func oneLine(err error) string {
	var b []byte
	for _, f := range []byte(err.Error()) {
		if f == '\n' || f == '\r' {
			f = ' '
		}
		b = append(b, f)
	}
	return string(b)
}

// listingCache is the cached listing file's content.
type listingCache struct {
	StartURL string    `json:"startUrl"`
	Stored   time.Time `json:"stored"`
	Accounts []Account `json:"accounts"`
}

// listingFile is where the session's listing is cached: kubeiam's private
// cache directory, named by the session's token file key and start URL.
func (s *Session) listingFile() (string, error) {
	dir, err := cache.PrivateDir()
	if err != nil {
		return "", err
	}
	sum := sha1.Sum([]byte(s.cacheKey() + "\x00" + s.StartURL))
	return filepath.Join(dir, "sso-accounts-"+hex.EncodeToString(sum[:])+".json"), nil
}

func (s *Session) cachedListing(now time.Time) (*Listing, bool) {
	path, err := s.listingFile()
	if err != nil {
		return nil, false
	}
	b, err := fsafe.ReadFile(path, fsafe.SmallFile, fsafe.Owned|fsafe.Private)
	if err != nil {
		return nil, false
	}
	var lc listingCache
	if json.Unmarshal(b, &lc) != nil || lc.StartURL != s.StartURL {
		return nil, false
	}
	if age := now.Sub(lc.Stored); age < 0 || age > ListCacheTTL {
		return nil, false
	}
	return &Listing{Accounts: lc.Accounts, Cached: true}, true
}

func (s *Session) storeListing(l *Listing, now time.Time) error {
	path, err := s.listingFile()
	if err != nil {
		return err
	}
	b, err := json.Marshal(listingCache{StartURL: s.StartURL, Stored: now.UTC(), Accounts: l.Accounts})
	if err != nil {
		return err
	}
	return fsafe.WriteFile(path, b, 0o600)
}

// ForgetListing removes the session's cached listing.
func (s *Session) ForgetListing() error {
	path, err := s.listingFile()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
