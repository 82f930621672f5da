// The seed's `backendMode: [CRD]` against the rig's real kube-apiserver and
// aws-iam-authenticator v0.7.2 server, restarted with the spec's backend
// modes and with only the RBAC `kubeiam server install` gives its
// ServiceAccount: a user mapped only by an IAMIdentityMapping gets in after
// `server sync --wait` and is Unauthorized once removed; with [CRD,
// EKSConfigMap] and one ARN mapped to different user names in the two
// backends, the CRD's wins and `mappings explain --kubeconfig` says so
// before kubectl does. The test puts the shared stack back (EKSConfigMap
// server, seed spec installed) when it ends.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/e2e/internal/rig"
	"github.com/kubeiam/kubeiam/e2e/internal/scenario"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// serverAccount is the user the restarted server's API client
// impersonates: the ServiceAccount install binds the ClusterRole to.
const serverAccount = "system:serviceaccount:kube-system:aws-iam-authenticator"

// modeSpec is the scenarios' spec with backendMode set to modes.
func modeSpec(t *testing.T, path string, modes []string, users, roles []scenario.Mapping) string {
	t.Helper()
	s := scenario.ClusterSpecYAML(users, roles)
	list := ""
	for _, m := range modes {
		list += "    - " + m + "\n"
	}
	s = strings.Replace(s, "    - EKSConfigMap\n", list, 1)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// useModes runs the rig's server with modes and the installed RBAC (the
// rig's process plays the DaemonSet's part). The stack is put back when
// the test ends.
func useModes(t *testing.T, ctx context.Context, modes ...string) {
	t.Helper()
	if err := stack.RestartAuthenticator(ctx, rig.AuthenticatorOptions{BackendModes: modes, As: serverAccount}); err != nil {
		t.Fatal(err)
	}
}

// restoreStack puts back what the other tests expect: the server in
// EKSConfigMap mode and the seed spec installed, kubeiam owning aws-auth.
func restoreStack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := stack.RestartAuthenticator(ctx, rig.AuthenticatorOptions{}); err != nil {
		t.Errorf("restore: %v", err)
	}
	stack.Kubectl(ctx, stack.AdminKubeconfig, nil, "", "-n", "kube-system", "delete", "daemonset", "aws-iam-authenticator", "--ignore-not-found")
	stack.Kubectl(ctx, stack.AdminKubeconfig, nil, "", "delete", "iamidentitymappings", "--all")
	users, roles := scenario.SeedMappings()
	dir, err := os.MkdirTemp("", "kubeiam-e2e-restore-")
	if err != nil {
		t.Errorf("restore: %v", err)
		return
	}
	defer os.RemoveAll(dir)
	spec := modeSpec(t, filepath.Join(dir, "restore.yaml"), []string{"EKSConfigMap"}, users, roles)
	if r := kubeiam(ctx, "server", "install", "-f", spec, "--kubeconfig", stack.AdminKubeconfig, "--cluster-id", stack.ClusterID,
		"--image", scenario.ServerImage, "--wait=false", "--prune", "--force-conflicts", "--allow-lockout"); r.err != nil {
		t.Errorf("restore: %v\n%s", r.err, r.stderr)
	}
	nudgeConfigMaps(ctx)
}

// nudgeConfigMaps writes a ConfigMap: on this rig (Debian's etcd 3.4 under
// kube-apiserver 1.34) a freshly started server may not load aws-auth
// until some ConfigMap is written ("Too large resource version").
func nudgeConfigMaps(ctx context.Context) {
	name := fresh("e2e-nudge")
	stack.Kubectl(ctx, stack.AdminKubeconfig, nil, "", "-n", "default", "create", "configmap", name)
	stack.Kubectl(ctx, stack.AdminKubeconfig, nil, "", "-n", "default", "delete", "configmap", name)
}

// explained is what `kubeiam mappings explain --kubeconfig ADMIN -o json`
// predicts for arn.
type explained struct {
	Mapped   bool     `json:"mapped"`
	Backends []string `json:"backends"`
	Trace    []string `json:"trace"`
	Mapping  *struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
		Backend  string   `json:"backend"`
		Source   string   `json:"source"`
	} `json:"mapping"`
}

