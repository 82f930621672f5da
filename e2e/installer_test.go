// The installer against the rig's real kube-apiserver and aws-iam-authenticator
// server: `kubeiam server install` from the seed's spec, a mapped user logs in
// with a kubeiam token through kubectl, a second install changes nothing,
// `server sync` grants and revokes access, and the refusals (immutable
// fields, foreign entries, field-manager conflicts) change nothing.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/e2e/internal/scenario"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// installerSpec is the scenarios' spec with the seed's role mapping and the
// given users, in region.
func installerSpec(region string, users []scenario.Mapping) string {
	_, roles := scenario.SeedMappings()
	return scenario.ClusterSpecYAMLIn(region, users, roles)
}

type kubeiamRun struct {
	stdout, stderr string
	err            error
	took           time.Duration
}

// kubeiam runs the built kubeiam (front + core) as the cluster admin.
func kubeiam(ctx context.Context, args ...string) kubeiamRun {
	cmd := exec.CommandContext(ctx, stack.Bins.Kubeiam, args...)
	cmd.Env = append(os.Environ(), "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	return kubeiamRun{out.String(), errb.String(), err, time.Since(start)}
}

func mustKubectl(t *testing.T, ctx context.Context, stdin string, args ...string) string {
	t.Helper()
	res := stack.Kubectl(ctx, stack.AdminKubeconfig, nil, stdin, args...)
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, res.Stderr)
	}
	return res.Stdout
}

