package sso

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

// signedIn returns a client of session corp signed in on the stand-in.
func signedInCorp(t *testing.T) (*Client, *ststest.Rig) {
	t.Helper()
	rig := setup(t)
	s, err := ResolveSession("corp")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, s)
	b := &browser{t: t}
	if _, err := c.Login(context.Background(), LoginOptions{OpenBrowser: b.open}); err != nil {
		t.Fatal(err)
	}
	return c, rig
}

// The listing follows next_token through pages of at most 100 (the
// stand-in rejects more, as the portal does), stays under the portal's
// shared throttle with many workers, loses no account, and is reused from
// the cache until --prune asks afresh.
func TestPortalListPagesAndThrottle(t *testing.T) {
	c, rig := signedInCorp(t)
	var accounts []ststest.SSOAccount
	for i := range 130 {
		roles := []string{"KubeAdmin"}
		if i == 7 {
			for r := range 150 {
				roles = append(roles, fmt.Sprintf("Role%03d", r))
			}
		}
		accounts = append(accounts, ststest.SSOAccount{ID: strconv.Itoa(200000000000 + i), Name: fmt.Sprintf("acct %d", i), Roles: roles})
	}
	rig.SSO.SetAccounts(accounts)
	// A limiter starting at twice the portal's throttle (20/s): 429s must
	// come, be backed off from, and cost no account.
	ctx := context.Background()
	p, err := c.Portal(ctx, ListOptions{Limiter: NewLimiter(2 * PortalRate)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	l, err := p.List(ctx, ListOptions{Concurrency: 16})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Accounts) != 130 || len(l.Skipped) != 0 {
		t.Fatalf("listed %d accounts, skipped %v; want 130 and none", len(l.Accounts), l.Skipped)
	}
	for _, a := range l.Accounts {
		if a.ID == "200000000007" && len(a.Roles) != 151 {
			t.Fatalf("account with 151 roles listed %d: pages of ListAccountRoles not followed", len(a.Roles))
		}
	}
	if n := rig.SSO.Count("ListAccounts"); n != 2 {
		t.Errorf("ListAccounts calls %d for 130 accounts, want 2 pages", n)
	}
	if l.Throttled == 0 || rig.SSO.Count("Throttled") != l.Throttled {
		t.Errorf("throttled %d (stand-in says %d): the test's throttle did not bite, or a 429 went unseen", l.Throttled, rig.SSO.Count("Throttled"))
	}
	t.Logf("%d calls, %d throttled, %s against a 20/s throttle", l.Calls, l.Throttled, time.Since(start).Round(time.Millisecond))

	again, err := p.List(ctx, ListOptions{})
	if err != nil || !again.Cached || len(again.Accounts) != 130 {
		t.Fatalf("second listing: cached %v, %d accounts, %v", again != nil && again.Cached, len(again.Accounts), err)
	}
	rig.SSO.SetPortalRate(0)
	rig.SSO.FailRoles("200000000003")
	fresh, err := p.List(ctx, ListOptions{Fresh: true})
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Cached || len(fresh.Accounts) != 129 || len(fresh.Skipped) != 1 || fresh.Skipped[0].AccountID != "200000000003" {
		t.Fatalf("fresh listing with one failing account: cached %v, %d accounts, skipped %v", fresh.Cached, len(fresh.Accounts), fresh.Skipped)
	}
}
