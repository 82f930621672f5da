package bundle

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
	"github.com/kubeiam/kubeiam/internal/testwait"
)

// TestFaultsThroughProxy: a download through an HTTPS proxy (the
// intercepting one, under EKS Anywhere's real asset host) from a peer that
// accepts and never answers, or sends headers or half the body and then
// nothing, fails within its bounds (headers, then bytes), is retried, and
// ends with one error that says which bound ran out. The bounds are
// shortened for the test (30 s and 60 s in use).
func TestFaultsThroughProxy(t *testing.T) {
	const bound = 300 * time.Millisecond
	defer func(d time.Duration) { responseHeaderTimeout = d }(responseHeaderTimeout)
	responseHeaderTimeout = bound
	ca, err := ststest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteBundle(caFile); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", caFile)
	t.Setenv("NO_PROXY", "")
	const loc = "https://anywhere-assets.eks.amazonaws.com/releases/bundles/1/manifest.yaml"
	fetcher := func(t *testing.T, fy *ststest.Faulty) *Fetcher {
		t.Setenv("HTTPS_PROXY", fy.ProxyURL)
		c, err := NewHTTPClient("", false) // reads the environment now
		if err != nil {
			t.Fatal(err)
		}
		return &Fetcher{Client: c, Attempts: 2, Backoff: time.Millisecond, StallTimeout: bound}
	}

	// The baseline: the same download through the same proxy from a peer
	// that answers.
	body := strings.Repeat("kind: Bundles\n", 100)
	ok, err := ststest.NewFaulty(ststest.Pass, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(body))
	}), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ok.Close)
	okFetcher := fetcher(t, ok)
	base := testwait.Baseline(3, func() {
		if got, err := okFetcher.ReadAll(context.Background(), loc, 1<<20); err != nil || string(got) != body {
			t.Fatalf("through a working peer: %d bytes, %v", len(got), err)
		}
	})

	for _, tc := range []struct {
		fault ststest.Fault
		want  string
	}{
		{ststest.Hang, "timeout awaiting response headers"},
		{ststest.StallHeaders, "download stalled: no data for 300ms"},
		{ststest.StallBody, "download stalled: no data for 300ms"},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			fy, err := ststest.NewFaulty(tc.fault, ca, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fy.Close)
			f := fetcher(t, fy)
			start := time.Now()
			// A bound that is not applied fails here, not at go test's timeout.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err = f.ReadAll(ctx, loc, 1<<20)
			took := time.Since(start)
			if err == nil || !strings.HasPrefix(err.Error(), "gave up after 2 tries: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want two tries and %q", err, tc.want)
			}
			if n := fy.Requests(); n != 2 {
				t.Errorf("%d requests reached the peer, want 2", n)
			}
			// Two tries, each ended by its bound: at least 2 × bound, and
			// not much more (the slack grows with the baseline).
			if limit := 2*bound + testwait.Limit(base, 20, time.Second, 0); took < 2*bound || took > limit {
				t.Errorf("took %s, want between %s and %s", took, 2*bound, limit)
			}
		})
	}
}
