package eks_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/eks"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// TestNetworkFaults: DescribeCluster and ListClusters against an EKS
// endpoint that fails in each way, through AWS_ENDPOINT_URL_EKS and through
// an HTTPS proxy under the real host name, end within the call's budget
// with one line naming the endpoint and what happened.
func TestNetworkFaults(t *testing.T) {
	rig := setup(t, "alice")
	want := map[ststest.Fault]string{
		ststest.Hang:      `no answer from {host} in 1(\.\d)?s{via}$`,
		ststest.Status500: `{host} answered HTTP 500{via}$`,
		ststest.Throttle:  `EKS is throttling requests and retries did not get through \(Rate exceeded\)$`,
		ststest.Garbage:   `{host} sent an answer that is not EKS's{via}$`,
		ststest.Refused:   `could not connect to {host}: connection refused$`,
	}
	for f, w := range want {
		for _, via := range []string{"endpoint", "proxy"} {
			t.Run(string(f)+"/"+via, func(t *testing.T) {
				fy, err := ststest.NewFaulty(f, rig.CA, nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(fy.Close)
				host, proxy := strings.TrimPrefix(fy.URL, "http://"), ""
				if via == "endpoint" {
					t.Setenv("AWS_ENDPOINT_URL_EKS", fy.URL)
				} else {
					t.Setenv("AWS_ENDPOINT_URL_EKS", "")
					t.Setenv("HTTPS_PROXY", fy.ProxyURL)
					t.Setenv("AWS_CA_BUNDLE", rig.CABundle)
					host, proxy = "eks.us-west-2.amazonaws.com", ` \(via proxy `+regexp.QuoteMeta(strings.TrimPrefix(fy.ProxyURL, "http://"))+`\)`
					if f == ststest.Refused {
						w = `could not connect to proxy ` + regexp.QuoteMeta(strings.TrimPrefix(fy.ProxyURL, "http://")) + `: connection refused$`
					}
				}
				re := regexp.MustCompile(strings.NewReplacer("{host}", regexp.QuoteMeta(host), "{via}", proxy).Replace(w))
				cfg, err := eks.LoadProfile(t.Context(), "alice", "us-west-2")
				if err != nil {
					t.Fatal(err)
				}
				c := eks.NewClient(cfg, "alice", "us-west-2", eks.ClientOptions{Timeout: time.Second})
				start := time.Now()
				_, err = c.Describe(t.Context(), "prod")
				if took := time.Since(start); took > 3*time.Second {
					t.Errorf("took %s, budget 1s", took)
				}
				if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "could not describe cluster prod in us-west-2 (profile alice): ") || !re.MatchString(err.Error()) {
					t.Errorf("err = %v\nwant %s", err, re)
				}
				if f != ststest.Throttle && hint.KindOf(err) != hint.Network {
					t.Errorf("kind %v, want network", hint.KindOf(err))
				}
				if _, err := c.List(t.Context()); err == nil || !re.MatchString(err.Error()) {
					t.Errorf("list: %v", err)
				}
			})
		}
	}
}
