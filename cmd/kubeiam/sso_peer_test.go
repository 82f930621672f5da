package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
	"github.com/kubeiam/kubeiam/token/sso"
)

// TestSSOWithAWSCLI is the interop case with the AWS CLI (botocore) on the
// SSO stand-in: the CLI uses the token file `kubeiam login` wrote to get role
// credentials without prompting, refreshes it in its own layout when it
// nears its end, and kubeiam reads and renews that file, which the CLI reads
// again. It needs the aws command, so it runs with KUBEIAM_TEST_PEERS=1.
func TestSSOWithAWSCLI(t *testing.T) {
	if testing.Short() || os.Getenv("KUBEIAM_TEST_PEERS") != "1" {
		t.Skip("runs the AWS CLI: set KUBEIAM_TEST_PEERS=1")
	}
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("KUBEIAM_TEST_PEERS=1 but aws is not installed: %v", err)
	}
	rig := ststest.Start(t, ststest.Options{})
	home := t.TempDir()
	cfgFile := filepath.Join(home, ".aws", "config")
	if err := os.MkdirAll(filepath.Dir(cfgFile), 0o700); err != nil {
		t.Fatal(err)
	}
	const config = "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n" +
		"[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = KubeAdmin\nregion = us-west-2\n"
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	front, _ := kubeiamLinks(t)
	browser := filepath.Join(filepath.Dir(front), "browse")
	self, _ := os.Executable()
	if err := os.Symlink(self, browser); err != nil {
		t.Fatal(err)
	}
	env := append(cleanEnv(), "HOME="+home, "AWS_CONFIG_FILE="+cfgFile, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "none"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "BROWSER="+browser,
		"AWS_ENDPOINT_URL_SSO_OIDC="+rig.SSOEndpoint, "AWS_ENDPOINT_URL_SSO="+rig.SSOEndpoint, "AWS_ENDPOINT_URL_STS="+rig.Endpoint,
		"AWS_PAGER=")
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Dir, cmd.Stdin = env, home, nil // no stdin: a prompt would fail
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %q: %v\n%s%s", name, args, err, out.String(), errOut.String())
		}
		return out.String()
	}
	whoami := func() string {
		t.Helper()
		var id struct{ Arn string }
		if err := json.Unmarshal([]byte(run(awsBin, "sts", "get-caller-identity", "--profile", "dev", "--output", "json")), &id); err != nil {
			t.Fatal(err)
		}
		return id.Arn
	}
	const wantARN = "arn:aws:sts::111122223333:assumed-role/KubeAdmin/" + ststest.SSOUser

	// 1. The AWS CLI uses the token kubeiam wrote, without refreshing it.
	run(front, "login", "--profile", "dev")
	if got := whoami(); got != wantARN {
		t.Fatalf("aws sts get-caller-identity with kubeiam's token: %s, want %s", got, wantARN)
	}
	if n := rig.SSO.Count("CreateToken"); n != 1 {
		t.Errorf("CreateToken calls %d after login and one aws call, want 1 (the CLI should not refresh a fresh token)", n)
	}

	// 2. Near its end (botocore refreshes 15 minutes ahead), the CLI renews
	// the token and writes the file in its own layout.
	for k, v := range map[string]string{"HOME": home, "AWS_CONFIG_FILE": cfgFile, "AWS_PROFILE": "",
		"AWS_ENDPOINT_URL_SSO_OIDC": rig.SSOEndpoint, "AWS_ENDPOINT_URL_SSO": rig.SSOEndpoint, "AWS_ENDPOINT_URL": "",
		"XDG_CACHE_HOME": filepath.Join(home, ".cache")} {
		t.Setenv(k, v)
	}
	s, err := sso.Resolve("dev")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.ReadToken()
	if err != nil {
		t.Fatal(err)
	}
	tok.ExpiresAt = time.Now().Add(5 * time.Minute)
	if err := s.WriteToken(tok); err != nil {
		t.Fatal(err)
	}
	if got := whoami(); got != wantARN {
		t.Fatalf("aws after its refresh: %s", got)
	}
	if n := rig.SSO.Count("CreateToken"); n != 2 {
		t.Fatalf("CreateToken calls %d: the AWS CLI did not refresh the token", n)
	}
	file, _ := s.TokenFile()
	raw, _ := os.ReadFile(file)
	t.Logf("token file as botocore wrote it: %s", redact(raw))

	// 3. kubeiam reads botocore's file, gets role credentials with it, and
	// renews it; the CLI reads kubeiam's rewrite.
	bt, err := s.ReadToken()
	if err != nil {
		t.Fatalf("kubeiam reading botocore's token file: %v", err)
	}
	if bt.AccessToken == tok.AccessToken || bt.State(time.Now()) != sso.Valid || bt.RefreshToken == "" || bt.ClientID != tok.ClientID ||
		!bt.RegistrationExpiresAt.Equal(tok.RegistrationExpiresAt) {
		t.Fatalf("botocore's token as kubeiam reads it: state %v, refresh token %t, client %q (want %q), registration %v (want %v)",
			bt.State(time.Now()), bt.RefreshToken != "", bt.ClientID, tok.ClientID, bt.RegistrationExpiresAt, tok.RegistrationExpiresAt)
	}
	c, err := sso.NewClient(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RoleCredentials(context.Background(), bt); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Renew(context.Background(), bt); err != nil {
		t.Fatalf("kubeiam renewing botocore's token: %v", err)
	}
	if got := whoami(); got != wantARN {
		t.Fatalf("aws after kubeiam's renewal: %s", got)
	}
	if n := rig.SSO.Count("CreateToken"); n != 3 {
		t.Errorf("CreateToken calls %d, want 3 (login, the CLI's refresh, kubeiam's renewal)", n)
	}
}

// redact hides token values in a token file for the log.
func redact(b []byte) string {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return "(not JSON)"
	}
	for _, k := range []string{"accessToken", "refreshToken", "clientSecret", "clientId"} {
		if _, ok := m[k]; ok {
			m[k] = "…"
		}
	}
	out, _ := json.Marshal(m)
	return strings.TrimSpace(string(out))
}
