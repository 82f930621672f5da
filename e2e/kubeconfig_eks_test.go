package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kubeiam/kubeiam/e2e/internal/scenario"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// TestEKSDiscover: the rig seen as an EKS cluster. An EKS API stand-in
// (SigV4-checked against the rig's STS identities) lists one cluster in
// us-west-2 whose name is the rig's cluster ID (a UUID, a valid EKS cluster
// name, as EKS uses the cluster name as the authenticator's cluster ID),
// whose endpoint is the rig's apiserver and whose CA is the rig's. `kubeiam
// kubeconfig discover` writes it from a profile; kubectl, through the
// written exec (`kubeiam token -i NAME --region R --profile P`), logs in to
// the real aws-iam-authenticator server as the profile's mapped user, even
// with another identity's keys in the environment. `kubeiam kubeconfig
// write --eks` for the same cluster writes the same cluster and exec.
func TestEKSDiscover(t *testing.T) {
	env, ctx := kubeiamEnv(t)
	step := func(format string, args ...any) { fmt.Fprintf(env.Out, "\n==> "+format+"\n", args...) }
	// show narrates a command and its output as the scenarios do.
	show := func(command string, outputs ...string) {
		fmt.Fprintf(env.Out, "  [dora] $ %s\n", command)
		for _, o := range outputs {
			for _, l := range strings.Split(strings.TrimRight(o, "\n"), "\n") {
				if l != "" {
					fmt.Fprintf(env.Out, "      %s\n", l)
				}
			}
		}
	}

	// An identity of this test's own, mapped next to the seed's, and one
	// nobody mapped whose keys sit in the environment as a decoy.
	dora := stack.STS.NewUser(ststest.AccountA, fresh("eks-dora"))
	decoy := stack.STS.NewUser(ststest.AccountA, fresh("eks-decoy"))
	users, roles := scenario.SeedMappings()
	users = append(users, scenario.Mapping{ARN: dora.ARN, Username: dora.Name, Groups: []string{scenario.ViewGroup}})
	if err := env.Install(ctx, users, roles); err != nil {
		t.Fatal(err)
	}

	step("an EKS API stand-in with one cluster: name %s (the rig's cluster ID), endpoint %s, the rig's CA", stack.ClusterID, stack.APIServerURL)
	caPEM, err := os.ReadFile(stack.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	api := ststest.NewEKS(stack.STS)
	cluster := api.AddCluster(ststest.EKSCluster{Account: ststest.AccountA, Region: "us-west-2", Name: stack.ClusterID,
		Endpoint: stack.APIServerURL, CAData: base64.StdEncoding.EncodeToString(caPEM)})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)

	step("profile eks-e2e holds dora's keys; the environment holds the unmapped %s's", decoy.Name)
	dir := t.TempDir()
	awsConfig := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(awsConfig, []byte("[profile eks-e2e]\nregion = us-west-2\naws_access_key_id = "+dora.AccessKeyID+
		"\naws_secret_access_key = "+dora.SecretAccessKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The written exec runs "kubeiam" from PATH; the token cache lives in
	// the test's HOME. Later entries win over ClientEnv's.
	cenv := append(stack.ClientEnv(decoy), "AWS_CONFIG_FILE="+awsConfig, "AWS_ENDPOINT_URL_EKS="+srv.URL,
		"PATH="+filepath.Dir(stack.Bins.Kubeiam)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+dir, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	kubeiam := func(args ...string) (string, string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, stack.Bins.Kubeiam, args...)
		cmd.Env = cenv
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		show(strings.ReplaceAll("kubeiam "+strings.Join(args, " "), dir, "$TMP"), stdout.String(), strings.ReplaceAll(stderr.String(), dir, "$TMP"))
		if err != nil {
			t.Fatalf("kubeiam %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String(), stderr.String()
	}

	step("kubeiam kubeconfig discover into a kubeconfig whose current-context is another cluster's")
	discovered := filepath.Join(dir, "config")
	if err := os.WriteFile(discovered, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://example.invalid\ncontexts:\n- name: other\n  context:\n    cluster: other\n    user: other\nusers:\n- name: other\n  user:\n    token: x\ncurrent-context: other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	table, _ := kubeiam("kubeconfig", "discover", "--profile", "eks-e2e", "--region", "us-west-2", "--kubeconfig", discovered)
	arn := cluster.ARN()
	row := strings.Join([]string{"eks-e2e", "us-west-2", stack.ClusterID, "1.31", "ACTIVE", arn}, " ")
	if !slices.ContainsFunc(strings.Split(table, "\n"), func(l string) bool { return strings.Join(strings.Fields(l), " ") == row }) {
		t.Errorf("discover table lacks the row %q:\n%s", row, table)
	}

	step("kubectl --context %s auth whoami: the discovered exec logs in as dora", arn)
	whoami := func(kubeconfig string, args ...string) {
		t.Helper()
		eventually(t, ctx, "whoami through "+filepath.Base(kubeconfig), func() error {
			res := stack.Kubectl(ctx, kubeconfig, cenv, "", append(args, "auth", "whoami", "-o", "json")...)
			show("kubectl "+strings.Join(res.Args, " "), res.Stdout, res.Stderr)
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
			if w.Status.UserInfo.Username != dora.Name {
				return fmt.Errorf("kubectl auth whoami: user %q, want %q", w.Status.UserInfo.Username, dora.Name)
			}
			return nil
		})
	}
	whoami(discovered, "--context", arn)
	if res := stack.Kubectl(ctx, discovered, nil, "", "config", "current-context"); strings.TrimSpace(res.Stdout) != "other" {
		t.Errorf("current-context after discover = %q %v, want other", res.Stdout, res.Err)
	}

	step("kubeiam kubeconfig write --eks %s: the same cluster and exec", stack.ClusterID)
	written := filepath.Join(dir, "written.kubeconfig")
	kubeiam("kubeconfig", "write", "--eks", stack.ClusterID, "--profile", "eks-e2e", "--region", "us-west-2", "--output", written)
	d, w := minified(t, discovered, arn), minified(t, written, arn)
	if !reflect.DeepEqual(d, w) {
		t.Errorf("discover and write --eks differ:\ndiscover: %+v\nwrite:    %+v", d, w)
	}
	wantArgs := []string{"token", "-i", stack.ClusterID, "--region", "us-west-2", "--profile", "eks-e2e"}
	if d.Server != stack.APIServerURL || d.CA != cluster.CAData || d.Command != "kubeiam" || !reflect.DeepEqual(d.Args, wantArgs) {
		t.Errorf("discovered entry = %+v, want server %s and exec kubeiam %v", d, stack.APIServerURL, wantArgs)
	}
	whoami(written)
}

// eksEntry is what a context's cluster and user say: server, CA and exec.
type eksEntry struct {
	Server, CA, Command string
	Args                []string
}

// minified reads context's cluster and user from kubeconfig through
// `kubectl config view --minify`.
func minified(t *testing.T, kubeconfig, context string) eksEntry {
	t.Helper()
	res := stack.Kubectl(t.Context(), kubeconfig, nil, "", "config", "view", "--raw", "--minify", "--context", context, "-o", "json")
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Stderr)
	}
	var v struct {
		Clusters []struct {
			Cluster struct {
				Server string `json:"server"`
				CA     string `json:"certificate-authority-data"`
			} `json:"cluster"`
		} `json:"clusters"`
		Users []struct {
			User struct {
				Exec struct {
					Command string   `json:"command"`
					Args    []string `json:"args"`
				} `json:"exec"`
			} `json:"user"`
		} `json:"users"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &v); err != nil || len(v.Clusters) != 1 || len(v.Users) != 1 {
		t.Fatalf("kubectl config view --minify --context %s: %v\n%s", context, err, res.Stdout)
	}
	c, u := v.Clusters[0].Cluster, v.Users[0].User.Exec
	return eksEntry{Server: c.Server, CA: c.CA, Command: u.Command, Args: u.Args}
}