func getJSON(t *testing.T, ctx context.Context, args ...string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(mustKubectl(t, ctx, "", append([]string{"get", "-o", "json"}, args...)...)), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func dig(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// whoamiAs runs `kubectl auth whoami` with a kubeiam token for id.
func whoamiAs(ctx context.Context, label string, id ststest.Identity) (user string, groups []string, err error) {
	x := scenario.Kubeiam(stack.Bins.Kubeiam).Exec(stack.ClusterID, "")
	kc, err := stack.UserKubeconfig("installer-"+label, &x)
	if err != nil {
		return "", nil, err
	}
	res := stack.Kubectl(ctx, kc, stack.ClientEnv(id), "", "auth", "whoami", "-o", "json")
	if res.Err != nil {
		return "", nil, fmt.Errorf("%w: %s", res.Err, res.Stderr)
	}
	var w struct {
		Status struct {
			UserInfo struct {
				Username string
				Groups   []string
			} `json:"userInfo"`
		}
	}
	if err := json.Unmarshal([]byte(res.Stdout), &w); err != nil {
		return "", nil, err
	}
	return w.Status.UserInfo.Username, w.Status.UserInfo.Groups, nil
}

// eventually retries for the authenticator's informer and the apiserver's
// webhook cache (~10 s per token) to catch up.
func eventually(t *testing.T, ctx context.Context, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	start := time.Now()
	for {
		err := check()
		if err == nil {
			t.Logf("%s after %s", what, time.Since(start).Round(100*time.Millisecond))
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(2 * time.Second)
	}
}

// TestInstaller_InstallSync starts from a cluster the installer has not
// touched, so it must run before the tests that call env.Install (Go runs
// a package's test files in name order: bundle_, installer_, kubeconfig_…;
// tests that install go in files named after installer_, e.g. mappings_).
func TestInstaller_InstallSync(t *testing.T) {
	if kubeiamSkip != "" {
		t.Skip(kubeiamSkip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dir := t.TempDir()
	specFile := filepath.Join(dir, "eksa-cluster.yaml")
	admin := stack.AdminKubeconfig
	alice := scenario.Mapping{ARN: "arn:aws:iam::" + ststest.AccountA + ":user/" + scenario.SeedUser, Username: scenario.SeedUser, Groups: []string{scenario.ViewGroup}}
	write := func(region string, users ...scenario.Mapping) {
		if err := os.WriteFile(specFile, []byte(installerSpec(region, users)), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The cluster already has an ID, as an EKS-A cluster (or this rig's
	// authenticator) does: install must keep it, never make a new one.
	mustKubectl(t, ctx, "", "-n", "kube-system", "create", "configmap", "aws-iam-authenticator", "--from-literal=config.yaml=clusterID: "+stack.ClusterID+"\n")

	write("us-west-2", alice)
	// Validation happens before anything is written.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(installerSpec("us-west-2", []scenario.Mapping{alice}), "EKSConfigMap", "MountedFile", 1)), 0o644)
	if r := kubeiam(ctx, "server", "install", "-f", bad, "--kubeconfig", admin, "--image", scenario.ServerImage, "--wait=false"); r.err == nil || !strings.Contains(r.stderr, "MountedFile is not supported") {
		t.Fatalf("invalid spec: err %v\n%s", r.err, r.stderr)
	}
	if res := stack.Kubectl(ctx, admin, nil, "", "-n", "kube-system", "get", "daemonset", "aws-iam-authenticator"); res.Err == nil {
		t.Fatal("an invalid spec created the DaemonSet")
	}

	// --dry-run shows the objects and writes nothing.
	r := kubeiam(ctx, "server", "install", "-f", specFile, "--kubeconfig", admin, "--image", scenario.ServerImage, "--dry-run")
	if r.err != nil || !strings.Contains(r.stdout, "--backend-mode=EKSConfigMap") || !strings.Contains(r.stderr, "would change 8 of 8 objects") {
		t.Fatalf("dry run: %v\nstdout:\n%s\nstderr:\n%s", r.err, r.stdout, r.stderr)
	}
	if res := stack.Kubectl(ctx, admin, nil, "", "-n", "kube-system", "get", "configmap", "aws-auth"); res.Err == nil {
		t.Fatal("--dry-run created aws-auth")
	}

	// Install. The rig has no kubelet or DaemonSet controller, so the
	// rollout wait is proven separately below.
	r = kubeiam(ctx, "server", "install", "-f", specFile, "--kubeconfig", admin, "--image", scenario.ServerImage, "--wait=false")
	if r.err != nil {
		t.Fatalf("install: %v\n%s", r.err, r.stderr)
	}
	t.Logf("install took %s:\n%s", r.took.Round(time.Millisecond), r.stderr)
	if !strings.Contains(r.stderr, "cluster ID "+stack.ClusterID+", kept") {
		t.Errorf("install did not report keeping the cluster ID:\n%s", r.stderr)
	}

	cm := getJSON(t, ctx, "-n", "kube-system", "configmap", "aws-iam-authenticator")
	if got := dig(cm, "data", "config.yaml"); got != "clusterID: "+stack.ClusterID+"\n" {
		t.Errorf("config.yaml = %q", got)
	}
	ds := getJSON(t, ctx, "-n", "kube-system", "daemonset", "aws-iam-authenticator")
	c0 := dig(ds, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
	if args := fmt.Sprint(c0["args"]); !strings.Contains(args, "--backend-mode=EKSConfigMap --partition=aws --config=/etc/aws-iam-authenticator/config.yaml") || c0["image"] != scenario.ServerImage {
		t.Errorf("DaemonSet container: args %s image %v", args, c0["image"])
	}
	if dig(ds, "spec", "template", "spec", "hostNetwork") != true || dig(ds, "spec", "template", "spec", "securityContext", "runAsUser") != float64(65532) {
		t.Errorf("DaemonSet pod spec: %v", dig(ds, "spec", "template", "spec"))
	}
	sec := getJSON(t, ctx, "-n", "eksa-system", "secret", "e2e-aws-iam-authenticator-ca")
	if dig(sec, "data", "cert.pem") == nil || dig(sec, "data", "key.pem") == nil {
		t.Errorf("CA secret data: %v", dig(sec, "data"))
	}
	auth := getJSON(t, ctx, "--show-managed-fields", "-n", "kube-system", "configmap", "aws-auth")
	if mf := fmt.Sprint(dig(auth, "metadata", "managedFields")); !strings.Contains(mf, "manager:kubeiam") || !strings.Contains(mf, "operation:Apply") {
		t.Errorf("aws-auth managed fields: %s", mf)
	}
	for _, kind := range []string{"clusterrole", "clusterrolebinding"} {
		mustKubectl(t, ctx, "", "get", kind, "aws-iam-authenticator")
	}
	mustKubectl(t, ctx, "", "-n", "kube-system", "get", "serviceaccount", "aws-iam-authenticator")

	// The mapped user gets in with a kubeiam token: the rig's authenticator
	// server reads the aws-auth that install wrote.
	eventually(t, ctx, "alice mapped by install", func() error {
		u, g, err := whoamiAs(ctx, "alice", stack.STS.Identity(scenario.SeedUser))
		if err == nil && (u != scenario.SeedUser || !slices.Contains(g, scenario.ViewGroup)) {
			err = fmt.Errorf("whoami = %s %v", u, g)
		}
		return err
	})

	// A second install changes nothing and says so; the CA is the same.
	rv := func() string {
		var b strings.Builder
		for _, o := range [][]string{{"-n", "kube-system", "configmap", "aws-auth"}, {"-n", "kube-system", "configmap", "aws-iam-authenticator"},
			{"-n", "kube-system", "daemonset", "aws-iam-authenticator"}, {"-n", "eksa-system", "secret", "e2e-aws-iam-authenticator-ca"}, {"clusterrole", "aws-iam-authenticator"}} {
			b.WriteString(fmt.Sprint(dig(getJSON(t, ctx, o...), "metadata", "resourceVersion")) + " ")
		}
		return b.String()
	}
	before := rv()
	r = kubeiam(ctx, "server", "install", "-f", specFile, "--kubeconfig", admin, "--image", scenario.ServerImage, "--wait=false")
	if r.err != nil || !strings.Contains(r.stderr, "no change: all 8 objects are as the spec says") {
		t.Fatalf("second install: %v\n%s", r.err, r.stderr)
	}
	t.Logf("second install (no change) took %s", r.took.Round(time.Millisecond))
	if after := rv(); after != before {
		t.Errorf("second install changed resourceVersions: %s → %s", before, after)
	}
	if got := dig(getJSON(t, ctx, "-n", "eksa-system", "secret", "e2e-aws-iam-authenticator-ca"), "data", "cert.pem"); got != dig(sec, "data", "cert.pem") {
		t.Error("second install replaced the CA")
	}

	// Sync: a new user is denied, added to the spec, synced, gets in.
	name := fmt.Sprintf("erin-%d", time.Now().UnixNano()%100000)
	erin := stack.STS.NewUser(ststest.AccountA, name)
	if _, _, err := whoamiAs(ctx, name, erin); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("%s before sync: %v, want Unauthorized", name, err)
	}
	em := scenario.Mapping{ARN: erin.ARN, Username: name, Groups: []string{scenario.ViewGroup}}
	write("us-west-2", alice, em)
	r = kubeiam(ctx, "server", "sync", "-f", specFile, "--kubeconfig", admin, "--dry-run")
	if r.err != nil || !strings.Contains(r.stderr, "  + user "+erin.ARN+" → "+name+" ["+scenario.ViewGroup+"]") {
		t.Fatalf("sync --dry-run: %v\n%s", r.err, r.stderr)
	}
	if strings.Contains(fmt.Sprint(dig(getJSON(t, ctx, "-n", "kube-system", "configmap", "aws-auth"), "data")), name) {
		t.Fatal("sync --dry-run wrote aws-auth")
	}
	r = kubeiam(ctx, "server", "sync", "-f", specFile, "--kubeconfig", admin)
	if r.err != nil || !strings.Contains(r.stderr, "changed 1 of 1 objects") {
		t.Fatalf("sync: %v\n%s", r.err, r.stderr)
	}
	t.Logf("sync took %s:\n%s", r.took.Round(time.Millisecond), r.stderr)
	synced := time.Now()
	eventually(t, ctx, name+" mapped by sync", func() error {
		u, _, err := whoamiAs(ctx, name, erin)
		if err == nil && u != name {
			err = fmt.Errorf("whoami = %s", u)
		}
		return err
	})
	t.Logf("sync → access: %s", time.Since(synced).Round(100*time.Millisecond))

	// Refusals change nothing. An immutable field:
	write("eu-west-1", alice, em)
	r = kubeiam(ctx, "server", "sync", "-f", specFile, "--kubeconfig", admin)
	if r.err == nil || !strings.Contains(r.stderr, `spec.awsRegion: Forbidden: field is immutable (installed "us-west-2", spec "eu-west-1")`) {
		t.Fatalf("region change: %v\n%s", r.err, r.stderr)
	}
	// An entry someone else added (a node role, by kubectl patch, which
	// also takes over the mapRoles field):
	cur := dig(getJSON(t, ctx, "-n", "kube-system", "configmap", "aws-auth"), "data", "mapRoles").(string)
	node := "arn:aws:iam::" + ststest.AccountA + ":role/NodeInstanceRole"
	patch, _ := json.Marshal(map[string]any{"data": map[string]string{"mapRoles": cur + "- rolearn: " + node + "\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n"}})
	mustKubectl(t, ctx, "", "-n", "kube-system", "patch", "configmap", "aws-auth", "--type=merge", "-p", string(patch))
	write("us-west-2", alice)
	r = kubeiam(ctx, "server", "sync", "-f", specFile, "--kubeconfig", admin)
	if r.err == nil || !strings.Contains(r.stderr, "aws-auth has 1 entry kubeiam did not write") || !strings.Contains(r.stderr, node) {
		t.Fatalf("foreign entry: %v\n%s", r.err, r.stderr)
	}
	// --prune alone meets the field-manager conflict kubectl patch made.
	r = kubeiam(ctx, "server", "sync", "-f", specFile, "--kubeconfig", admin, "--prune")
	if r.err == nil || !strings.Contains(r.stderr, "conflict") || !strings.Contains(r.stderr, "hint: another field manager owns these fields; rerun with --force-conflicts") {
		t.Fatalf("conflict: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(fmt.Sprint(dig(getJSON(t, ctx, "-n", "kube-system", "configmap", "aws-auth"), "data")), node) {
		t.Fatal("a refused sync changed aws-auth")
	}
	r = kubeiam(ctx, "server", "sync", "-f", specFile, "--kubeconfig", admin, "--prune", "--force-conflicts")
	if r.err != nil || !strings.Contains(r.stderr, "  - user "+erin.ARN) || !strings.Contains(r.stderr, "  - role "+node) {
		t.Fatalf("sync --prune --force-conflicts: %v\n%s", r.err, r.stderr)
	}
	eventually(t, ctx, name+" unmapped by sync", func() error {
		_, _, err := whoamiAs(ctx, name, erin)
		if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
			return fmt.Errorf("whoami: %v, want Unauthorized", err)
		}
		return nil
	})

	write("us-west-2", alice)
	if stack.Node != "" {
		// The rollout wait, against the real node: the DaemonSet's pod
		// runs and install sees it.
		r = kubeiam(ctx, "server", "install", "-f", specFile, "--kubeconfig", admin, "--timeout", "2m")
		if r.err != nil || !strings.Contains(r.stderr, "rollout: 1 of 1 updated, 1 available") {
			t.Fatalf("wait for the DaemonSet on the node: %v\n%s", r.err, r.stderr)
		}
		return
	}
	// The rollout wait, against the real API: with no controller the
	// DaemonSet is never observed, so the wait times out and says why;
	// once the status says the pods run (written here as the controller
	// would), install waits successfully.
	r = kubeiam(ctx, "server", "install", "-f", specFile, "--kubeconfig", admin, "--timeout", "3s")
	if r.err == nil || !strings.Contains(r.stderr, "waiting for the DaemonSet controller to see the new spec") || !strings.Contains(r.stderr, "hint: kubectl -n kube-system describe daemonset aws-iam-authenticator") {
		t.Fatalf("wait without controller: %v\n%s", r.err, r.stderr)
	}
	gen := dig(getJSON(t, ctx, "-n", "kube-system", "daemonset", "aws-iam-authenticator"), "metadata", "generation")
	status, _ := json.Marshal(map[string]any{"status": map[string]any{"observedGeneration": gen, "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
		"updatedNumberScheduled": 1, "numberAvailable": 1, "numberReady": 1, "numberMisscheduled": 0}})
	mustKubectl(t, ctx, "", "-n", "kube-system", "patch", "daemonset", "aws-iam-authenticator", "--subresource=status", "--type=merge", "-p", string(status))
	r = kubeiam(ctx, "server", "install", "-f", specFile, "--kubeconfig", admin, "--timeout", "20s")
	if r.err != nil || !strings.Contains(r.stderr, "rollout: 1 of 1 updated, 1 available") {
		t.Fatalf("wait with a rolled-out DaemonSet: %v\n%s", r.err, r.stderr)
	}
}
