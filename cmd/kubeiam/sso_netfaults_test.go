//go:build unix

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
	"github.com/kubeiam/kubeiam/token/sso"
)

// TestTokenSSOThroughProxyFaults: `kubeiam token` for an SSO profile whose
// calls go through an HTTPS proxy (under the real host names) to a peer
// that accepts and never answers (the peer's hang is the fault under
// test), or answers headers and then nothing,
// ends within its budget (KUBEIAM_TIMEOUT=2s here) with one line naming
// the host, the proxy and what happened: both for the role credentials
// (GetRoleCredentials at the portal, with a valid sign-in) and for
// renewing a sign-in that has expired (CreateToken at OIDC).
func TestTokenSSOThroughProxyFaults(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{Logf: func(string, ...any) {}})
	budget := 2 * time.Second
	for _, tc := range []struct {
		fault ststest.Fault
		call  string
	}{
		{ststest.Hang, "role credentials"},
		{ststest.Hang, "renew"},
		// Headers, then nothing: the SDK's warning that it could not drain
		// the body used to reach stderr beside the one line.
		{ststest.StallHeaders, "role credentials"},
		// On renew the answer is cut when the budget ends: told as the
		// silence it is, not as the server closing or garbling it.
		{ststest.StallHeaders, "renew"},
	} {
		f, call := tc.fault, tc.call
		{
			t.Run(string(f)+"/"+call, func(t *testing.T) {
				fy, err := ststest.NewFaulty(f, rig.CA, nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(fy.Close)
				home := t.TempDir()
				cfg := filepath.Join(home, ".aws", "config")
				os.MkdirAll(filepath.Dir(cfg), 0o700)
				os.WriteFile(cfg, []byte("[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n"+
					"[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = KubeAdmin\nregion = us-west-2\n"), 0o600)
				// The sign-in, as `kubeiam login` leaves it: valid for an
				// hour, or expired a minute ago with a refresh token.
				t.Setenv("HOME", home)
				t.Setenv("AWS_CONFIG_FILE", cfg)
				t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
				s, err := sso.Resolve("dev")
				if err != nil {
					t.Fatal(err)
				}
				tok := &sso.Token{AccessToken: "access", RefreshToken: "refresh", ClientID: "client", ClientSecret: "secret",
					Region: "us-east-1", StartURL: "https://corp.awsapps.com/start",
					ExpiresAt: time.Now().Add(time.Hour), RegistrationExpiresAt: time.Now().Add(30 * 24 * time.Hour)}
				host := "portal.sso.us-east-1.amazonaws.com"
				if call == "renew" {
					tok.ExpiresAt = time.Now().Add(-time.Minute)
					host = "oidc.us-east-1.amazonaws.com"
				}
				if err := s.WriteToken(tok); err != nil {
					t.Fatal(err)
				}
				env := []string{"HOME=" + home, "AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
					"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "KUBEIAM_CACHE=file",
					"KUBEIAM_TIMEOUT=2s", "KUBEIAM_ATTEMPT_TIMEOUT=1s",
					"HTTPS_PROXY=" + fy.ProxyURL, "SSL_CERT_FILE=" + rig.CABundle, "NO_PROXY="}
				r := runKubeiam(t, env, 20*time.Second, "token", "-i", "c1", "--profile", "dev", "--token-only")
				want := regexp.QuoteMeta(host) + ` .*\(via proxy ` + regexp.QuoteMeta(strings.TrimPrefix(fy.ProxyURL, "http://")) + `\)`
				wantOneLine(t, r, `^kubeiam: .*`+want)
				if !strings.Contains(r.stderr, "no answer from "+host) {
					t.Errorf("stderr %q does not say %s did not answer", r.stderr, host)
				}
				if fy.Requests() == 0 {
					t.Error("no request reached the peer through the proxy")
				}
				if r.took > budget+netSlack {
					t.Errorf("took %s, budget %s", r.took, budget)
				}
			})
		}
	}
}
