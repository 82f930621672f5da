package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeiam/kubeiam/e2e/internal/scenario"
)

// TestKubeconfigWrite: the kubeconfig manager against the real apiserver.
// `kubeiam kubeconfig write` in an EKS Anywhere layout reads the cluster ID
// from the cluster's ConfigMap through the admin kubeconfig, writes
// NAME/NAME-aws.kubeconfig, and kubectl logs in through it as the mapped
// IAM user; a merge into another kubeconfig works the same way.
func TestKubeconfigWrite(t *testing.T) {
	env, ctx := kubeiamEnv(t)
	users, roles := scenario.SeedMappings()
	if err := env.Install(ctx, users, roles); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const cluster = "e2ecl"
	admin, err := os.ReadFile(stack.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, cluster), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, cluster, cluster+"-eks-a-cluster.kubeconfig"), admin, 0o600); err != nil {
		t.Fatal(err)
	}
	kubeiam := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, stack.Bins.Kubeiam, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+dir, "KUBECONFIG=", "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubeiam %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	kubeiam("kubeconfig", "write", "--cluster", cluster, "--exec-absolute")
	userKC := filepath.Join(dir, cluster, cluster+"-aws.kubeconfig")
	fi, err := os.Stat(userKC)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", userKC, fi.Mode().Perm())
	}
	b, _ := os.ReadFile(userKC)
	if !strings.Contains(string(b), stack.ClusterID) || !strings.Contains(string(b), stack.Bins.Kubeiam) {
		t.Errorf("the kubeconfig lacks the cluster ID read from the cluster or the kubeiam path:\n%s", b)
	}

	alice := stack.STS.Identity(scenario.SeedUser)
	whoami := func(kubeconfig string, extra ...string) string {
		t.Helper()
		res := stack.Kubectl(ctx, kubeconfig, stack.ClientEnv(alice), "", append(extra, "auth", "whoami", "-o", "json")...)
		if res.Err != nil {
			t.Fatalf("%v\n%s", res.Err, res.Stderr)
		}
		var w struct {
			Status struct {
				UserInfo struct{ Username string } `json:"userInfo"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &w); err != nil {
			t.Fatal(err)
		}
		return w.Status.UserInfo.Username
	}
	if got := whoami(userKC); got != scenario.SeedUser {
		t.Errorf("whoami through the written kubeconfig = %q, want %q", got, scenario.SeedUser)
	}

	// Merge into an existing kubeconfig that has another context; it stays.
	merged := filepath.Join(dir, "config")
	if err := os.WriteFile(merged, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://example.invalid\ncontexts:\n- name: other\n  context:\n    cluster: other\n    user: other\nusers:\n- name: other\n  user:\n    token: x\ncurrent-context: other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kubeiam("kubeconfig", "write", "--cluster", cluster, "--exec-absolute", "--merge", "--kubeconfig", merged)
	if got := whoami(merged, "--context", cluster+"-aws"); got != scenario.SeedUser {
		t.Errorf("whoami through the merged kubeconfig = %q", got)
	}
	res := stack.Kubectl(ctx, merged, nil, "", "config", "get-contexts", "-o", "name")
	if res.Err != nil || !strings.Contains(res.Stdout, "other\n") || !strings.Contains(res.Stdout, cluster+"-aws\n") {
		t.Errorf("contexts after merge: %v %q", res.Err, res.Stdout)
	}
	if _, err := os.Stat(merged + ".lock"); !os.IsNotExist(err) {
		t.Error("a lock file was left behind")
	}

	// A context per terminal: `kubeiam shell` logs in as the context's
	// user while the file's current-context ("other", a cluster that does
	// not exist) stays what every other terminal sees.
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	sh := exec.CommandContext(ctx, stack.Bins.Kubeiam, "shell", cluster+"-aws", "--", stack.Bins.Kubectl, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	sh.Env = append(stack.ClientEnv(alice), "KUBECONFIG="+merged, "XDG_RUNTIME_DIR="+run, "HOME="+dir, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	out, err := sh.Output()
	if err != nil || string(out) != scenario.SeedUser {
		t.Errorf("kubeiam shell %s-aws -- kubectl auth whoami = %q, %v; want %q", cluster, out, err, scenario.SeedUser)
	}
	if res := stack.Kubectl(ctx, merged, nil, "", "config", "current-context"); strings.TrimSpace(res.Stdout) != "other" {
		t.Errorf("another terminal's current-context = %q %v, want other", res.Stdout, res.Err)
	}
	if left, _ := os.ReadDir(filepath.Join(run, "kubeiam")); len(left) != 0 {
		t.Errorf("private kubeconfig left behind: %v", left)
	}
}
