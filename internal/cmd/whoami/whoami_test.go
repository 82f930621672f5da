package whoami

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

const clusterID = "6d9b1f5e-1c2a-4c36-9e0f-2a7d4e1c0b11"

// The user's kubeconfig: a kubeiam context, the same identity as
// aws-iam-authenticator writes it (role through -r), and an aws CLI one.
const kubeconfigYAML = `apiVersion: v1
kind: Config
current-context: prod-aws
clusters:
- name: prod
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: prod-aws
  context: {cluster: prod, user: prod-aws}
- name: admin-role
  context: {cluster: prod, user: admin-role}
- name: cli
  context: {cluster: prod, user: cli}
users:
- name: prod-aws
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubeiam, args: [token, -i, ` + clusterID + `, --region, eu-west-1]}
- name: admin-role
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: /usr/local/bin/aws-iam-authenticator
      args: [token, -i, ` + clusterID + `, -r, "arn:aws:iam::111122223333:role/KubeAdmin", -s, "alice@example.com"]
- name: cli
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, us-west-2, eks, get-token, --cluster-name, ` + clusterID + `]
      env: [{name: AWS_PROFILE, value: ops}]
`

// fakeCluster serves the two ConfigMaps whoami reads.
type fakeCluster map[string]*unstructured.Unstructured

func (f fakeCluster) Get(_ context.Context, kind, ns, name string) (*unstructured.Unstructured, error) {
	return f[kind+"/"+ns+"/"+name], nil
}

func (f fakeCluster) Apply(context.Context, *unstructured.Unstructured, installer.ApplyOptions) (*unstructured.Unstructured, error) {
	return nil, errors.New("whoami never writes")
}

func cluster(installedID, mapRoles, mapUsers string) fakeCluster {
	cm := func(name string, data map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "kube-system"},
			"data":     data,
		}}
	}
	return fakeCluster{
		"ConfigMap/kube-system/aws-iam-authenticator": cm("aws-iam-authenticator", map[string]any{"config.yaml": "clusterID: " + installedID + "\n"}),
		"ConfigMap/kube-system/aws-auth":              cm("aws-auth", map[string]any{"mapRoles": mapRoles, "mapUsers": mapUsers}),
	}
}

const (
	mapRoles = `- rolearn: arn:aws:iam::111122223333:role/KubeAdmin
  username: "admin:{{SessionName}}"
  groups: [system:masters, "raw:{{SessionNameRaw}}"]
`
	mapUsers = `- userarn: arn:aws:iam::111122223333:user/alice
  username: "alice-{{AccessKeyID}}"
  groups: [devs]
`
)

