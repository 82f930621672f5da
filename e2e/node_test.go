// The authenticator as kubeiam installs it: the DaemonSet from `kubeiam
// server install` running on the rig's node (containerd, kubelet,
// kube-scheduler, kube-controller-manager), with the files `kubeiam server
// init` wrote on its hostPath mounts and kube-apiserver wired by init's
// flags. Logins here go through that pod, not a harness process.
package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/e2e/internal/rig"
	"github.com/kubeiam/kubeiam/e2e/internal/scenario"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// requireNode skips when the rig runs without a node, saying why; in CI
// (KUBEIAM_TEST_PEERS=1) a node that could not start fails instead.
func requireNode(t *testing.T) {
	t.Helper()
	if stack.Node != "" {
		return
	}
	if os.Getenv("KUBEIAM_TEST_PEERS") == "1" {
		t.Fatalf("the rig has no node: %s", stack.NodeSkip)
	}
	t.Skip("the rig has no node: " + stack.NodeSkip)
}

// waitArgs are install's rollout flags: with a node, install waits for the
// DaemonSet (the next login needs its pod); without one nothing runs it.
func waitArgs() []string {
	if stack.Node != "" {
		return []string{"--wait", "--timeout=2m"}
	}
	return []string{"--wait=false"}
}

// serverPod returns the authenticator's one live pod once it is Running
// and ready.
func serverPod(t *testing.T, ctx context.Context) map[string]any {
	t.Helper()
	var pod map[string]any
	eventually(t, ctx, "the authenticator pod Running", func() error {
		l := getJSON(t, ctx, "-n", "kube-system", "pods", "-l", "k8s-app=aws-iam-authenticator")
		var live []map[string]any
		for _, it := range l["items"].([]any) {
			p := it.(map[string]any)
			if dig(p, "metadata", "deletionTimestamp") == nil {
				live = append(live, p)
			}
		}
		if len(live) != 1 {
			return fmt.Errorf("%d live pods", len(live))
		}
		p := live[0]
		if dig(p, "status", "phase") != "Running" {
			return fmt.Errorf("pod %s is %v", dig(p, "metadata", "name"), dig(p, "status", "phase"))
		}
		cs, _ := dig(p, "status", "containerStatuses").([]any)
		if len(cs) != 1 || cs[0].(map[string]any)["ready"] != true {
			return fmt.Errorf("pod %s not ready: %v", dig(p, "metadata", "name"), cs)
		}
		pod = p
		return nil
	})
	return pod
}

func podLog(t *testing.T, ctx context.Context, pod map[string]any) string {
	t.Helper()
	return mustKubectl(t, ctx, "", "-n", "kube-system", "logs", dig(pod, "metadata", "name").(string))
}

// renderedContainer is the DaemonSet's container as `kubeiam server
// manifests` renders it for spec.
func renderedContainer(t *testing.T, ctx context.Context, spec, image string) map[string]any {
	t.Helper()
	r := kubeiam(ctx, "server", "manifests", "-f", spec, "--image", image, "--cluster-id", stack.ClusterID, "-o", "json")
	if r.err != nil {
		t.Fatalf("manifests: %v\n%s", r.err, r.stderr)
	}
	var l struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatal(err)
	}
	for _, it := range l.Items {
		if it["kind"] == "DaemonSet" {
			return dig(it, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
		}
	}
	t.Fatal("manifests printed no DaemonSet")
	return nil
}

// hostProcessArgs finds the server's process on this machine (containers
// are processes here) and returns its command line.
func hostProcessArgs(t *testing.T) [][]string {
	t.Helper()
	var found [][]string
	es, _ := os.ReadDir("/proc")
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if args[0] == "/aws-iam-authenticator" {
			found = append(found, args)
		}
	}
	return found
}