func explainLive(t *testing.T, ctx context.Context, arn string) explained {
	t.Helper()
	r := kubeiam(ctx, "mappings", "explain", "--kubeconfig", stack.AdminKubeconfig, "--arn", arn, "-o", "json")
	var e explained
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatalf("mappings explain: %v (%v)\n%s\n%s", err, r.err, r.stdout, r.stderr)
	}
	if e.Mapped != (r.err == nil) {
		t.Fatalf("mappings explain: mapped %v but exit %v", e.Mapped, r.err)
	}
	return e
}

// predicts checks that explain's answer for id is what kubectl auth whoami
// (through the real server) shows: the same user and groups, or both
// denied.
func predicts(t *testing.T, ctx context.Context, kc string, id ststest.Identity, wantBackend string) {
	t.Helper()
	e := explainLive(t, ctx, id.ARN)
	user, groups, res := kubectlWhoami(ctx, kc, stack.ClientEnv(id))
	groups = slices.DeleteFunc(groups, func(s string) bool { return s == "system:authenticated" })
	switch {
	case e.Mapping == nil && res.Err == nil:
		t.Fatalf("explain says denied (%q), kubectl auth whoami says %s %v", e.Trace, user, groups)
	case e.Mapping == nil:
		if !strings.Contains(res.Stderr, "Unauthorized") {
			t.Fatalf("explain says denied, kubectl: %v %s", res.Err, res.Stderr)
		}
	case res.Err != nil:
		t.Fatalf("explain says %s (%s), kubectl: %v %s", e.Mapping.Username, e.Mapping.Backend, res.Err, res.Stderr)
	default:
		sort.Strings(groups)
		want := slices.Sorted(slices.Values(e.Mapping.Groups))
		if user != e.Mapping.Username || !slices.Equal(groups, want) || e.Mapping.Backend != wantBackend {
			t.Fatalf("explain: %s %v by %s; kubectl auth whoami: %s %v; want backend %s", e.Mapping.Username, want, e.Mapping.Backend, user, groups, wantBackend)
		}
	}
}