// setup points the AWS SDK at the STS stand-in with alice's keys, and the
// token's GetCallerIdentity GET at it under the real STS host name, as the
// server's GET would go.
func setup(t *testing.T, who string) (*Options, *ststest.Rig, func() string, func() string) {
	t.Helper()
	rig := ststest.Start(t, ststest.Options{})
	id := rig.Identity(who)
	dir := t.TempDir()
	kc := filepath.Join(dir, "config")
	if err := os.WriteFile(kc, []byte(kubeconfigYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	rig.UseAs(t, id, dir)
	for k, v := range map[string]string{
		"HOME":       dir,
		"KUBECONFIG": kc,
	} {
		t.Setenv(k, v)
	}
	io, _, out, errOut := iostreams.Test()
	opts := &Options{IO: io, Timeout: 10 * time.Second, Now: time.Now, HTTPClient: rig.Proxy.Client(),
		Client: cluster(clusterID, mapRoles, mapUsers)}
	return opts, rig, out.String, errOut.String
}

func report(t *testing.T, out string) Report {
	t.Helper()
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	return rep
}

// A mapped IAM user: STS is asked with a token signed for the cluster ID,
// and {{AccessKeyID}} expands to the key that signed it.
func TestMappedUser(t *testing.T) {
	opts, rig, out, _ := setup(t, "alice")
	opts.Output = "json"
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	rep := report(t, out())
	alice := rig.Identity("alice")
	if !rep.Verified || rep.Context != "prod-aws" || rep.ClusterID != clusterID || rep.ARN != alice.ARN || rep.CanonicalARN != alice.ARN {
		t.Errorf("report %+v", rep)
	}
	if !rep.Mapped || rep.Mapping.Kind != "user" || rep.Mapping.Username != "alice-"+alice.AccessKeyID || strings.Join(rep.Mapping.Groups, ",") != "devs" {
		t.Errorf("mapping %+v", rep.Mapping)
	}
	if n := rig.Count("GetCallerIdentity"); n != 1 {
		t.Errorf("%d GetCallerIdentity calls, want the token's one", n)
	}
}

// An aws-iam-authenticator context with -r and -s: the role is assumed with
// that session name, and the assumed-role ARN maps through its role with
// the session-name templates ("@" replaced in {{SessionName}} only).
func TestAssumedRoleFromAuthenticatorContext(t *testing.T) {
	opts, _, out, _ := setup(t, "alice")
	opts.Context = "admin-role"
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"context:        admin-role\n",
		"ARN:            arn:aws:sts::111122223333:assumed-role/KubeAdmin/alice@example.com (STS GetCallerIdentity",
		"canonical ARN:  arn:aws:iam::111122223333:role/KubeAdmin\n",
		"mapping:        role arn:aws:iam::111122223333:role/KubeAdmin → admin:{{SessionName}} [system:masters, raw:{{SessionNameRaw}}] (aws-auth mapRoles)\n",
		"username:       admin:alice-example.com\n",
		"groups:         system:masters, raw:alice@example.com\n",
	} {
		if !strings.Contains(out(), want) {
			t.Errorf("output lacks %q:\n%s", want, out())
		}
	}
}

// An unmapped identity: the report still prints, the error says denied
// with a hint, so the exit code is non-zero.
func TestUnmapped(t *testing.T) {
	opts, _, out, _ := setup(t, "mallory")
	opts.Output = "json"
	err := Run(context.Background(), opts)
	if err == nil || err.Error() != ErrUnmapped.Error() || !strings.Contains(hint.Of(err), "--user-arn arn:aws:iam::111122223333:user/mallory") {
		t.Fatalf("err = %v", err)
	}
	if rep := report(t, out()); rep.Mapped || rep.Mapping != nil || rep.CanonicalARN != "arn:aws:iam::111122223333:user/mallory" {
		t.Errorf("report %+v", rep)
	}
}

// A context signing for another cluster ID than the installed server
// checks is denied whatever the mappings say.
func TestClusterIDMismatch(t *testing.T) {
	opts, _, _, _ := setup(t, "alice")
	opts.Client = cluster("another-id", mapRoles, mapUsers)
	err := Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "cluster ID mismatch") {
		t.Fatalf("err = %v", err)
	}
}

// STS refusing the credentials is an error about the identity, not a
// denial by mappings.
func TestSTSRefuses(t *testing.T) {
	opts, _, _, _ := setup(t, "alice")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	err := Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "could not get the caller identity") {
		t.Fatalf("err = %v", err)
	}
}

// The aws CLI's spelling: --cluster-name, --region among its globals,
// AWS_PROFILE in the exec env.
func TestRequestOfAWSCLI(t *testing.T) {
	opts, _, _, _ := setup(t, "alice")
	_, e, err := execOf("cli")
	if err != nil {
		t.Fatal(err)
	}
	req := requestOf(e)
	if req.ClusterID != clusterID || req.Region != "us-west-2" || req.Profile != "ops" {
		t.Errorf("request %+v", req)
	}
	// Flags override the context's arguments.
	opts.Context, opts.Req.Profile = "cli", "other"
	got, err := requestFor(opts, &Report{})
	if err != nil || got.Profile != "other" || got.ClusterID != clusterID {
		t.Errorf("requestFor = %+v, %v", got, err)
	}
}

// Flag parsing: the two mapping sources exclude each other.
func TestFlags(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	var got *Options
	cmd := NewCmd(io, func(o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--context", "c", "--kubeconfig", "admin", "-i", "x", "-r", "arn:aws:iam::1:role/R", "-o", "json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Context != "c" || got.Kubeconfig != "admin" || got.Req.ClusterID != "x" || got.Req.RoleARN != "arn:aws:iam::1:role/R" {
		t.Errorf("options %+v", got)
	}
	cmd = NewCmd(io, func(*Options) error { return nil })
	cmd.SetArgs([]string{"-f", "spec", "--kubeconfig", "admin"})
	var ue *clierr.UsageError
	if err := cmd.Execute(); !errors.As(err, &ue) {
		t.Errorf("err = %v, want a usage error", err)
	}
}
