package eks_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/eks"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// BenchmarkDiscover is the scale case: 20 profiles (20 accounts) ×
// 17 regions, 3 clusters in each, 50 ms per EKS call, default bounds (32 in
// flight, 4 per pair). Target: a scan in ≤ 3 s wall.
//
//	go test -run '^$' -bench Discover -benchtime 3x ./eks
func BenchmarkDiscover(b *testing.B) {
	rig := ststest.Start(b, ststest.Options{Logf: func(string, ...any) {}})
	regions := []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
		"eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "sa-east-1"}
	var cfg strings.Builder
	var profiles []string
	for i := range 20 {
		account := fmt.Sprintf("1000000000%02d", i)
		id := rig.NewUser(account, fmt.Sprintf("u%02d", i))
		p := fmt.Sprintf("p%02d", i)
		profiles = append(profiles, p)
		fmt.Fprintf(&cfg, "[profile %s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", p, id.AccessKeyID, id.SecretAccessKey)
		for _, r := range regions {
			for c := range 3 {
				rig.EKS.AddCluster(ststest.EKSCluster{Account: account, Region: r, Name: fmt.Sprintf("c%d", c)})
			}
		}
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	for k, v := range map[string]string{"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_ENDPOINT_URL_EKS": rig.EKSEndpoint, "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "", "AWS_PROFILE": ""} {
		b.Setenv(k, v)
	}
	rig.EKS.SetLatency(time.Duration(envInt("EKS_BENCH_LATENCY_MS", 50)) * time.Millisecond)
	b.ResetTimer()
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		res, err := eks.Discover(b.Context(), eks.Scan{Profiles: profiles, Regions: regions})
		took := time.Since(start)
		worst = max(worst, took)
		if err != nil || len(res.Found) != 20*17*3 || len(res.Warnings) > 0 {
			b.Fatalf("found %d, warnings %q, %v", len(res.Found), res.Warnings, err)
		}
	}
	b.ReportMetric(worst.Seconds(), "worst-s/scan")
	if worst > 3*time.Second {
		b.Errorf("a scan of 340 pairs took %s, want ≤ 3s", worst)
	}
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err != nil {
		return def
	}
	return n
}
