package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeiam/kubeiam/eks"
	"github.com/kubeiam/kubeiam/internal/ststest"
	"github.com/kubeiam/kubeiam/mappings"
)

// MigrateBench is `mappings migrate` of N aws-auth entries against the EKS
// stand-in answering every call after Latency: the apply phase's wall time
// against the bound its calls set at the client's concurrency, and the
// same migration under a throttle that answers 429 to part of the load.
type MigrateBench struct {
	Entries     int     `json:"entries"`
	LatencyMS   float64 `json:"latency_ms"`
	Concurrency int     `json:"concurrency"`
	// Calls are the EKS requests of the apply phase; BoundMS is calls ×
	// latency ÷ concurrency, the least the phase can take.
	Calls   int     `json:"calls"`
	BoundMS float64 `json:"bound_ms"`
	WallMS  float64 `json:"wall_ms"`
	Ratio   float64 `json:"ratio"`
	PlanMS  float64 `json:"plan_ms"`
	// Throttled is the run with a throttle below the offered load: 429s
	// answered, every entry made anyway.
	ThrottleRate     float64 `json:"throttle_rate_per_s"`
	Throttled429s    int     `json:"throttled_429s"`
	ThrottledWallMS  float64 `json:"throttled_wall_ms"`
	ThrottledEntries int     `json:"throttled_entries"`
	ThrottledErr     string  `json:"throttled_error,omitempty"`
}

const (
	migrateLatency     = 50 * time.Millisecond
	migrateConcurrency = 10
)

// migrateBench runs the migration of n entries twice: unthrottled (the
// bound) and throttled (no 429 left unhandled).
func migrateBench(ctx context.Context, n int, log func(string, ...any)) (*MigrateBench, error) {
	res := &MigrateBench{Entries: n, LatencyMS: float64(migrateLatency.Milliseconds()), Concurrency: migrateConcurrency}
	one := func(name string, throttle float64) (wall time.Duration, calls, throttled, made int, err error) {
		sts := ststest.New(ststest.Options{})
		api, iam := ststest.NewEKS(sts), ststest.NewIAM(sts)
		es, is, ss := httptest.NewServer(api), httptest.NewServer(iam), httptest.NewServer(sts)
		defer es.Close()
		defer is.Close()
		defer ss.Close()
		acct, region := ststest.AccountA, "us-west-2"
		api.AddCluster(ststest.EKSCluster{Account: acct, Region: region, Name: name, AuthenticationMode: eks.ModeAPIAndConfigMap})
		var roles string
		for i := range n {
			arn := fmt.Sprintf("arn:aws:iam::%s:role/bench/Team%04d", acct, i)
			sts.AddRole(ststest.Role{ARN: arn, RoleID: fmt.Sprintf("AROABENCH%012d", i)})
			groups := "  groups:\n  - team\n"
			if i%10 == 0 {
				groups = "  groups:\n  - system:masters\n"
			}
			// aws-auth names the roles without their path, as it must.
			roles += fmt.Sprintf("- rolearn: arn:aws:iam::%s:role/Team%04d\n  username: team%d:{{SessionName}}\n%s", acct, i, i, groups)
		}
		cm := &unstructured.Unstructured{Object: map[string]any{"data": map[string]any{"mapRoles": roles}}}
		maps, err := mappings.ParseAWSAuth(cm)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		id := sts.Identity("alice")
		cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(id.AccessKeyID, id.SecretAccessKey, "")}
		c := eks.NewAccessClient(cfg, "", region, name, eks.AccessOptions{Concurrency: migrateConcurrency, MaxBackoff: time.Second,
			EKSEndpoint: es.URL, IAMEndpoint: is.URL, STSEndpoint: ss.URL})
		cl, err := c.Describe(ctx)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		start := time.Now()
		plan, err := eks.MakePlan(ctx, c, cl, maps, nil, eks.ModeAPIAndConfigMap)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		res.PlanMS = float64(time.Since(start).Microseconds()) / 1000
		api.ResetCounts()
		api.SetLatency(migrateLatency)
		if throttle > 0 {
			api.SetThrottle(throttle, migrateConcurrency)
		}
		start = time.Now()
		_, err = eks.Migrate(ctx, c, plan, eks.MigrateOptions{})
		wall = time.Since(start)
		for _, op := range []string{"CreateAccessEntry", "AssociateAccessPolicy", "UpdateAccessEntry", "DescribeAccessEntry", "UpdateClusterConfig", "DescribeUpdate"} {
			calls += api.Count(op)
		}
		return wall, calls, api.Throttles(), len(api.AccessEntries(acct, region, name)), err
	}
	log("  migrate %d entries at %s per call, concurrency %d", n, migrateLatency, migrateConcurrency)
	wall, calls, _, made, err := one("bench", 0)
	if err != nil {
		return nil, err
	}
	if made != n {
		return nil, fmt.Errorf("migrate made %d entries of %d", made, n)
	}
	res.Calls, res.WallMS = calls, float64(wall.Microseconds())/1000
	res.BoundMS = float64(calls) * res.LatencyMS / migrateConcurrency
	res.Ratio = res.WallMS / res.BoundMS
	// Offered load is concurrency ÷ latency requests a second; the
	// throttle admits 60% of it.
	res.ThrottleRate = 0.6 * migrateConcurrency / migrateLatency.Seconds()
	log("  the same under a throttle of %.0f requests/s", res.ThrottleRate)
	wall, _, thr, made, err := one("throttled", res.ThrottleRate)
	res.ThrottledWallMS, res.Throttled429s, res.ThrottledEntries = float64(wall.Microseconds())/1000, thr, made
	if err != nil {
		res.ThrottledErr = err.Error()
	}
	return res, nil
}
