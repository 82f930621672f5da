package sso

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/deadline"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// TestNetworkFaults: renewing the sign-in (CreateToken with the refresh
// token) and getting role credentials (GetRoleCredentials) against SSO
// endpoints that fail end within the budget with one line naming the
// endpoint; a network failure is never taken for a sign-in that is needed.
func TestNetworkFaults(t *testing.T) {
	_, s, _, tok := signedIn(t, "dev")
	for _, f := range []ststest.Fault{ststest.Hang, ststest.Status500, ststest.Refused} {
		t.Run(string(f), func(t *testing.T) {
			fy, err := ststest.NewFaulty(f, nil, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fy.Close)
			t.Setenv("AWS_ENDPOINT_URL_SSO_OIDC", fy.URL)
			t.Setenv("AWS_ENDPOINT_URL_SSO", fy.URL)
			ctx, cancel := deadline.Start(t.Context(), deadline.Budget{Total: time.Second, Attempt: time.Second})
			defer cancel()
			c, err := NewClient(ctx, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			host := regexp.QuoteMeta(strings.TrimPrefix(fy.URL, "http://"))
			what := map[ststest.Fault]string{
				ststest.Hang:      "no answer from " + host + ` in 1(\.\d)?s$`,
				ststest.Status500: host + " answered HTTP 500$",
				ststest.Refused:   "could not connect to " + host + ": connection refused$",
			}[f]
			start := time.Now()
			_, err = c.Renew(ctx, tok)
			if err == nil || !regexp.MustCompile(`^could not renew the sign-in of .*: `+what).MatchString(err.Error()) || hint.KindOf(err) != hint.Network {
				t.Errorf("renew: %v (kind %v)", err, hint.KindOf(err))
			}
			_, err = c.RoleCredentials(ctx, tok)
			if err == nil || !regexp.MustCompile(`^could not get the credentials of role .*: `+what).MatchString(err.Error()) {
				t.Errorf("role credentials: %v", err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %s, budget 1s", took)
			}
		})
	}
}
