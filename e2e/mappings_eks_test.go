package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubeiam/kubeiam/e2e/internal/scenario"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// TestEKSAccessEntries: the rig seen as an EKS cluster in CONFIG_MAP mode,
// its real aws-iam-authenticator serving aws-auth, the EKS and IAM
// stand-ins serving access entries and role paths. `mappings explain
// --eks` reads aws-auth at DescribeCluster's endpoint and CA with a kubeiam
// token (no kubeconfig) and predicts what `kubectl auth whoami` says for a
// mapped user, an IAM Identity Center role session (its role has a path in
// IAM; aws-auth has it without) and an unmapped user. `mappings migrate`
// saves aws-auth (the file equals the ConfigMap), leaves it untouched,
// moves the mode and creates the entries — the SSO role with its path;
// explain then answers from the entries with the same usernames, and a
// second run makes no change call. Last, EKS's answer for a token — the
// stand-in's access entries first, a miss passed on to the real
// authenticator serving aws-auth — equals explain's for a user in the
// access entries only, a user in both (the entry wins), the SSO session
// (its role's entry has the path) and an unmapped user (refused; explain
// exits 1).
func TestEKSAccessEntries(t *testing.T) {
	env, ctx := kubeiamEnv(t)
	step := func(format string, args ...any) { fmt.Fprintf(env.Out, "\n==> "+format+"\n", args...) }

	admin := stack.STS.NewUser(ststest.AccountA, fresh("eae-admin"))
	viewer := stack.STS.NewUser(ststest.AccountA, fresh("eae-viewer"))
	nobody := stack.STS.NewUser(ststest.AccountA, fresh("eae-nobody"))
	both := stack.STS.NewUser(ststest.AccountA, fresh("eae-both"))
	entryOnly := stack.STS.NewUser(ststest.AccountA, fresh("eae-entry"))
	setName := fresh("AWSReservedSSO_E2E")
	ssoName := strings.ReplaceAll(setName, "-", "") + "_0123456789abcdef"
	ssoRole := "arn:aws:iam::" + ststest.AccountA + ":role/aws-reserved/sso.amazonaws.com/us-west-2/" + ssoName
	roleID := "AROA" + strings.ToUpper(fmt.Sprintf("%016x", len(ssoName)*7919))
	stack.STS.AddRole(ststest.Role{ARN: ssoRole, RoleID: roleID})
	sso := ststest.Identity{Name: "eae-sso", Account: ststest.AccountA, ARN: "arn:aws:sts::" + ststest.AccountA + ":assumed-role/" + ssoName + "/carol@example.com",
		UserID: roleID + ":carol@example.com", AccessKeyID: fmt.Sprintf("ASIAEAESSO%010d", rand.IntN(1_000_000_000)), SecretAccessKey: fresh("eae-secret"),
		SessionToken: fresh("eae-session-token")}
	stack.STS.AddIdentity(sso)

	users, roles := scenario.SeedMappings()
	users = append(users,
		scenario.Mapping{ARN: admin.ARN, Username: admin.Name, Groups: []string{"system:masters"}},
		scenario.Mapping{ARN: viewer.ARN, Username: viewer.Name, Groups: []string{scenario.ViewGroup}},
		scenario.Mapping{ARN: both.ARN, Username: "aws-auth-" + both.Name, Groups: []string{scenario.ViewGroup}})
	// aws-auth must name the SSO role without its path to match sessions.
	roles = append(roles, scenario.Mapping{ARN: "arn:aws:iam::" + ststest.AccountA + ":role/" + ssoName, Username: "sso:{{SessionName}}", Groups: []string{scenario.ViewGroup}})
	if err := env.Install(ctx, users, roles); err != nil {
		t.Fatal(err)
	}

	step("EKS stand-in: cluster %s (CONFIG_MAP), endpoint %s; IAM stand-in for role paths", stack.ClusterID, stack.APIServerURL)
	caPEM, err := os.ReadFile(stack.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	api := ststest.NewEKS(stack.STS)
	api.AddCluster(ststest.EKSCluster{Account: ststest.AccountA, Region: "us-west-2", Name: stack.ClusterID, AuthenticationMode: "CONFIG_MAP",
		Endpoint: stack.APIServerURL, CAData: base64.StdEncoding.EncodeToString(caPEM)})
	eksSrv := httptest.NewServer(api)
	t.Cleanup(eksSrv.Close)
	iamSrv := httptest.NewServer(ststest.NewIAM(stack.STS))
	t.Cleanup(iamSrv.Close)

	dir := t.TempDir()
	cenv := append(stack.ClientEnv(admin), "AWS_ENDPOINT_URL_EKS="+eksSrv.URL, "AWS_ENDPOINT_URL_IAM="+iamSrv.URL, "HOME="+dir,
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	kubeiam := func(args ...string) (string, string, error) {
		t.Helper()
		cmd := exec.CommandContext(ctx, stack.Bins.Kubeiam, args...)
		cmd.Env, cmd.Dir, cmd.Stdin = cenv, dir, nil
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		fmt.Fprintf(env.Out, "  $ kubeiam %s\n%s%s", strings.Join(args, " "), stdout.String(), stderr.String())
		return stdout.String(), stderr.String(), err
	}
	explain := func(arn string) (map[string]any, error) {
		t.Helper()
		out, stderr, err := kubeiam("mappings", "explain", "--eks", stack.ClusterID, "--region", "us-west-2", "--arn", arn, "-o", "json")
		var a map[string]any
		if jerr := json.Unmarshal([]byte(out), &a); jerr != nil {
			t.Fatalf("explain %s: %v %v\n%s", arn, jerr, err, stderr)
		}
		return a, err
	}
	whoami := func(label string, id ststest.Identity) (string, error) {
		t.Helper()
		x := env.Token.Exec(stack.ClusterID, "")
		kc, err := stack.UserKubeconfig(label, &x)
		if err != nil {
			t.Fatal(err)
		}
		res := stack.Kubectl(ctx, kc, stack.ClientEnv(id), "", "auth", "whoami", "-o", "json")
		if res.Err != nil {
			return "", fmt.Errorf("%v: %s", res.Err, res.Stderr)
		}
		var w struct {
			Status struct {
				UserInfo struct{ Username string } `json:"userInfo"`
			} `json:"status"`
		}
		err = json.Unmarshal([]byte(res.Stdout), &w)
		return w.Status.UserInfo.Username, err
	}

	step("explain predicts kubectl auth whoami through the real authenticator (mode CONFIG_MAP: aws-auth only)")
	before := map[string]string{}
	for _, c := range []struct {
		label string
		id    ststest.Identity
	}{{"eae-viewer", viewer}, {"eae-sso", sso}} {
		a, err := explain(c.id.ARN)
		if err != nil || a["mapped"] != true {
			t.Fatalf("explain %s: %v %v", c.id.ARN, a, err)
		}
		want := a["username"].(string)
		eventually(t, ctx, "whoami as "+c.label, func() error {
			got, err := whoami(c.label, c.id)
			if err == nil && got != want {
				err = fmt.Errorf("kubectl auth whoami says %q, explain %q", got, want)
			}
			return err
		})
		before[c.id.ARN] = want
	}
	if before[sso.ARN] != "sso:carol-example.com" {
		t.Errorf("sso username %q", before[sso.ARN])
	}
	a, err := explain(nobody.ARN)
	if err == nil || a["mapped"] != false {
		t.Errorf("explain unmapped: %v %v", a, err)
	}
	if _, err := whoami("eae-nobody", nobody); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("kubectl as the unmapped user: %v", err)
	}

	step("migrate --dry-run, then migrate: aws-auth saved first and left as it is")
	cmBefore := mustKubectl(t, ctx, "", "get", "configmap", "aws-auth", "-n", "kube-system", "-o", "json")
	plan, _, err := kubeiam("mappings", "migrate", "--eks", stack.ClusterID, "--region", "us-west-2", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "→ STANDARD "+ssoRole) || !strings.Contains(plan, "policies=AmazonEKSClusterAdminPolicy(cluster)") {
		t.Errorf("plan:\n%s", plan)
	}
	backup := filepath.Join(dir, "aws-auth.backup.yaml")
	_, stderr, err := kubeiam("mappings", "migrate", "--eks", stack.ClusterID, "--region", "us-west-2", "--backup", backup)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "aws-auth saved to "+backup) {
		t.Errorf("no backup line:\n%s", stderr)
	}
	var live, saved map[string]any
	raw, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(cmBefore), &live); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &saved); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(live["data"], saved["data"]) || !reflect.DeepEqual(live["metadata"].(map[string]any)["resourceVersion"], saved["metadata"].(map[string]any)["resourceVersion"]) {
		t.Errorf("backup differs from the ConfigMap:\n%s\nvs\n%s", raw, cmBefore)
	}
	if after := mustKubectl(t, ctx, "", "get", "configmap", "aws-auth", "-n", "kube-system", "-o", "json"); after != cmBefore {
		t.Errorf("migrate changed aws-auth")
	}
	if m := api.Mode(ststest.AccountA, "us-west-2", stack.ClusterID); m != "API_AND_CONFIG_MAP" {
		t.Errorf("mode %s", m)
	}

	step("explain after: the access entries answer, with the same usernames")
	for arn, want := range before {
		a, err := explain(arn)
		if err != nil || a["backend"] != "EKS access entries" || a["username"] != want {
			t.Errorf("explain %s after migrate: %v %v (want %q from an access entry)", arn, a, err, want)
		}
	}
	if a, _ := explain(sso.ARN); a["principal"] != ssoRole {
		t.Errorf("sso principal %v, want %s", a["principal"], ssoRole)
	}

	step("a second run makes no change call")
	api.ResetCounts()
	if _, stderr, err := kubeiam("mappings", "migrate", "--eks", stack.ClusterID, "--region", "us-west-2"); err != nil || !strings.Contains(stderr, "nothing to change") {
		t.Errorf("second run: %v\n%s", err, stderr)
	}
	if n := api.ChangeCalls(); n != 0 {
		t.Errorf("second run made %d change calls", n)
	}

	step("EKS's answer: access entries first (the stand-in), aws-auth through the real authenticator; explain predicts it")
	// The entry of the user in both says something else than aws-auth now;
	// one user is in the access entries only.
	api.AddAccessEntry(ststest.AccountA, "us-west-2", stack.ClusterID, ststest.AccessEntry{PrincipalARN: both.ARN, Username: "entry-" + both.Name, Groups: []string{scenario.ViewGroup}})
	if _, _, err := kubeiam("mappings", "add", "--eks", stack.ClusterID, "--region", "us-west-2", "--user-arn", entryOnly.ARN, "--username", "entry-only",
		"--policy", "AmazonEKSViewPolicy=default"); err != nil {
		t.Fatal(err)
	}
	serverCA, err := stack.AuthenticatorCA()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(serverCA)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	authn := api.Authenticator(ststest.AccountA, "us-west-2", stack.ClusterID, func(body []byte) ([]byte, error) {
		resp, err := hc.Post(stack.AuthenticatorURL(), "application/json", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	})
	review := func(id ststest.Identity) (bool, string) {
		t.Helper()
		x := env.Token.Exec(stack.ClusterID, "")
		cmd := exec.CommandContext(ctx, stack.Bins.Kubeiam, append(x.Args, "--cache=none")...)
		cmd.Env = append(stack.ClientEnv(id), "HOME="+dir)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("token as %s: %v", id.Name, err)
		}
		var cred struct {
			Status struct{ Token string } `json:"status"`
		}
		if err := json.Unmarshal(out, &cred); err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{"apiVersion": "authentication.k8s.io/v1beta1", "kind": "TokenReview", "spec": map[string]string{"token": cred.Status.Token}})
		rec := httptest.NewRecorder()
		authn.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/authenticate", bytes.NewReader(body)))
		var tr struct {
			Status struct {
				Authenticated bool
				User          struct{ Username string }
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil {
			t.Fatalf("review as %s: %v: %s", id.Name, err, rec.Body.String())
		}
		fmt.Fprintf(env.Out, "  EKS answers %s: authenticated=%v username=%q\n", id.ARN, tr.Status.Authenticated, tr.Status.User.Username)
		return tr.Status.Authenticated, tr.Status.User.Username
	}
	for _, c := range []struct {
		id   ststest.Identity
		want string
	}{{entryOnly, "entry-only"}, {both, "entry-" + both.Name}, {sso, "sso:carol-example.com"}, {viewer, viewer.Name}, {nobody, ""}} {
		a, err := explain(c.id.ARN)
		mapped, got := review(c.id)
		if mapped != (c.want != "") || got != c.want {
			t.Errorf("%s: EKS answers %v %q, want %q", c.id.ARN, mapped, got, c.want)
		}
		if a["mapped"] != mapped || (mapped && a["username"] != got) || (mapped != (err == nil)) {
			t.Errorf("%s: explain says %v %v, EKS answers %v %q", c.id.ARN, a["mapped"], a["username"], mapped, got)
		}
	}
}
