// Mapping mistakes caught before they lock anyone out or leave them
// Unauthorized, against the rig's real kube-apiserver and
// aws-iam-authenticator v0.7.2 server: a role mapped with its path is
// Unauthorized until `mappings fix`; `mappings explain` predicts what
// `kubectl auth whoami` then says; `server sync` refuses to remove the last
// admin or the caller's own mapping; `server install` shows the fields
// another field manager owns before taking them; and `--bundles` finds the
// image through the EKS-D manifest. Each test resets aws-auth to a spec of
// its own and uses fresh identities, since they share one stack.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
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

// guardSpec writes the scenarios' cluster spec with these mappings.
func guardSpec(t *testing.T, users, roles []scenario.Mapping) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "eksa-cluster.yaml")
	if err := os.WriteFile(path, []byte(scenario.ClusterSpecYAML(users, roles)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rewriteSpec replaces the spec's content, keeping its path.
func rewriteSpec(t *testing.T, path string, users, roles []scenario.Mapping) {
	t.Helper()
	if err := os.WriteFile(path, []byte(scenario.ClusterSpecYAML(users, roles)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// resetTo installs spec whatever the shared stack holds: the rig's cluster
// ID, entries of other tests pruned, fields of other managers taken.
func resetTo(t *testing.T, ctx context.Context, spec string) kubeiamRun {
	t.Helper()
	r := kubeiam(ctx, append([]string{"server", "install", "-f", spec, "--kubeconfig", stack.AdminKubeconfig, "--cluster-id", stack.ClusterID,
		"--image", scenario.ServerImage, "--prune", "--force-conflicts", "--allow-lockout"}, waitArgs()...)...)
	if r.err != nil {
		t.Fatalf("install: %v\n%s", r.err, r.stderr)
	}
	return r
}

// kubeiamAs runs kubeiam with env (an identity's, from ClientEnv).
func kubeiamAs(ctx context.Context, env []string, args ...string) kubeiamRun {
	cmd := exec.CommandContext(ctx, stack.Bins.Kubeiam, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	return kubeiamRun{out.String(), errb.String(), err, time.Since(start)}
}

// sessionKubeconfig is a kubeconfig whose exec plugin is kubeiam token,
// assuming role (session e2e-session) when role is not "".
func sessionKubeconfig(t *testing.T, name, role string) string {
	t.Helper()
	x := scenario.Kubeiam(stack.Bins.Kubeiam).Exec(stack.ClusterID, role)
	kc, err := stack.UserKubeconfig(name, &x)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// admitted waits until the real server maps the identity to wantUser and
// returns its groups (without the apiserver's system:authenticated).
func admitted(t *testing.T, ctx context.Context, what, kc string, env []string, wantUser string) []string {
	t.Helper()
	var groups []string
	eventually(t, ctx, what, func() error {
		user, g, res := kubectlWhoami(ctx, kc, env)
		if res.Err != nil {
			return fmt.Errorf("%v: %s", res.Err, res.Stderr)
		}
		if user != wantUser {
			return fmt.Errorf("kubectl auth whoami: user %q, want %q", user, wantUser)
		}
		groups = slices.DeleteFunc(g, func(s string) bool { return s == "system:authenticated" })
		return nil
	})
	return groups
}

func unauthorized(t *testing.T, ctx context.Context, what, kc string, env []string) {
	t.Helper()
	if _, _, res := kubectlWhoami(ctx, kc, env); res.Err == nil || !strings.Contains(res.Stderr, "Unauthorized") {
		t.Fatalf("%s: kubectl auth whoami: %v %s, want Unauthorized", what, res.Err, res.Stderr)
	}
}

func fresh(name string) string { return fmt.Sprintf("%s-%d", name, rand.IntN(1_000_000)) }

// TestGuardRolePathFix: a role mapped as the IAM console shows it (with its
// path) never admits its sessions; `mappings fix` and `server sync` do.
func TestGuardRolePathFix(t *testing.T) {
	_, ctx := kubeiamEnv(t)
	deployer := "arn:aws:iam::" + ststest.AccountA + ":role/teams/platform/Deployer"
	probe := stack.STS.NewUser(ststest.AccountA, fresh("guard-probe"))
	roles := []scenario.Mapping{
		{ARN: scenario.AdminRoleARN, Username: "guard-admin", Groups: []string{"system:masters"}},
		{ARN: deployer, Username: "guard-deployer:{{SessionName}}", Groups: []string{scenario.ViewGroup}},
	}
	spec := guardSpec(t, []scenario.Mapping{{ARN: probe.ARN, Username: probe.Name, Groups: []string{scenario.ViewGroup}}}, roles)

	r := resetTo(t, ctx, spec)
	if !strings.Contains(r.stderr, "role paths are not matched by the server (use arn:aws:iam::"+ststest.AccountA+":role/Deployer)") ||
		!strings.Contains(r.stderr, "hint: this entry never matches a caller; kubeiam mappings fix -f "+spec+" rewrites it") {
		t.Errorf("install did not flag the role path with its fix:\n%s", r.stderr)
	}
	// The probe, mapped in the same aws-auth, proves the server has it.
	admitted(t, ctx, "probe mapped", sessionKubeconfig(t, "guard-probe", ""), stack.ClientEnv(probe), probe.Name)
	caller := stack.STS.NewUser(ststest.AccountA, fresh("guard-deployer"))
	kc, env := sessionKubeconfig(t, "guard-deployer", deployer), stack.ClientEnv(caller)
	unauthorized(t, ctx, "role mapped with its path", kc, env)
	session := "arn:aws:sts::" + ststest.AccountA + ":assumed-role/Deployer/e2e-session"
	r = kubeiam(ctx, "mappings", "explain", "--kubeconfig", stack.AdminKubeconfig, "--arn", session)
	if r.err == nil || !strings.Contains(r.stderr, "no mapping: the server answers Unauthorized") || !strings.Contains(r.stderr, deployer+" is mapped with a role path") {
		t.Errorf("explain before the fix: %v\n%s%s", r.err, r.stdout, r.stderr)
	}

	r = kubeiam(ctx, "mappings", "fix", "-f", spec)
	if r.err != nil || !strings.Contains(r.stderr, "fixed spec.mapRoles[1].roleARN: role paths are not matched by the server → arn:aws:iam::"+ststest.AccountA+":role/Deployer") {
		t.Fatalf("mappings fix: %v\n%s", r.err, r.stderr)
	}
	r = kubeiam(ctx, "server", "sync", "-f", spec, "--kubeconfig", stack.AdminKubeconfig)
	if r.err != nil || !strings.Contains(r.stderr, "  + role arn:aws:iam::"+ststest.AccountA+":role/Deployer → guard-deployer:{{SessionName}}") {
		t.Fatalf("sync after fix: %v\n%s", r.err, r.stderr)
	}
	groups := admitted(t, ctx, "role session admitted after fix", kc, env, "guard-deployer:e2e-session")
	if !slices.Equal(groups, []string{scenario.ViewGroup}) {
		t.Errorf("groups %v", groups)
	}
}

// explainReport is the part of `mappings explain -o json` compared here.
type explainReport struct {
	Mapped  bool   `json:"mapped"`
	Denied  string `json:"denied"`
	Mapping *struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
		Source   string   `json:"source"`
	} `json:"mapping"`
}

func explainARN(t *testing.T, ctx context.Context, source []string, arn string) (explainReport, kubeiamRun) {
	t.Helper()
	r := kubeiam(ctx, append([]string{"mappings", "explain", "--arn", arn, "-o", "json"}, source...)...)
	var rep explainReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("explain %s printed no report (%v): %v\n%s", arn, r.err, err, r.stderr)
	}
	return rep, r
}

// TestGuardExplain: `mappings explain`, from the cluster and from the spec,
// predicts what the real server answers: the username and groups of a user
// and of a role session (templates rendered), and Unauthorized.
func TestGuardExplain(t *testing.T) {
	_, ctx := kubeiamEnv(t)
	user := stack.STS.NewUser(ststest.AccountA, fresh("explain-user"))
	roleCaller := stack.STS.NewUser(ststest.AccountA, fresh("explain-role"))
	nobody := stack.STS.NewUser(ststest.AccountA, fresh("explain-nobody"))
	spec := guardSpec(t,
		[]scenario.Mapping{{ARN: user.ARN, Username: "explain:" + user.Name, Groups: []string{scenario.ViewGroup}}},
		[]scenario.Mapping{{ARN: scenario.AdminRoleARN, Username: "explain-admin:{{SessionName}}", Groups: []string{"system:masters", "acct-{{AccountID}}"}}})
	resetTo(t, ctx, spec)

	for _, c := range []struct {
		name, arn, role string
		id              ststest.Identity
	}{
		{"user", user.ARN, "", user},
		{"role-session", "arn:aws:sts::" + ststest.AccountA + ":assumed-role/KubeAdmin/e2e-session", scenario.AdminRoleARN, roleCaller},
	} {
		t.Run(c.name, func(t *testing.T) {
			live, _ := explainARN(t, ctx, []string{"--kubeconfig", stack.AdminKubeconfig}, c.arn)
			offline, _ := explainARN(t, ctx, []string{"-f", spec}, c.arn)
			if !live.Mapped || live.Mapping == nil || !offline.Mapped || live.Mapping.Username != offline.Mapping.Username {
				t.Fatalf("explain: cluster %+v, spec %+v", live, offline)
			}
			groups := admitted(t, ctx, c.name+" admitted", sessionKubeconfig(t, "explain-"+c.name, c.role), stack.ClientEnv(c.id), live.Mapping.Username)
			if !slices.Equal(groups, live.Mapping.Groups) {
				t.Errorf("explain predicts groups %v, the server gave %v", live.Mapping.Groups, groups)
			}
			t.Logf("%s: explain and the server agree: %s %v (%s)", c.name, live.Mapping.Username, groups, live.Mapping.Source)
		})
	}
	t.Run("unmapped", func(t *testing.T) {
		rep, r := explainARN(t, ctx, []string{"--kubeconfig", stack.AdminKubeconfig}, nobody.ARN)
		if r.err == nil || rep.Mapped || rep.Denied != "no mapping: the server answers Unauthorized" {
			t.Fatalf("explain unmapped: %+v %v\n%s", rep, r.err, r.stderr)
		}
		unauthorized(t, ctx, "unmapped", sessionKubeconfig(t, "explain-nobody", ""), stack.ClientEnv(nobody))
	})
}

// TestGuardLockout: server sync refuses to remove the last mapping with
// cluster-admin power (system:masters, or a group the cluster binds to
// cluster-admin) and the caller's own mapping; --allow-lockout overrides;
// removing one of two admins passes and names the one left.
func TestGuardLockout(t *testing.T) {
	_, ctx := kubeiamEnv(t)
	admin := stack.AdminKubeconfig
	second := stack.STS.NewUser(ststest.AccountA, fresh("lockout-second"))
	masters := scenario.Mapping{ARN: scenario.AdminRoleARN, Username: "lockout-admin", Groups: []string{"system:masters"}}
	viewer := scenario.Mapping{ARN: scenario.AdminRoleARN, Username: "lockout-admin", Groups: []string{scenario.ViewGroup}}
	spec := guardSpec(t, []scenario.Mapping{{ARN: second.ARN, Username: second.Name, Groups: []string{"system:masters"}}}, []scenario.Mapping{masters})
	resetTo(t, ctx, spec)
	awsAuth := func() string {
		return fmt.Sprint(dig(getJSON(t, ctx, "-n", "kube-system", "configmap", "aws-auth"), "data"))
	}

	// One of two admins: applied, and the one left is named.
	rewriteSpec(t, spec, nil, []scenario.Mapping{masters})
	r := kubeiam(ctx, "server", "sync", "-f", spec, "--kubeconfig", admin)
	if r.err != nil || !strings.Contains(r.stderr, "cluster-admin after the change (judged by group system:masters and the subjects of ClusterRole cluster-admin's bindings):\n  role "+scenario.AdminRoleARN+" → lockout-admin [system:masters]") {
		t.Fatalf("removing one of two admins: %v\n%s", r.err, r.stderr)
	}
	// The last one: refused, aws-auth as it was.
	rewriteSpec(t, spec, nil, []scenario.Mapping{viewer})
	before := awsAuth()
	r = kubeiam(ctx, "server", "sync", "-f", spec, "--kubeconfig", admin)
	if r.err == nil || !strings.Contains(r.stderr, "after the change no mapping the server reads (EKSConfigMap) would reach cluster-admin; now one does:\n  role "+scenario.AdminRoleARN) ||
		!strings.Contains(r.stderr, "hint: keep an admin mapping in the spec, or rerun with --allow-lockout") {
		t.Fatalf("removing the last admin: %v\n%s", r.err, r.stderr)
	}
	if after := awsAuth(); after != before {
		t.Fatalf("a refused sync changed aws-auth:\n%s\n→\n%s", before, after)
	}
	r = kubeiam(ctx, "server", "sync", "-f", spec, "--kubeconfig", admin, "--allow-lockout")
	if r.err != nil || !strings.Contains(r.stderr, "cluster-admin after the change: no mapping") || strings.Contains(awsAuth(), "system:masters") {
		t.Fatalf("--allow-lockout: %v\n%s", r.err, r.stderr)
	}

	// A group the cluster binds to cluster-admin is admin power too.
	mustKubectl(t, ctx, "", "create", "clusterrolebinding", "lockout-admins", "--clusterrole=cluster-admin", "--group=lockout:admins")
	t.Cleanup(func() {
		stack.Kubectl(context.Background(), admin, nil, "", "delete", "clusterrolebinding", "lockout-admins", "--ignore-not-found")
	})
	resetTo(t, ctx, guardSpec(t, nil, []scenario.Mapping{masters}))
	bound := scenario.Mapping{ARN: scenario.AdminRoleARN, Username: "lockout-admin", Groups: []string{"lockout:admins"}}
	rewriteSpec(t, spec, nil, []scenario.Mapping{bound})
	r = kubeiam(ctx, "server", "sync", "-f", spec, "--kubeconfig", admin)
	if r.err != nil || !strings.Contains(r.stderr, "  role "+scenario.AdminRoleARN+" → lockout-admin [lockout:admins]") {
		t.Fatalf("group bound to cluster-admin: %v\n%s", r.err, r.stderr)
	}

	// The caller's own access: an IAM user who administers the cluster
	// through aws-auth may not sync away its own mapping.
	self := stack.STS.NewUser(ststest.AccountA, fresh("lockout-self"))
	selfMapping := scenario.Mapping{ARN: self.ARN, Username: self.Name, Groups: []string{"system:masters"}}
	resetTo(t, ctx, guardSpec(t, []scenario.Mapping{selfMapping}, []scenario.Mapping{masters}))
	kc, env := sessionKubeconfig(t, "lockout-self", ""), stack.ClientEnv(self)
	admitted(t, ctx, "self mapped", kc, env, self.Name)
	rewriteSpec(t, spec, nil, []scenario.Mapping{masters})
	r = kubeiamAs(ctx, env, "server", "sync", "-f", spec, "--kubeconfig", kc)
	if r.err == nil || !strings.Contains(r.stderr, "the change drops your own access: you are "+self.ARN+", mapped by user "+self.ARN) {
		t.Fatalf("sync dropping the caller: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(awsAuth(), self.ARN) {
		t.Fatal("the refused sync removed the caller")
	}
}

// TestGuardTakeover: a DaemonSet created by another field manager (as EKS
// Anywhere's controller creates it) is taken over only with
// --force-conflicts, each conflicting field shown with its owner first; the
// cluster ID and CA stay.
func TestGuardTakeover(t *testing.T) {
	_, ctx := kubeiamEnv(t)
	admin := stack.AdminKubeconfig
	spec := guardSpec(t, nil, []scenario.Mapping{{ARN: scenario.AdminRoleARN, Username: "takeover-admin", Groups: []string{"system:masters"}}})
	resetTo(t, ctx, spec)
	ca := func() any {
		return dig(getJSON(t, ctx, "-n", "eksa-system", "secret", scenario.ClusterName+"-aws-iam-authenticator-ca"), "data", "cert.pem")
	}
	caBefore := ca()

	// EKS Anywhere's controller made the DaemonSet, with its image.
	const eksaImage = "public.ecr.aws/eks-distro/kubernetes-sigs/aws-iam-authenticator:v0.6.28-eks-1-31-12"
	r := kubeiam(ctx, "server", "manifests", "-f", spec, "--image", eksaImage, "--cluster-id", stack.ClusterID)
	if r.err != nil {
		t.Fatalf("manifests: %v\n%s", r.err, r.stderr)
	}
	var ds string
	for _, doc := range strings.Split(r.stdout, "\n---\n") {
		if strings.Contains(doc, "kind: DaemonSet") {
			ds = doc
		}
	}
	mustKubectl(t, ctx, "", "-n", "kube-system", "delete", "daemonset", "aws-iam-authenticator", "--ignore-not-found")
	mustKubectl(t, ctx, ds, "apply", "--server-side", "--field-manager=eks-a-controller", "-f", "-")
	image := func() any {
		return dig(getJSON(t, ctx, "-n", "kube-system", "daemonset", "aws-iam-authenticator"), "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"]
	}

	r = kubeiam(ctx, "server", "install", "-f", spec, "--kubeconfig", admin, "--image", scenario.ServerImage, "--wait=false")
	if r.err == nil || !strings.Contains(r.stderr, `DaemonSet kube-system/aws-iam-authenticator .spec.template.spec.containers[name="aws-iam-authenticator"].image: conflict with "eks-a-controller"`) ||
		!strings.Contains(r.stderr, "hint: another field manager owns these fields; rerun with --force-conflicts") {
		t.Fatalf("install over another manager's DaemonSet: %v\n%s", r.err, r.stderr)
	}
	if got := image(); got != eksaImage {
		t.Fatalf("a refused install changed the image to %v", got)
	}
	r = kubeiam(ctx, "server", "install", "-f", spec, "--kubeconfig", admin, "--image", scenario.ServerImage, "--wait=false", "--force-conflicts")
	if r.err != nil || !strings.Contains(r.stderr, "cluster ID "+stack.ClusterID+", kept") {
		t.Fatalf("install --force-conflicts: %v\n%s", r.err, r.stderr)
	}
	if got := image(); got != scenario.ServerImage {
		t.Errorf("image after takeover %v", got)
	}
	mf := fmt.Sprint(dig(getJSON(t, ctx, "--show-managed-fields", "-n", "kube-system", "daemonset", "aws-iam-authenticator"), "metadata", "managedFields"))
	if !strings.Contains(mf, "manager:kubeiam") {
		t.Errorf("kubeiam does not manage the DaemonSet: %s", mf)
	}
	if ca() != caBefore {
		t.Error("the takeover replaced the CA")
	}
	if got := dig(getJSON(t, ctx, "-n", "kube-system", "configmap", "aws-iam-authenticator"), "data", "config.yaml"); got != "clusterID: "+stack.ClusterID+"\n" {
		t.Errorf("config.yaml = %q", got)
	}
}

// TestGuardBundles: server install --bundles URL and FILE take the image
// from the Bundles' EKS-D manifest for the spec's Kubernetes version,
// fetched over HTTPS with a private CA.
func TestGuardBundles(t *testing.T) {
	_, ctx := kubeiamEnv(t)
	manifest, err := os.ReadFile("../bundle/testdata/kubernetes-1-31-eks-12.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var bundles []byte
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bundles.yaml":
			w.Write(bundles)
		case "/kubernetes-1-31/kubernetes-1-31-eks-12.yaml":
			w.Write(manifest)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	b, err := os.ReadFile("../bundle/testdata/bundles.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bundles = []byte(strings.ReplaceAll(string(b), "https://distro.eks.amazonaws.com", srv.URL))
	dir := t.TempDir()
	caFile, bundlesFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "bundles.yaml")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	os.WriteFile(bundlesFile, bundles, 0o600)
	env := append(os.Environ(), "SSL_CERT_FILE="+caFile, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")

	spec := guardSpec(t, nil, []scenario.Mapping{{ARN: scenario.AdminRoleARN, Username: "bundles-admin", Groups: []string{"system:masters"}}})
	resetTo(t, ctx, spec)
	const want = "public.ecr.aws/eks-distro/kubernetes-sigs/aws-iam-authenticator:v0.6.28-eks-1-31-12"
	image := func() any {
		return dig(getJSON(t, ctx, "-n", "kube-system", "daemonset", "aws-iam-authenticator"), "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"]
	}
	r := kubeiamAs(ctx, env, "server", "install", "-f", spec, "--kubeconfig", stack.AdminKubeconfig, "--bundles", srv.URL+"/bundles.yaml", "--wait=false")
	if r.err != nil || !strings.Contains(r.stderr, "image "+want+" (aws-iam-authenticator v0.6.28, EKS-D release") {
		t.Fatalf("install --bundles URL: %v\n%s", r.err, r.stderr)
	}
	t.Logf("install --bundles:\n%s", r.stderr)
	if got := image(); got != want {
		t.Errorf("DaemonSet image %v, want %s", got, want)
	}
	r = kubeiamAs(ctx, env, append([]string{"server", "install", "-f", spec, "--kubeconfig", stack.AdminKubeconfig, "--bundles", bundlesFile, "--kube-version", "1.31"}, waitArgs()...)...)
	if r.err != nil || !strings.Contains(r.stderr, "no change: all 8 objects are as the spec says") {
		t.Fatalf("install --bundles FILE: %v\n%s", r.err, r.stderr)
	}
	if stack.Node != "" {
		// The node runs the image the EKS-D manifest named: the rig
		// imported it under the reference kubeiam resolves.
		pod := serverPod(t, ctx)
		c := dig(pod, "spec", "containers").([]any)[0].(map[string]any)
		st := dig(pod, "status", "containerStatuses").([]any)[0].(map[string]any)
		if c["image"] != want || st["image"] != want {
			t.Errorf("pod image %v, running %v; want %s", c["image"], st["image"], want)
		}
		t.Logf("node runs %v (%v)", st["image"], st["imageID"])
	}
	// Leave the rig's image as the other tests expect it.
	resetTo(t, ctx, spec)
}
