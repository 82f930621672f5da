package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

// The organisation of the SSO sync benchmark: 100 accounts with 2 roles
// each, 4 regions, 3 clusters in a third of the accounts, 50 ms per call on
// both stand-ins and the portal's 20 requests a second.
const (
	syncAccounts   = 100
	syncLatency    = 50 * time.Millisecond
	syncEKSInFlite = 32 // discover's default --max-in-flight
)

var syncRegions = []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1"}

// SSOSyncResult is the run of profile sync + kubeconfig discover
// --sso-session over the organisation, cold and again with warm caches.
type SSOSyncResult struct {
	Accounts, Roles, Regions, Clusters int
	PortalCalls, EKSCalls, Throttled   int
	// BoundSec is the throttle bound: portal calls ÷ 20 a second,
	// overlapped with EKS calls × 50 ms ÷ the calls in flight.
	BoundSec                float64 `json:"bound_s"`
	SyncSec                 float64 `json:"sync_s"`
	DiscoverSec             float64 `json:"discover_s"`
	WarmSec                 float64 `json:"warm_s"`
	Profiles, ClustersFound int
	LostPairs               int `json:"lost_pairs"`
	Ratio                   float64
}

func ssoSync(ctx context.Context, cfg *config, e *env, r *rig) (*SSOSyncResult, error) {
	idc := ststest.NewSSO(r.sts)
	eks := ststest.NewEKS(r.sts)
	var accounts []ststest.SSOAccount
	clusters := 0
	for i := range syncAccounts {
		id := strconv.Itoa(100000000000 + i)
		accounts = append(accounts, ststest.SSOAccount{ID: id, Name: fmt.Sprintf("team %02d (prod)", i), Roles: []string{"KubeAdmin", "ReadOnly"}})
		if i%3 == 0 {
			for c := range 3 {
				eks.AddCluster(ststest.EKSCluster{Account: id, Region: syncRegions[i%len(syncRegions)], Name: fmt.Sprintf("c%d", c)})
				clusters++
			}
		}
	}
	idc.SetAccounts(accounts)
	ssoSrv, eksSrv := httptest.NewServer(idc), httptest.NewServer(eks)
	defer ssoSrv.Close()
	defer eksSrv.Close()
	dir, err := e.freshDir("ssosync")
	if err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(dir, "aws-config")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	env := e.with("HOME="+filepath.Join(dir, "home"), "AWS_CONFIG_FILE="+cfgFile, "KUBECONFIG="+kubeconfig,
		"AWS_ENDPOINT_URL_SSO_OIDC="+ssoSrv.URL, "AWS_ENDPOINT_URL_SSO="+ssoSrv.URL, "AWS_ENDPOINT_URL_STS="+r.http.URL,
		"AWS_ENDPOINT_URL_EKS="+eksSrv.URL, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "BROWSER=curl -sfL -o /dev/null")
	core := filepath.Join(cfg.Bin, "kubeiam-core")
	runCmd := func(args ...string) (time.Duration, string, error) {
		cmd := command(env, core, args...)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			return d, errOut.String(), fmt.Errorf("kubeiam %v: %v: %s", args[:2], err, firstLine(errOut.String()))
		}
		return d, errOut.String(), nil
	}
	if _, _, err := runCmd("login", "--start-url", "https://bench.awsapps.com/start", "--sso-region", "us-east-1", "--sso-session", "bench"); err != nil {
		return nil, err
	}
	// Only what sync and discover do is timed and counted.
	idc.SetPortalLatency(syncLatency)
	eks.SetLatency(syncLatency)
	before := idc.Count("ListAccounts") + idc.Count("ListAccountRoles") + idc.Count("GetRoleCredentials")
	sync := []string{"profile", "sync", "--sso-session", "bench", "--region", syncRegions[0]}
	discover := []string{"kubeconfig", "discover", "--sso-session", "bench"}
	for _, rg := range syncRegions {
		discover = append(discover, "--region", rg)
	}
	res := &SSOSyncResult{Accounts: syncAccounts, Roles: 2, Regions: len(syncRegions), Clusters: clusters}
	d1, syncErr, err := runCmd(sync...)
	if err != nil {
		return nil, err
	}
	d2, discErr, err := runCmd(discover...)
	if err != nil {
		return nil, err
	}
	res.SyncSec, res.DiscoverSec = d1.Seconds(), d2.Seconds()
	res.PortalCalls = idc.Count("ListAccounts") + idc.Count("ListAccountRoles") + idc.Count("GetRoleCredentials") - before
	res.Throttled = idc.Count("Throttled")
	res.EKSCalls = eks.Count("ListClusters") + eks.Count("DescribeCluster")
	portal := float64(res.PortalCalls) / ststest.PortalRate
	eksBound := float64(res.EKSCalls) * syncLatency.Seconds() / syncEKSInFlite
	res.BoundSec = max(portal, eksBound)
	res.Ratio = (res.SyncSec + res.DiscoverSec) / res.BoundSec
	if m := regexp.MustCompile(`wrote (\d+) profiles`).FindStringSubmatch(syncErr); m != nil {
		res.Profiles, _ = strconv.Atoi(m[1])
	}
	if m := regexp.MustCompile(`(\d+) clusters in (\d+) of (\d+)`).FindStringSubmatch(discErr); m != nil {
		res.ClustersFound, _ = strconv.Atoi(m[1])
		scanned, _ := strconv.Atoi(m[2])
		pairs, _ := strconv.Atoi(m[3])
		res.LostPairs = pairs - scanned
	}
	res.LostPairs += syncAccounts*2 - res.Profiles
	w1, _, err := runCmd(sync...)
	if err != nil {
		return nil, err
	}
	w2, _, err := runCmd(discover...)
	if err != nil {
		return nil, err
	}
	res.WarmSec = (w1 + w2).Seconds()
	if b, err := os.ReadFile(kubeconfig); err == nil && cfg.Keep {
		cfg.Log("ssosync kubeconfig: %d bytes", len(b))
	}
	return res, nil
}