// TestNode_DaemonSetIsTheServer: after `kubeiam server install` the
// DaemonSet's pod runs on the node with exactly the rendered arguments and
// image, serves the certificate `server init` wrote, and is what admits the
// mapped user and refuses an unmapped one.
func TestNode_DaemonSetIsTheServer(t *testing.T) {
	env, ctx := kubeiamEnv(t)
	requireNode(t)
	users, roles := scenario.SeedMappings()
	if err := env.Install(ctx, users, roles); err != nil {
		t.Fatal(err)
	}
	pod := serverPod(t, ctx)
	if got := dig(pod, "spec", "nodeName"); got != stack.Node {
		t.Errorf("pod on node %v, want %s", got, stack.Node)
	}
	c := dig(pod, "spec", "containers").([]any)[0].(map[string]any)
	want := renderedContainer(t, ctx, env.SpecFile(), scenario.ServerImage)
	if fmt.Sprint(c["args"]) != fmt.Sprint(want["args"]) || c["image"] != want["image"] {
		t.Errorf("pod container args %v image %v;\nrendered args %v image %v", c["args"], c["image"], want["args"], want["image"])
	}
	// The rendered pod names no pull policy; the API defaults a tagged
	// image to IfNotPresent, which is what lets the node use the imported
	// image with no registry.
	if c["imagePullPolicy"] != "IfNotPresent" {
		t.Errorf("imagePullPolicy %v", c["imagePullPolicy"])
	}
	procs := hostProcessArgs(t)
	if len(procs) != 1 || fmt.Sprint(procs[0][1:]) != fmt.Sprint(want["args"]) {
		t.Errorf("server processes on the host: %v, want one with args %v", procs, want["args"])
	}
	t.Logf("pod %s on %s: /aws-iam-authenticator %s", dig(pod, "metadata", "name"), stack.Node, strings.Join(procs[0][1:], " "))

	// The webhook's TLS peer is the certificate server init wrote, read
	// by the pod from its hostPath.
	initCert, err := os.ReadFile(filepath.Join(rig.InitDir, "pki", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", "127.0.0.1:21362", &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("dial the server: %v", err)
	}
	peer := conn.ConnectionState().PeerCertificates[0].Raw
	conn.Close()
	if blk, _ := pem.Decode(initCert); blk == nil || string(blk.Bytes) != string(peer) {
		t.Error("the server does not serve the certificate server init wrote")
	}
	for _, f := range []string{"--authentication-token-webhook-config-file=" + filepath.Join(rig.InitDir, "kubeconfig.yaml")} {
		if !slices.Contains(stack.APIServerFlags, f) {
			t.Errorf("apiserver flags from server init %v lack %s", stack.APIServerFlags, f)
		}
	}

	alice := stack.STS.Identity(scenario.SeedUser)
	eventually(t, ctx, "alice admitted", func() error {
		u, g, err := whoamiAs(ctx, "node-alice", alice)
		if err == nil && (u != scenario.SeedUser || !slices.Contains(g, scenario.ViewGroup)) {
			err = fmt.Errorf("whoami = %s %v", u, g)
		}
		return err
	})
	if _, _, err := whoamiAs(ctx, "node-mallory", stack.STS.Identity("mallory")); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("unmapped mallory: %v, want Unauthorized", err)
	}
	// The pod's own log has both answers: it is the server that decided.
	logs := podLog(t, ctx, pod)
	if !strings.Contains(logs, "access granted") || !strings.Contains(logs, alice.ARN) {
		t.Errorf("the pod's log has no grant for %s:\n%s", alice.ARN, logs)
	}
	if mallory := stack.STS.Identity("mallory"); !strings.Contains(logs, mallory.ARN) {
		t.Errorf("the pod's log has no denial for %s:\n%s", mallory.ARN, logs)
	}
}

// TestNode_SyncReachesThePod: a mapping added with `kubeiam server sync`
// admits its user through the same running pod (no restart), and removing
// it refuses them again.
func TestNode_SyncReachesThePod(t *testing.T) {
	_, ctx := kubeiamEnv(t)
	requireNode(t)
	spec := guardSpec(t, nil, []scenario.Mapping{{ARN: scenario.AdminRoleARN, Username: "node-admin", Groups: []string{"system:masters"}}})
	resetTo(t, ctx, spec)
	before := serverPod(t, ctx)
	name := fresh("frank")
	frank := stack.STS.NewUser(ststest.AccountA, name)
	if _, _, err := whoamiAs(ctx, name, frank); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("%s before sync: %v, want Unauthorized", name, err)
	}
	rewriteSpec(t, spec, []scenario.Mapping{{ARN: frank.ARN, Username: name, Groups: []string{scenario.ViewGroup}}},
		[]scenario.Mapping{{ARN: scenario.AdminRoleARN, Username: "node-admin", Groups: []string{"system:masters"}}})
	if r := kubeiam(ctx, "server", "sync", "-f", spec, "--kubeconfig", stack.AdminKubeconfig); r.err != nil {
		t.Fatalf("sync: %v\n%s", r.err, r.stderr)
	}
	synced := time.Now()
	eventually(t, ctx, name+" admitted after sync", func() error {
		u, _, err := whoamiAs(ctx, name, frank)
		if err == nil && u != name {
			err = fmt.Errorf("whoami = %s", u)
		}
		return err
	})
	t.Logf("server sync → the pod admits %s: %s", name, time.Since(synced).Round(100*time.Millisecond))
	after := serverPod(t, ctx)
	if dig(after, "metadata", "uid") != dig(before, "metadata", "uid") {
		t.Error("the pod was replaced; the change should reach the running server")
	}
	if logs := podLog(t, ctx, after); !strings.Contains(logs, frank.ARN) {
		t.Errorf("the pod's log has nothing of %s", frank.ARN)
	}
	rewriteSpec(t, spec, nil, []scenario.Mapping{{ARN: scenario.AdminRoleARN, Username: "node-admin", Groups: []string{"system:masters"}}})
	if r := kubeiam(ctx, "server", "sync", "-f", spec, "--kubeconfig", stack.AdminKubeconfig); r.err != nil {
		t.Fatalf("sync: %v\n%s", r.err, r.stderr)
	}
	eventually(t, ctx, name+" refused after unmapping", func() error {
		if _, _, err := whoamiAs(ctx, name, frank); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
			return fmt.Errorf("whoami: %v, want Unauthorized", err)
		}
		return nil
	})
}