// TestCRDBackend: [CRD] from install to Unauthorized, and [CRD,
// EKSConfigMap] with the backends disagreeing.
func TestCRDBackend(t *testing.T) {
	if kubeiamSkip != "" {
		t.Skip(kubeiamSkip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	admin := stack.AdminKubeconfig
	t.Cleanup(func() { restoreStack(t) })
	// The cluster ID lives in ConfigMap kube-system/aws-iam-authenticator,
	// as on an EKS Anywhere cluster; when this test runs alone it is not
	// there yet.
	if res := stack.Kubectl(ctx, admin, nil, "", "-n", "kube-system", "get", "configmap", "aws-iam-authenticator"); res.Err != nil {
		mustKubectl(t, ctx, "", "-n", "kube-system", "create", "configmap", "aws-iam-authenticator", "--from-literal=config.yaml=clusterID: "+stack.ClusterID+"\n")
	}
	mustKubectl(t, ctx, "", "delete", "crd", "iamidentitymappings.iamauthenticator.k8s.aws", "--ignore-not-found")
	dir := t.TempDir()
	spec := filepath.Join(dir, "eksa-cluster.yaml")
	_, seedRoles := scenario.SeedMappings()

	// A CRD another tool created first (here without the status schema
	// and under another category, as an old upstream copy might be) is
	// taken over only with --force-conflicts.
	other := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: iamidentitymappings.iamauthenticator.k8s.aws}
spec:
  group: iamauthenticator.k8s.aws
  scope: Cluster
  names: {plural: iamidentitymappings, singular: iamidentitymapping, kind: IAMIdentityMapping, categories: [iam]}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`
	mustKubectl(t, ctx, other, "apply", "--server-side", "--field-manager=other-tool", "-f", "-")

	// [CRD]: the server reads IAMIdentityMapping objects only. Installed
	// while the running server still reads aws-auth alone, so nobody
	// writes the objects' status yet. The DaemonSet goes first: its
	// backend modes are immutable.
	mustKubectl(t, ctx, "", "-n", "kube-system", "delete", "daemonset", "aws-iam-authenticator", "--ignore-not-found")
	modeSpec(t, spec, []string{"CRD"}, nil, seedRoles)
	r := kubeiam(ctx, "server", "install", "-f", spec, "--kubeconfig", admin, "--cluster-id", stack.ClusterID, "--image", scenario.ServerImage, "--wait=false")
	if r.err == nil || !strings.Contains(r.stderr, "CustomResourceDefinition iamidentitymappings.iamauthenticator.k8s.aws") || !strings.Contains(r.stderr, "other-tool") ||
		!strings.Contains(r.stderr, "hint: another field manager owns these fields; rerun with --force-conflicts") {
		t.Fatalf("install over another manager's CRD: %v\n%s", r.err, r.stderr)
	}
	if res := stack.Kubectl(ctx, admin, nil, "", "get", "iamidentitymappings"); res.Err != nil || strings.Contains(res.Stdout, "kubeiam-") {
		t.Fatalf("a refused install created objects: %v %s", res.Err, res.Stdout)
	}
	r = kubeiam(ctx, "server", "install", "-f", spec, "--kubeconfig", admin, "--cluster-id", stack.ClusterID, "--image", scenario.ServerImage, "--wait=false", "--force-conflicts")
	if r.err != nil || !strings.Contains(r.stderr, "note: ") || !strings.Contains(r.stderr, "IAMIdentityMapping objects:\n  + role "+scenario.AdminRoleARN) {
		t.Fatalf("install [CRD]: %v\n%s", r.err, r.stderr)
	}
	crd := getJSON(t, ctx, "crd", "iamidentitymappings.iamauthenticator.k8s.aws")
	if dig(crd, "spec", "versions").([]any)[0].(map[string]any)["subresources"] == nil {
		t.Fatalf("CRD without the status subresource: %v", dig(crd, "spec"))
	}
	// Not active yet: listed as such, explained as a miss, and a --wait
	// that times out names the object.
	adminObj := ""
	r = kubeiam(ctx, "mappings", "list", "--kubeconfig", admin)
	for _, l := range strings.Split(r.stdout, "\n") {
		if f := strings.Split(l, "\t"); len(f) == 8 && f[1] == scenario.AdminRoleARN {
			adminObj = strings.TrimPrefix(f[5], "IAMIdentityMapping ")
			if f[4] != "CRD" || f[6] != "kubeiam" || !strings.HasPrefix(f[7], "not active yet") {
				t.Errorf("mappings list: %q", l)
			}
		}
	}
	if r.err != nil || adminObj == "" {
		t.Fatalf("mappings list --kubeconfig: %v\n%s\n%s", r.err, r.stdout, r.stderr)
	}
	if e := explainLive(t, ctx, scenario.AdminRoleARN); e.Mapped || len(e.Trace) == 0 || !strings.Contains(e.Trace[0], "but is not active yet") {
		t.Errorf("explain of an inactive object: %+v", e)
	}
	r = kubeiam(ctx, "server", "sync", "-f", spec, "--kubeconfig", admin, "--wait", "--timeout", "3s")
	if r.err == nil || !strings.Contains(r.stderr, "could not see the server activate 1 IAMIdentityMapping within 3s (status.canonicalARN not written): "+adminObj) ||
		!strings.Contains(r.stderr, "hint: the objects are applied") {
		t.Fatalf("sync --wait with no server reading CRD: %v\n%s", r.err, r.stderr)
	}
	useModes(t, ctx, "CRD")

	// The ServiceAccount's RBAC, which the restarted server runs with.
	for _, verb := range []string{"list iamidentitymappings", "watch iamidentitymappings", "update iamidentitymappings --subresource=status"} {
		if out := mustKubectl(t, ctx, "", append([]string{"auth", "can-i", "--as=" + serverAccount}, strings.Fields(verb)...)...); strings.TrimSpace(out) != "yes" {
			t.Errorf("server may not %s: %s", verb, out)
		}
	}

	// A user mapped only through an IAMIdentityMapping.
	name := fresh("crd-user")
	id := stack.STS.NewUser(ststest.AccountA, name)
	kc := sessionKubeconfig(t, name, "")
	unauthorized(t, ctx, name+" before sync", kc, stack.ClientEnv(id))
	predicts(t, ctx, kc, id, "")
	user := scenario.Mapping{ARN: id.ARN, Username: "crd:" + name, Groups: []string{scenario.ViewGroup}}
	modeSpec(t, spec, []string{"CRD"}, []scenario.Mapping{user}, seedRoles)
	start := time.Now()
	r = kubeiam(ctx, "server", "sync", "-f", spec, "--kubeconfig", admin, "--wait", "--timeout", "60s")
	if r.err != nil || !strings.Contains(r.stderr, "  + user "+id.ARN+" → crd:"+name) || !strings.Contains(r.stderr, "IAMIdentityMapping status: 2 of 2 active") {
		t.Fatalf("sync --wait: %v\n%s", r.err, r.stderr)
	}
	t.Logf("[CRD] sync --wait took %s:\n%s", r.took.Round(time.Millisecond), r.stderr)
	groups := admitted(t, ctx, name+" mapped by an IAMIdentityMapping", kc, stack.ClientEnv(id), "crd:"+name)
	if !slices.Contains(groups, scenario.ViewGroup) {
		t.Errorf("groups %v", groups)
	}
	t.Logf("[CRD] sync start → admitted: %s", time.Since(start).Round(10*time.Millisecond))
	predicts(t, ctx, kc, id, "CRD")
	if e := explainLive(t, ctx, id.ARN); !slices.Equal(e.Backends, []string{"CRD"}) {
		t.Errorf("explain backends %v", e.Backends)
	}

	// A hand-made object survives sync, which says it left it alone.
	hand := `apiVersion: iamauthenticator.k8s.aws/v1alpha1
kind: IAMIdentityMapping
metadata: {name: e2e-by-hand}
spec: {arn: "arn:aws:iam::` + ststest.AccountA + `:user/by-hand", username: by-hand}
`
	mustKubectl(t, ctx, hand, "apply", "-f", "-")

	// Removed from the spec: deleted by sync, and Unauthorized.
	modeSpec(t, spec, []string{"CRD"}, nil, seedRoles)
	r = kubeiam(ctx, "server", "sync", "-f", spec, "--kubeconfig", admin, "--wait")
	if r.err != nil || !strings.Contains(r.stderr, "  - user "+id.ARN) || !strings.Contains(r.stderr, "left alone (not kubeiam's): IAMIdentityMapping e2e-by-hand") {
		t.Fatalf("sync removing %s: %v\n%s", name, r.err, r.stderr)
	}
	mustKubectl(t, ctx, "", "get", "iamidentitymapping", "e2e-by-hand")
	eventually(t, ctx, name+" unmapped", func() error {
		if _, _, res := kubectlWhoami(ctx, kc, stack.ClientEnv(id)); res.Err == nil || !strings.Contains(res.Stderr, "Unauthorized") {
			return fmt.Errorf("kubectl auth whoami: %v, want Unauthorized", res.Err)
		}
		return nil
	})
	predicts(t, ctx, kc, id, "")

	// The lockout guard counts what a CRD-only server reads: an admin in
	// aws-auth (the stack's, from the tests before) does not count.
	if res := stack.Kubectl(ctx, admin, nil, "", "-n", "kube-system", "get", "configmap", "aws-auth"); res.Err != nil {
		mustKubectl(t, ctx, "", "-n", "kube-system", "create", "configmap", "aws-auth",
			"--from-literal=mapRoles=- rolearn: "+scenario.AdminRoleARN+"\n  username: admin\n  groups: [system:masters]\n")
	}
	awsAuth := fmt.Sprint(dig(getJSON(t, ctx, "-n", "kube-system", "configmap", "aws-auth"), "data", "mapRoles"))
	if !strings.Contains(awsAuth, scenario.AdminRoleARN) || !strings.Contains(awsAuth, "system:masters") {
		t.Fatalf("aws-auth holds no admin to ignore: %q", awsAuth)
	}
	r = kubeiam(ctx, "mappings", "remove", "-f", spec, "--role-arn", scenario.AdminRoleARN, "--kubeconfig", admin)
	if r.err == nil || !strings.Contains(r.stderr, "no mapping the server reads (CRD) would reach cluster-admin") {
		t.Fatalf("removing the last system:masters IAMIdentityMapping (aws-auth mapRoles %q): %v\n%s", awsAuth, r.err, r.stderr)
	}
	r = kubeiam(ctx, "mappings", "remove", "-f", spec, "--role-arn", scenario.AdminRoleARN, "--kubeconfig", admin, "--allow-lockout")
	if r.err != nil {
		t.Fatalf("--allow-lockout: %v\n%s", r.err, r.stderr)
	}
	r = kubeiam(ctx, "server", "sync", "-f", spec, "--kubeconfig", admin)
	if r.err == nil || !strings.Contains(r.stderr, "no mapping the server reads (CRD) would reach cluster-admin") {
		t.Fatalf("sync without an admin: %v\n%s", r.err, r.stderr)
	}

	// [CRD, EKSConfigMap]: one ARN, a user name in each backend. The CRD
	// is asked first and wins; without its object, aws-auth answers —
	// proof the server reads both, not a pass for the wrong reason.
	// The DaemonSet goes first: its backend modes are immutable.
	mustKubectl(t, ctx, "", "-n", "kube-system", "delete", "daemonset", "aws-iam-authenticator")
	useModes(t, ctx, "CRD", "EKSConfigMap")
	name2 := fresh("both-user")
	id2 := stack.STS.NewUser(ststest.AccountA, name2)
	kc2 := sessionKubeconfig(t, name2, "")
	both := scenario.Mapping{ARN: id2.ARN, Username: "configmap:" + name2, Groups: []string{scenario.ViewGroup}}
	modeSpec(t, spec, []string{"CRD", "EKSConfigMap"}, []scenario.Mapping{both}, seedRoles)
	r = kubeiam(ctx, "server", "install", "-f", spec, "--kubeconfig", admin, "--cluster-id", stack.ClusterID, "--image", scenario.ServerImage,
		"--wait=false", "--prune", "--force-conflicts")
	if r.err != nil {
		t.Fatalf("install [CRD, EKSConfigMap]: %v\n%s", r.err, r.stderr)
	}
	nudgeConfigMaps(ctx)
	obj := "kubeiam-user-" + ststest.AccountA + "-" + name2
	objs := mustKubectl(t, ctx, "", "get", "iamidentitymappings", "-o", "name")
	var objName string
	for _, l := range strings.Fields(objs) {
		if strings.HasPrefix(l, "iamidentitymapping.iamauthenticator.k8s.aws/"+obj) {
			objName = strings.TrimPrefix(l, "iamidentitymapping.iamauthenticator.k8s.aws/")
		}
	}
	if objName == "" {
		t.Fatalf("no object %s*: %s", obj, objs)
	}
	mustKubectl(t, ctx, "", "patch", "iamidentitymapping", objName, "--type=merge", "-p", `{"spec":{"username":"crd:`+name2+`"}}`)
	admitted(t, ctx, name2+" by the CRD, asked first", kc2, stack.ClientEnv(id2), "crd:"+name2)
	predicts(t, ctx, kc2, id2, "CRD")
	if e := explainLive(t, ctx, id2.ARN); !slices.Equal(e.Backends, []string{"CRD", "EKSConfigMap"}) {
		t.Errorf("explain backends %v", e.Backends)
	}
	mustKubectl(t, ctx, "", "delete", "iamidentitymapping", objName)
	admitted(t, ctx, name2+" by aws-auth once the CRD misses", kc2, stack.ClientEnv(id2), "configmap:"+name2)
	predicts(t, ctx, kc2, id2, "EKSConfigMap")
	if e := explainLive(t, ctx, id2.ARN); len(e.Trace) < 2 || !strings.HasPrefix(e.Trace[0], "CRD: no IAMIdentityMapping") {
		t.Errorf("explain trace %q", e.Trace)
	}
}

// TestBackendSyncLatency measures, in one run, the time from `server sync`
// starting to the added user being admitted through the real server, with
// the server in EKSConfigMap mode and in CRD mode (plain sync, then sync
// --wait, whose wait is the server's own status write). Each round uses a
// fresh user and polls kubectl auth whoami every 100 ms.
func TestBackendSyncLatency(t *testing.T) {
	if kubeiamSkip != "" {
		t.Skip(kubeiamSkip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	admin := stack.AdminKubeconfig
	t.Cleanup(func() { restoreStack(t) })
	if res := stack.Kubectl(ctx, admin, nil, "", "-n", "kube-system", "get", "configmap", "aws-iam-authenticator"); res.Err != nil {
		mustKubectl(t, ctx, "", "-n", "kube-system", "create", "configmap", "aws-iam-authenticator", "--from-literal=config.yaml=clusterID: "+stack.ClusterID+"\n")
	}
	// The server's RBAC, which the restarted server runs with.
	users, seedRoles := scenario.SeedMappings()
	spec := modeSpec(t, filepath.Join(t.TempDir(), "eksa-cluster.yaml"), []string{"EKSConfigMap"}, users, seedRoles)
	if r := kubeiam(ctx, "server", "install", "-f", spec, "--kubeconfig", admin, "--cluster-id", stack.ClusterID,
		"--image", scenario.ServerImage, "--wait=false", "--prune", "--force-conflicts", "--allow-lockout"); r.err != nil {
		t.Fatalf("install: %v\n%s", r.err, r.stderr)
	}
	mustKubectl(t, ctx, "", "-n", "kube-system", "delete", "daemonset", "aws-iam-authenticator", "--ignore-not-found")
	const rounds = 5
	type variant struct {
		mode string
		args []string
	}
	results := map[string][]time.Duration{}
	waits := map[string][]time.Duration{}
	for _, v := range []variant{{"EKSConfigMap", []string{"--prune", "--force-conflicts"}}, {"CRD", nil}, {"CRD", []string{"--wait"}}} {
		label := v.mode + " " + strings.Join(v.args, " ")
		if stack.Node != "" {
			// The server is the DaemonSet's pod: install the spec with
			// this mode, and the pod runs the --backend-mode kubeiam
			// renders from it.
			modeSpec(t, spec, []string{v.mode}, nil, seedRoles)
			mustKubectl(t, ctx, "", "-n", "kube-system", "delete", "daemonset", "aws-iam-authenticator", "--ignore-not-found", "--cascade=orphan")
			mustKubectl(t, ctx, "", "-n", "kube-system", "delete", "pods", "-l", "k8s-app=aws-iam-authenticator", "--grace-period=1")
			if r := kubeiam(ctx, append([]string{"server", "install", "-f", spec, "--kubeconfig", admin, "--cluster-id", stack.ClusterID,
				"--image", scenario.ServerImage, "--prune", "--force-conflicts", "--allow-lockout"}, waitArgs()...)...); r.err != nil {
				t.Fatalf("%s install: %v\n%s", label, r.err, r.stderr)
			}
		}
		useModes(t, ctx, v.mode)
		// Warm up: the server's informers list once after the restart.
		modeSpec(t, spec, []string{v.mode}, nil, seedRoles)
		if r := kubeiam(ctx, append([]string{"server", "sync", "-f", spec, "--kubeconfig", admin, "--allow-lockout"}, v.args...)...); r.err != nil {
			t.Fatalf("%s warm-up sync: %v\n%s", label, r.err, r.stderr)
		}
		nudgeConfigMaps(ctx)
		for i := 0; i < rounds; i++ {
			name := fresh("lat-user")
			id := stack.STS.NewUser(ststest.AccountA, name)
			kc := sessionKubeconfig(t, name, "")
			modeSpec(t, spec, []string{v.mode}, []scenario.Mapping{{ARN: id.ARN, Username: "lat:" + name, Groups: []string{scenario.ViewGroup}}}, seedRoles)
			start := time.Now()
			r := kubeiam(ctx, append([]string{"server", "sync", "-f", spec, "--kubeconfig", admin}, v.args...)...)
			if r.err != nil {
				t.Fatalf("%s sync: %v\n%s", label, r.err, r.stderr)
			}
			waits[label] = append(waits[label], r.took)
			for {
				if u, _, res := kubectlWhoami(ctx, kc, stack.ClientEnv(id)); res.Err == nil && u == "lat:"+name {
					break
				}
				if ctx.Err() != nil || time.Since(start) > time.Minute {
					t.Fatalf("%s: %s not admitted within a minute", label, name)
				}
				time.Sleep(100 * time.Millisecond)
			}
			results[label] = append(results[label], time.Since(start))
		}
	}
	median := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	for _, label := range slices.Sorted(maps.Keys(results)) {
		t.Logf("sync → admitted, %-28s median %6s of %v (sync command itself: median %s)", label+":", median(results[label]).Round(time.Millisecond),
			results[label], median(waits[label]).Round(time.Millisecond))
	}
}
