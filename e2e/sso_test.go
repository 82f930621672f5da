package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/e2e/internal/scenario"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// TestSSOSignIn: an IAM Identity Center profile, from sign-in to kubectl,
// with no AWS CLI. `kubeiam login` signs in (the test's "browser" follows
// the authorize page's redirect to kubeiam's loopback port, as a person's
// browser would); kubectl, through the real aws-iam-authenticator, is the
// SSO role's mapped user. When the session has expired and cannot be
// renewed, a kubectl without a terminal fails at once naming the command to
// run, and one under a pty signs in right there and succeeds.
func TestSSOSignIn(t *testing.T) {
	env, ctx := kubeiamEnv(t)
	step := func(format string, args ...any) { fmt.Fprintf(env.Out, "\n==> "+format+"\n", args...) }
	show := func(command string, outputs ...string) {
		fmt.Fprintf(env.Out, "  [sam] $ %s\n", command)
		for _, o := range outputs {
			for _, l := range strings.Split(strings.TrimRight(o, "\n"), "\n") {
				if l != "" {
					fmt.Fprintf(env.Out, "      %s\n", l)
				}
			}
		}
	}

	// A permission set's role of this test's own, mapped to a user of its own.
	roleName := fresh("SSODev")
	role := ststest.Role{ARN: "arn:aws:iam::" + ststest.AccountA + ":role/" + roleName, RoleID: fmt.Sprintf("AROASSO%09d", rand.IntN(1_000_000_000))}
	stack.STS.AddRole(role)
	user := strings.ToLower(fresh("sso-sam"))
	users, roles := scenario.SeedMappings()
	roles = append(roles, scenario.Mapping{ARN: role.ARN, Username: user, Groups: []string{scenario.ViewGroup}})
	if err := env.Install(ctx, users, roles); err != nil {
		t.Fatal(err)
	}

	step("an IAM Identity Center stand-in; profile sso-dev signs in through sso-session %q to role %s", "e2e", roleName)
	idc := ststest.NewSSO(stack.STS)
	srv := httptest.NewServer(idc)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	awsConfig := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(awsConfig, []byte("[profile sso-dev]\nsso_session = e2e\nsso_account_id = "+ststest.AccountA+
		"\nsso_role_name = "+roleName+"\nregion = us-west-2\n\n[sso-session e2e]\nsso_start_url = https://e2e.awsapps.com/start\nsso_region = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "config")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: rig
  cluster:
    server: %s
    certificate-authority: %s
contexts:
- name: sso-dev
  context: {cluster: rig, user: sso-dev}
current-context: sso-dev
users:
- name: sso-dev
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: kubeiam
      args: [token, -i, %s, --profile, sso-dev]
      interactiveMode: IfAvailable
`, stack.APIServerURL, stack.CAFile, stack.ClusterID)), 0o600); err != nil {
		t.Fatal(err)
	}
	// No keys in this environment: the profile is the only credential source.
	// BROWSER is the person: it opens the URL and follows the redirect.
	var cenv []string
	for _, kv := range stack.ClientEnv(ststest.Identity{}) {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			cenv = append(cenv, kv)
		}
	}
	cenv = append(cenv, "AWS_CONFIG_FILE="+awsConfig, "AWS_ENDPOINT_URL_SSO_OIDC="+srv.URL, "AWS_ENDPOINT_URL_SSO="+srv.URL,
		"PATH="+filepath.Dir(stack.Bins.Kubeiam)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+dir, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "KUBEIAM_CACHE=file",
		"BROWSER=curl -sfL -o /dev/null")
	scrub := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, dir, "$TMP"), srv.URL, "$IDC") }
	run := func(name string, args ...string) (string, string, error) {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = cenv
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		show(scrub(filepath.Base(name)+" "+strings.Join(args, " ")), scrub(stdout.String()), scrub(stderr.String()))
		return stdout.String(), stderr.String(), err
	}
	whoami := func(out string) string {
		var w struct {
			Status struct {
				UserInfo struct{ Username string } `json:"userInfo"`
			} `json:"status"`
		}
		_ = json.Unmarshal([]byte(out), &w)
		return w.Status.UserInfo.Username
	}

	step("kubeiam login --profile sso-dev (no AWS CLI involved)")
	stdout, stderr, err := run(stack.Bins.Kubeiam, "login", "--profile", "sso-dev")
	if err != nil {
		t.Fatalf("kubeiam login: %v\n%s", err, stderr)
	}
	if stdout != "" {
		t.Errorf("kubeiam login wrote to stdout: %q", stdout)
	}
	if n := idc.Count("CreateToken"); n != 1 {
		t.Errorf("CreateToken calls after login = %d, want 1", n)
	}

	step("kubectl auth whoami: the SSO role's mapped user %s", user)
	eventually(t, ctx, "whoami as the SSO role", func() error {
		stdout, stderr, err := run(stack.Bins.Kubectl, "--kubeconfig", kubeconfig, "auth", "whoami", "-o", "json")
		if err != nil {
			return fmt.Errorf("%v: %s", err, stderr)
		}
		if got := whoami(stdout); got != user {
			return fmt.Errorf("user %q, want %q", got, user)
		}
		return nil
	})

	step("a night later: the SSO token has expired and cannot be renewed; kubeiam's cache is empty")
	idc.SetRefresh(false)
	idc.ExpireAccessTokens()
	expireTokenFiles(t, filepath.Join(dir, ".aws", "sso", "cache"))
	if _, stderr, err := run(stack.Bins.Kubeiam, "cache", "clear", "--all"); err != nil {
		t.Fatalf("kubeiam cache clear --all: %v\n%s", err, stderr)
	}
	calls := idc.Count("CreateToken") + idc.Count("GetRoleCredentials")

	step("kubectl without a terminal: fails at once, naming the command to run")
	start := time.Now()
	_, stderr, err = run(stack.Bins.Kubectl, "--kubeconfig", kubeconfig, "auth", "whoami", "-o", "json")
	if err == nil {
		t.Fatal("kubectl auth whoami succeeded with an expired SSO session and no terminal")
	}
	if want := `SSO session "e2e" has expired; run: kubeiam login --profile sso-dev`; !strings.Contains(stderr, want) {
		t.Errorf("kubectl stderr lacks %q:\n%s", want, stderr)
	}
	// kubectl runs the plugin twice: the first run tries the refresh token
	// once, is refused and forgets it; the second fails without a call.
	if n := idc.Count("CreateToken") + idc.Count("GetRoleCredentials"); n != calls+1 {
		t.Errorf("the non-interactive failure made %d calls to IAM Identity Center, want 1 (one refused renewal)", n-calls)
	}
	t.Logf("non-interactive failure through kubectl in %s", time.Since(start).Round(time.Millisecond))

	step("kubectl under a terminal (script(1) gives it a pty): signs in inline, then answers")
	created := idc.Count("CreateToken")
	line := strings.Join([]string{stack.Bins.Kubectl, "--kubeconfig", kubeconfig, "auth", "whoami", "-o", "json"}, " ")
	stdout, stderr, err = run("script", "-qec", line, "/dev/null")
	if err != nil {
		t.Fatalf("kubectl under a pty: %v\n%s%s", err, stdout, stderr)
	}
	if got := whoami(stdout[strings.Index(stdout, "{"):]); got != user {
		t.Errorf("kubectl under a pty: user %q, want %q:\n%s", got, user, stdout)
	}
	if !strings.Contains(stdout, "needs a sign-in") {
		t.Errorf("the pty shows no sign-in:\n%s", stdout)
	}
	if n := idc.Count("CreateToken") - created; n != 1 {
		t.Errorf("CreateToken calls for the inline sign-in = %d, want 1", n)
	}
}

// expireTokenFiles moves expiresAt of every SSO token file in dir an hour
// into the past, as the clock would.
func expireTokenFiles(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["accessToken"]; !ok {
			continue // a client registration
		}
		m["expiresAt"] = time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05Z")
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d SSO token files in %s, want 1", n, dir)
	}
}
