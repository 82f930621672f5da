package main

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

const (
	kSSOCached  = "sso-cached"
	kSSOExpired = "sso-expired"
)

// The IAM Identity Center profiles of the SSO subjects: bench-sso is
// signed in (by `kubeiam login` at set-up, the "browser" following the
// authorize redirect); bench-sso-night's token expired an hour ago and has
// no refresh token, as a CLI sign-in's the morning after.
const ssoRole = "KubeAdmin"

func ssoConfig() string {
	return fmt.Sprintf(`[profile bench-sso]
sso_session = bench
sso_account_id = %[1]s
sso_role_name = %[2]s
region = %[3]s

[sso-session bench]
sso_start_url = https://bench.awsapps.com/start
sso_region = us-east-1

[profile bench-sso-night]
sso_session = night
sso_account_id = %[1]s
sso_role_name = %[2]s
region = %[3]s

[sso-session night]
sso_start_url = https://night.awsapps.com/start
sso_region = us-east-1
`, ststest.AccountA, ssoRole, region)
}

// ssoSubjects: a cache hit of a token signed with SSO role credentials
// (the front's path: ≤ 2× the floor), and the failure of a caller that is
// not interactive when the SSO session has expired (no network call; the
// issue's bound is 50 ms).
func ssoSubjects(e *env, r *rig, v *verifier, kubeiam string) ([]*subject, error) {
	idc := ststest.NewSSO(r.sts)
	srv := httptest.NewServer(idc)
	r.closers = append(r.closers, srv.Close)
	dir, err := e.freshDir("sso")
	if err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(cfgFile, []byte(ssoConfig()), 0o600); err != nil {
		return nil, err
	}
	home := filepath.Join(dir, "home")
	base := []string{"HOME=" + home, "AWS_CONFIG_FILE=" + cfgFile, "AWS_ENDPOINT_URL_SSO_OIDC=" + srv.URL,
		"AWS_ENDPOINT_URL_SSO=" + srv.URL, "AWS_ENDPOINT_URL_STS=" + r.http.URL, "KUBEIAM_CACHE=file",
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache")}
	login := command(e.with(append(base, "BROWSER=curl -sfL -o /dev/null")...), kubeiam, "login", "--profile", "bench-sso")
	if out, err := login.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("kubeiam login --profile bench-sso: %v: %s", err, firstLine(string(out)))
	}
	if err := writeExpiredSSOToken(home, "night", "https://night.awsapps.com/start"); err != nil {
		return nil, err
	}
	env := e.with(base...)
	// kubectl says whether it gave the plugin a terminal; a GUI tool or a CI
	// job does not.
	nightEnv := e.with(append(base, `KUBERNETES_EXEC_INFO={"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}`)...)
	hit := []string{"token", "-i", clusterID, "--profile", "bench-sso"}
	night := []string{"token", "-i", clusterID, "--profile", "bench-sso-night"}
	caller := "arn:aws:sts::" + ststest.AccountA + ":assumed-role/" + ssoRole + "/" + ststest.SSOUser
	return []*subject{
		{Key: kSSOCached, Label: "kubeiam token --profile SSO, cached (file)",
			cmd:   func() (*exec.Cmd, error) { return command(env, kubeiam, hit...), nil },
			check: checkHit(v, kubeiam, env, hit, caller, "file backend")},
		{Key: kSSOExpired, Label: "kubeiam token --profile SSO under kubectl, no terminal, session expired (fails; answered by the front)",
			cmd: func() (*exec.Cmd, error) { return command(nightEnv, kubeiam, night...), nil }, expectExit: 1,
			check: func(s sample) error {
				want := `SSO session "night" has expired; run: kubeiam login --profile bench-sso-night`
				if !strings.Contains(string(s.Stderr), want) || len(s.Stdout) > 0 {
					return errors.New("not the expected failure: " + firstLine(string(s.Stderr)))
				}
				return nil
			}},
	}, nil
}

// writeExpiredSSOToken writes an SSO token file as the AWS CLI leaves it
// the morning after a sign-in: expired an hour ago, no refresh token.
func writeExpiredSSOToken(home, session, startURL string) error {
	sum := sha1.Sum([]byte(session))
	path := filepath.Join(home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	body := fmt.Sprintf(`{"startUrl": %q, "region": "us-east-1", "accessToken": "expired-access-token", "expiresAt": %q}`,
		startURL, time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05Z"))
	return os.WriteFile(path, []byte(body), 0o600)
}
