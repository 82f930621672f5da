package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeiam/kubeiam/e2e/internal/scenario"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// TestSSOProfileSyncToKubectl: from a start URL to kubectl in four
// commands. kubeiam login --start-url adds the sso-session and signs in,
// profile sync writes a profile for the (account, role) of the SSO
// stand-in, kubeconfig discover --sso-session finds the rig (as an EKS
// cluster) with that role and writes a context whose exec uses the profile,
// and kubectl, through the real aws-iam-authenticator, is the role's mapped
// user.
func TestSSOProfileSyncToKubectl(t *testing.T) {
	env, ctx := kubeiamEnv(t)
	step := func(format string, args ...any) { fmt.Fprintf(env.Out, "\n==> "+format+"\n", args...) }

	roleName := fresh("SSOSync")
	user := strings.ToLower(fresh("sso-sync"))
	users, roles := scenario.SeedMappings()
	roles = append(roles, scenario.Mapping{ARN: "arn:aws:iam::" + ststest.AccountA + ":role/" + roleName, Username: user, Groups: []string{scenario.ViewGroup}})
	if err := env.Install(ctx, users, roles); err != nil {
		t.Fatal(err)
	}
	step("IAM Identity Center and EKS stand-ins: account %s (e2e org) with permission set %s; the rig as cluster %s", ststest.AccountA, roleName, stack.ClusterID)
	idc := ststest.NewSSO(stack.STS)
	idc.SetAccounts([]ststest.SSOAccount{{ID: ststest.AccountA, Name: "e2e org", Roles: []string{roleName}}})
	idcSrv := httptest.NewServer(idc)
	t.Cleanup(idcSrv.Close)
	caPEM, err := os.ReadFile(stack.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	api := ststest.NewEKS(stack.STS)
	cluster := api.AddCluster(ststest.EKSCluster{Account: ststest.AccountA, Region: "us-west-2", Name: stack.ClusterID,
		Endpoint: stack.APIServerURL, CAData: base64.StdEncoding.EncodeToString(caPEM)})
	eksSrv := httptest.NewServer(api)
	t.Cleanup(eksSrv.Close)

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	var cenv []string
	for _, kv := range stack.ClientEnv(ststest.Identity{}) {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			cenv = append(cenv, kv)
		}
	}
	cenv = append(cenv, "AWS_CONFIG_FILE="+filepath.Join(dir, "aws-config"), "AWS_ENDPOINT_URL_SSO_OIDC="+idcSrv.URL, "AWS_ENDPOINT_URL_SSO="+idcSrv.URL,
		"AWS_ENDPOINT_URL_EKS="+eksSrv.URL, "PATH="+filepath.Dir(stack.Bins.Kubeiam)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+dir, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "KUBEIAM_CACHE=file", "BROWSER=curl -sfL -o /dev/null")
	kubeiam := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, stack.Bins.Kubeiam, args...)
		cmd.Env = cenv
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		fmt.Fprintf(env.Out, "  $ kubeiam %s\n%s%s", strings.Join(args, " "), stdout.String(), strings.ReplaceAll(stderr.String(), dir, "$TMP"))
		if err != nil {
			t.Fatalf("kubeiam %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}
	step("login → profile sync → kubeconfig discover --sso-session")
	kubeiam("login", "--start-url", "https://e2e.awsapps.com/start", "--sso-region", "us-east-1", "--sso-session", "e2e")
	kubeiam("profile", "sync", "--sso-session", "e2e", "--region", "us-west-2")
	kubeiam("kubeconfig", "discover", "--sso-session", "e2e", "--region", "us-west-2", "--kubeconfig", kubeconfig)

	step("kubectl --context %s auth whoami: the synced profile's role, mapped to %s", cluster.ARN(), user)
	eventually(t, ctx, "whoami through the synced profile", func() error {
		res := stack.Kubectl(ctx, kubeconfig, cenv, "", "--context", cluster.ARN(), "auth", "whoami", "-o", "json")
		if res.Err != nil {
			return fmt.Errorf("%v: %s", res.Err, res.Stderr)
		}
		var w struct {
			Status struct {
				UserInfo struct{ Username string } `json:"userInfo"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &w); err != nil {
			return err
		}
		if w.Status.UserInfo.Username != user {
			return fmt.Errorf("user %q, want %q", w.Status.UserInfo.Username, user)
		}
		return nil
	})
	b, _ := os.ReadFile(kubeconfig)
	if want := "e2e-org/" + roleName; !strings.Contains(string(b), want) {
		t.Errorf("the context's exec does not use the synced profile %s:\n%s", want, b)
	}
}