// TestNode_PodRecreated: a deleted server pod is replaced by the
// DaemonSet, and logins work again through the new one.
func TestNode_PodRecreated(t *testing.T) {
	_, ctx := kubeiamEnv(t)
	requireNode(t)
	spec := guardSpec(t, []scenario.Mapping{{ARN: stack.STS.Identity(scenario.SeedUser).ARN, Username: scenario.SeedUser, Groups: []string{scenario.ViewGroup}}},
		[]scenario.Mapping{{ARN: scenario.AdminRoleARN, Username: "node-admin", Groups: []string{"system:masters"}}})
	resetTo(t, ctx, spec)
	old := serverPod(t, ctx)
	mustKubectl(t, ctx, "", "-n", "kube-system", "delete", "pod", dig(old, "metadata", "name").(string), "--grace-period=1")
	deleted := time.Now()
	pod := serverPod(t, ctx)
	if dig(pod, "metadata", "uid") == dig(old, "metadata", "uid") {
		t.Fatal("the same pod is still there")
	}
	t.Logf("pod %s replaced by %s in %s", dig(old, "metadata", "name"), dig(pod, "metadata", "name"), time.Since(deleted).Round(100*time.Millisecond))
	alice := stack.STS.Identity(scenario.SeedUser)
	eventually(t, ctx, "alice admitted by the new pod", func() error {
		u, _, err := whoamiAs(ctx, "node-recreated-alice", alice)
		if err == nil && u != scenario.SeedUser {
			err = fmt.Errorf("whoami = %s", u)
		}
		return err
	})
	if logs := podLog(t, ctx, pod); !strings.Contains(logs, alice.ARN) {
		t.Errorf("the new pod's log has no grant for %s", alice.ARN)
	}
}

// TestNode_CrashLoopReported: a server that cannot start (key.pem not
// readable by its user, the crash users hit) makes `server install --wait`
// fail within its timeout, quoting the pod's last log line; once fixed,
// the DaemonSet serves again.
func TestNode_CrashLoopReported(t *testing.T) {
	_, ctx := kubeiamEnv(t)
	requireNode(t)
	spec := guardSpec(t, []scenario.Mapping{{ARN: stack.STS.Identity(scenario.SeedUser).ARN, Username: scenario.SeedUser, Groups: []string{scenario.ViewGroup}}},
		[]scenario.Mapping{{ARN: scenario.AdminRoleARN, Username: "node-admin", Groups: []string{"system:masters"}}})
	resetTo(t, ctx, spec)
	key := filepath.Join(rig.InitDir, "pki", "key.pem")
	restore := func() {
		if err := os.Chown(key, 65532, 65532); err != nil {
			t.Error(err)
		}
	}
	if err := os.Chown(key, 0, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		restore()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		stack.Kubectl(ctx, stack.AdminKubeconfig, nil, "", "-n", "kube-system", "delete", "pods", "-l", "k8s-app=aws-iam-authenticator", "--grace-period=1")
		if r := kubeiam(ctx, "server", "install", "-f", spec, "--kubeconfig", stack.AdminKubeconfig, "--timeout=2m"); r.err != nil {
			t.Errorf("the DaemonSet did not recover: %v\n%s", r.err, r.stderr)
		}
	})
	old := serverPod(t, ctx)
	mustKubectl(t, ctx, "", "-n", "kube-system", "delete", "pod", dig(old, "metadata", "name").(string), "--grace-period=1")
	const timeout = 90 * time.Second
	r := kubeiam(ctx, "server", "install", "-f", spec, "--kubeconfig", stack.AdminKubeconfig, "--timeout", timeout.String())
	t.Logf("install --wait on a crash-looping server, after %s:\n%s", r.took.Round(100*time.Millisecond), r.stderr)
	if r.err == nil {
		out, _ := exec.Command("ls", "-ln", filepath.Dir(key)).CombinedOutput()
		t.Logf("%s\npods:\n%s", out, stack.Kubectl(ctx, stack.AdminKubeconfig, nil, "", "-n", "kube-system", "logs", "-l", "k8s-app=aws-iam-authenticator", "--tail=5").Stdout)
	}
	if r.err == nil || !strings.Contains(r.stderr, "is crash-looping") || !strings.Contains(r.stderr, "key.pem: permission denied") ||
		!strings.Contains(r.stderr, "hint: kubectl -n kube-system logs aws-iam-authenticator-") {
		t.Fatalf("install over a crash loop: %v\n%s", r.err, r.stderr)
	}
	if r.took >= timeout {
		t.Errorf("reported after %s, not within the %s timeout", r.took, timeout)
	}
}
