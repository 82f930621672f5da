package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

// handMade is an AWS config file as people keep them: comments, trailing
// spaces, a nested s3 block, a hand-made profile; profile sync must leave
// every byte of it as it is.
const handMade = "# mine   \n[default]\nregion = us-east-1  \ns3 =\n  max_concurrent_requests = 20\n\n" +
	"; by hand\n[profile by-hand]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = KubeAdmin\n"

// TestProfileSyncWithAWSCLI: the profiles kubeiam writes are read by
// botocore (the AWS CLI) — it lists them and gets role credentials for
// one through the sso-session login created — and the hand-written part
// of the file is untouched. It needs the aws command (KUBEIAM_TEST_PEERS=1).
func TestProfileSyncWithAWSCLI(t *testing.T) {
	if testing.Short() || os.Getenv("KUBEIAM_TEST_PEERS") != "1" {
		t.Skip("runs the AWS CLI: set KUBEIAM_TEST_PEERS=1")
	}
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("KUBEIAM_TEST_PEERS=1 but aws is not installed: %v", err)
	}
	rig := ststest.Start(t, ststest.Options{})
	rig.SSO.SetAccounts([]ststest.SSOAccount{
		{ID: "210987654321", Name: "Payments (EU)", Roles: []string{"ReadOnly", "KubeAdmin"}},
		{ID: "123456789012", Name: "sandbox", Roles: []string{"KubeAdmin"}},
	})
	home := t.TempDir()
	cfgFile := filepath.Join(home, ".aws", "config")
	if err := os.MkdirAll(filepath.Dir(cfgFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, []byte(handMade), 0o600); err != nil {
		t.Fatal(err)
	}
	front, _ := kubeiamLinks(t)
	self, _ := os.Executable()
	browser := filepath.Join(filepath.Dir(front), "browse")
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
		cmd.Env, cmd.Dir, cmd.Stdin = env, home, nil
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %q: %v\n%s%s", name, args, err, out.String(), errOut.String())
		}
		return out.String()
	}
	run(front, "login", "--start-url", "https://corp.awsapps.com/start", "--sso-region", "us-east-1", "--sso-session", "corp")
	run(front, "profile", "sync", "--sso-session", "corp", "--region", "eu-west-1")
	b, _ := os.ReadFile(cfgFile)
	if !bytes.HasPrefix(b, []byte(handMade)) {
		t.Fatalf("the hand-written part changed:\n%s", b)
	}

	// The AWS CLI in the image is v1 (no list-profiles or
	// export-credentials): read each profile's keys, then call STS with
	// credentials botocore got through the sso-session.
	for name, account := range map[string]string{"Payments-EU/KubeAdmin": "210987654321", "Payments-EU/ReadOnly": "210987654321", "sandbox/KubeAdmin": "123456789012"} {
		if got := strings.TrimSpace(run(awsBin, "configure", "get", "sso_account_id", "--profile", name)); got != account {
			t.Errorf("aws configure get sso_account_id --profile %s: %q, want %s", name, got, account)
		}
	}
	var id struct{ Arn string }
	for name, want := range map[string]string{
		"sandbox/KubeAdmin":    "arn:aws:sts::123456789012:assumed-role/KubeAdmin/" + ststest.SSOUser,
		"Payments-EU/ReadOnly": "arn:aws:sts::210987654321:assumed-role/ReadOnly/" + ststest.SSOUser,
	} {
		if err := json.Unmarshal([]byte(run(awsBin, "sts", "get-caller-identity", "--profile", name, "--output", "json")), &id); err != nil {
			t.Fatal(err)
		}
		if id.Arn != want {
			t.Fatalf("aws sts get-caller-identity --profile %s: %s, want %s", name, id.Arn, want)
		}
	}
	if got := run(awsBin, "configure", "get", "region", "--profile", "sandbox/KubeAdmin"); strings.TrimSpace(got) != "eu-west-1" {
		t.Errorf("region of a synced profile as the AWS CLI reads it: %q", got)
	}
}

// TestLoginWithChromium signs in with a real browser: headless Chromium,
// started as $BROWSER by kubeiam login, opens the authorize URL, runs the
// stand-in's sign-in page (a form its script submits), follows the redirect
// to kubeiam's loopback port, and kubeiam finishes the PKCE exchange.
func TestLoginWithChromium(t *testing.T) {
	if testing.Short() || os.Getenv("KUBEIAM_TEST_PEERS") != "1" {
		t.Skip("runs Chromium: set KUBEIAM_TEST_PEERS=1")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("KUBEIAM_TEST_PEERS=1 but chromium is not installed (.ci/run installs the Debian package): %v", err)
	}
	rig := ststest.Start(t, ststest.Options{})
	home := t.TempDir()
	cfgFile := filepath.Join(home, ".aws", "config")
	front, _ := kubeiamLinks(t)
	// The wrapper records the browser's pid so the test can end it: kubeiam
	// starts the browser and does not wait for it, as with a person's.
	pidFile := filepath.Join(home, "chromium.pid")
	wrapper := filepath.Join(home, "browser.sh")
	script := "#!/bin/sh\necho $$ > " + pidFile + "\nexec " + chromium +
		" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking" +
		" --disable-component-update --disable-sync --user-data-dir=" + filepath.Join(home, "chromium-profile") +
		" \"$@\" >" + filepath.Join(home, "chromium.log") + " 2>&1\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGTERM)
			for i := 0; i < 50 && syscall.Kill(pid, 0) == nil; i++ {
				time.Sleep(100 * time.Millisecond)
			}
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	env := append(cleanEnv(), "HOME="+home, "AWS_CONFIG_FILE="+cfgFile, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "none"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "BROWSER="+wrapper,
		"AWS_ENDPOINT_URL_SSO_OIDC="+rig.SSOEndpoint, "AWS_ENDPOINT_URL_SSO="+rig.SSOEndpoint, "AWS_ENDPOINT_URL_STS="+rig.Endpoint)
	cmd := exec.Command(front, "login", "--start-url", "https://corp.awsapps.com/start", "--sso-region", "us-east-1", "--sso-session", "corp")
	cmd.Env, cmd.Dir = env, home
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		log, _ := os.ReadFile(filepath.Join(home, "chromium.log"))
		t.Fatalf("kubeiam login with Chromium did not finish in 60s:\n%s\nchromium:\n%s", errOut.String(), log)
	}
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(home, "chromium.log"))
		t.Fatalf("kubeiam login with Chromium: %v\n%s\nchromium:\n%s", err, errOut.String(), log)
	}
	if !strings.Contains(errOut.String(), `Signed in to SSO session "corp"`) {
		t.Fatalf("kubeiam login: %s", errOut.String())
	}
	if n := rig.SSO.Count("Authorize"); n != 2 {
		t.Errorf("authorize requests %d, want 2 (the page, then its form's POST)", n)
	}
}