func ssoSyncTargets(res *Results) []Target {
	s := res.SSOSync
	if s == nil {
		return []Target{{Name: "SSO profile sync + discover ≤ 1.15× throttle bound", Limit: "≤ 1.15×", Measured: "not measured", Status: na, Margin: "not run"}}
	}
	cold := s.SyncSec + s.DiscoverSec
	return []Target{
		{Name: fmt.Sprintf("SSO profile sync + discover (%d accounts × %d roles × %d regions) ≤ 1.15× throttle bound", s.Accounts, s.Roles, s.Regions),
			Limit:    "≤ 1.15×",
			Measured: fmt.Sprintf("%.2f× (%.2f s + %.2f s vs bound %.2f s: %d portal calls at 20/s, %d EKS calls; %d throttled)", s.Ratio, s.SyncSec, s.DiscoverSec, s.BoundSec, s.PortalCalls, s.EKSCalls, s.Throttled),
			Status:   status(s.Ratio <= 1.15), Margin: margin(s.Ratio, 1.15)},
		{Name: "SSO sync: zero pairs lost to throttling", Limit: "0",
			Measured: fmt.Sprintf("%d lost (%d profiles, %d of %d clusters)", s.LostPairs, s.Profiles, s.ClustersFound, s.Clusters),
			Status:   status(s.LostPairs == 0 && s.ClustersFound == s.Clusters)},
		{Name: "SSO sync + discover again, warm caches ≤ 2 s", Limit: "≤ 2 s",
			Measured: fmt.Sprintf("%.2f s (cold %.2f s)", s.WarmSec, cold), Status: status(s.WarmSec <= 2), Margin: margin(s.WarmSec, 2)},
	}
}
