package kubeconfig

import (
	"context"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const uuid = "5f0c3c8e-7d1e-4b4e-9a55-0d7e2a3f9b11" // codectest.UUID

// fakeAPIServer answers the one request write makes: GET of the
// authenticator ConfigMap, checking the bearer token the admin kubeconfig
// carries.
func fakeAPIServer(t *testing.T, status int, configYAML string) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer admin-token" {
			http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","code":401}`, 401)
			return
		}
		if r.URL.Path != "/api/v1/namespaces/kube-system/configmaps/aws-iam-authenticator" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if status != 200 {
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":%d,"details":{"name":"aws-iam-authenticator","kind":"configmaps"}}`, status)
			return
		}
		fmt.Fprintf(w, `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"aws-iam-authenticator","namespace":"kube-system"},"data":{"config.yaml":%q}}`, configYAML)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// eksaLayout writes NAME/NAME-eks-a-cluster.kubeconfig as EKS-A leaves it,
// pointing at server, and chdirs into the directory that holds it.
func eksaLayout(t *testing.T, name string, srv *httptest.Server) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	admin := clientcmdapi.NewConfig()
	admin.Clusters[name] = &clientcmdapi.Cluster{Server: srv.URL, CertificateAuthorityData: ca}
	admin.AuthInfos[name+"-admin"] = &clientcmdapi.AuthInfo{Token: "admin-token"}
	admin.Contexts[name+"-admin@"+name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name + "-admin"}
	admin.CurrentContext = name + "-admin@" + name
	if _, err := Edit(context.Background(), DefaultAdminKubeconfig(name), EditOptions{Replace: true}, func(c *clientcmdapi.Config) error {
		*c = *admin
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWriteReadsClusterIDFromTheCluster(t *testing.T) {
	srv := fakeAPIServer(t, 200, "clusterID: "+uuid+"\n")
	eksaLayout(t, "prod", srv)

	res, e, err := Write(context.Background(), WriteInput{Cluster: "prod", Profile: "prod-admins", RoleARN: "arn:aws:iam::111122223333:role/eks"}, OutputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.ClusterID != uuid || res.Path != "prod/prod-aws.kubeconfig" {
		t.Fatalf("id %q path %q", e.ClusterID, res.Path)
	}
	cfg, err := LoadFile("prod/prod-aws.kubeconfig")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "prod-aws" || cfg.Contexts["prod-aws"].Cluster != "prod" || cfg.Contexts["prod-aws"].AuthInfo != "prod-aws" {
		t.Errorf("names not as EKS-A writes them: %+v", cfg.Contexts)
	}
	if c := cfg.Clusters["prod"]; c.Server != srv.URL || len(c.CertificateAuthorityData) == 0 {
		t.Errorf("cluster = %+v", c)
	}
	x := cfg.AuthInfos["prod-aws"].Exec
	wantArgs := []string{"token", "-i", uuid, "--role-arn", "arn:aws:iam::111122223333:role/eks", "--profile", "prod-admins"}
	if x.Command != "kubeiam" || !slices.Equal(x.Args, wantArgs) || x.APIVersion != ExecAPIv1beta1 || x.InstallHint == "" {
		t.Errorf("exec = %+v", x)
	}
	if x.Env != nil {
		t.Errorf("env = %v, want none unless asked", x.Env)
	}
	fi, _ := os.Stat("prod/prod-aws.kubeconfig")
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
}

func TestWriteFlagsVariants(t *testing.T) {
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, testCA(t), 0o600)
	out := filepath.Join(dir, "out")
	in := WriteInput{Cluster: "c1", Server: "https://10.0.0.1:6443", CAFile: caFile, ClusterID: "id-1",
		ExecCommand: "aws-iam-authenticator", ExecAPIVersion: "v1", Profile: "p", RoleARN: "arn:aws:iam::111122223333:role/r", Env: []string{"A=b"}}
	if _, _, err := Write(context.Background(), in, OutputOptions{Output: out}); err != nil {
		t.Fatal(err)
	}
	cfg, _ := LoadFile(out)
	x := cfg.AuthInfos["c1-aws"].Exec
	if x.APIVersion != ExecAPIv1 || x.InteractiveMode != clientcmdapi.IfAvailableExecInteractiveMode {
		t.Errorf("v1 exec = %+v", x)
	}
	// The upstream client has no --profile: the profile goes to AWS_PROFILE.
	if !slices.Equal(x.Args, []string{"token", "-i", "id-1", "-r", "arn:aws:iam::111122223333:role/r"}) {
		t.Errorf("args = %v", x.Args)
	}
	if !slices.Equal(x.Env, []clientcmdapi.ExecEnvVar{{Name: "A", Value: "b"}, {Name: "AWS_PROFILE", Value: "p"}}) {
		t.Errorf("env = %v", x.Env)
	}
	if !strings.Contains(x.InstallHint, "kubeiam bundle install") {
		t.Errorf("hint = %q", x.InstallHint)
	}

	in = WriteInput{Cluster: "c1", Server: "https://h", CAFile: caFile, ClusterID: "id-1", ExecAbsolute: true, Executable: "/opt/bin/kubeiam"}
	e, err := Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if e.User.Exec.Command != "/opt/bin/kubeiam" {
		t.Errorf("absolute command = %q", e.User.Exec.Command)
	}
}

func TestWriteMergeKeepsOthersAndCurrentContextIsOptIn(t *testing.T) {
	srv := fakeAPIServer(t, 200, "clusterID: "+uuid)
	dir := eksaLayout(t, "prod", srv)
	kc := filepath.Join(dir, "home-config")
	writeFile(t, kc, existingConfig, 0o600)
	if _, _, err := Write(context.Background(), WriteInput{Cluster: "prod"}, OutputOptions{Merge: true, Kubeconfig: kc}); err != nil {
		t.Fatal(err)
	}
	cfg, _ := LoadFile(kc)
	if cfg.CurrentContext != "other" || cfg.Contexts["prod-aws"] == nil || cfg.Contexts["other"] == nil {
		t.Errorf("after merge: current %q contexts %v", cfg.CurrentContext, slices.Sorted(maps.Keys(cfg.Contexts)))
	}
	if _, _, err := Write(context.Background(), WriteInput{Cluster: "prod"}, OutputOptions{Merge: true, Kubeconfig: kc, SetCurrentContext: true}); err != nil {
		t.Fatal(err)
	}
	cfg, _ = LoadFile(kc)
	if cfg.CurrentContext != "prod-aws" {
		t.Errorf("current = %q", cfg.CurrentContext)
	}
}

func TestWriteBadInputs(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.der")
	os.WriteFile(notPEM, []byte("\x30\x82garbage"), 0o600)
	keyPEM := filepath.Join(dir, "key.pem")
	os.WriteFile(keyPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}}), 0o600)
	goodCA := filepath.Join(dir, "ca.pem")
	os.WriteFile(goodCA, testCA(t), 0o600)
	notFound := fakeAPIServer(t, 404, "")
	noID := fakeAPIServer(t, 200, "server: {}\n")
	dead := httptest.NewTLSServer(http.NotFoundHandler())
	dead.Close()

	cases := []struct {
		name string
		srv  *httptest.Server
		in   WriteInput
		want string
	}{
		{"missing admin kubeconfig", nil, WriteInput{Cluster: "nope"}, "could not read admin kubeconfig nope/nope-eks-a-cluster.kubeconfig: file does not exist"},
		{"CA not PEM", nil, WriteInput{Cluster: "c", Server: "https://h", CAFile: notPEM, ClusterID: "x"}, "not a PEM certificate"},
		{"CA is a key", nil, WriteInput{Cluster: "c", Server: "https://h", CAFile: keyPEM, ClusterID: "x"}, `found a "EC PRIVATE KEY" block`},
		{"no configmap", notFound, WriteInput{Cluster: "c"}, "configmap kube-system/aws-iam-authenticator not found"},
		{"no clusterID", noID, WriteInput{Cluster: "c"}, "cluster ID is empty"},
		{"unreachable", dead, WriteInput{Cluster: "c"}, "could not read cluster ID from https://127.0.0.1"},
		{"server without CA", nil, WriteInput{Cluster: "c", Server: "https://h", ClusterID: "x"}, "go together"},
		{"bad id", nil, WriteInput{Cluster: "c", Server: "https://h", CAFile: goodCA, ClusterID: "a b"}, "contains whitespace"},
		{"bad env", nil, WriteInput{Cluster: "c", Server: "https://h", CAFile: goodCA, ClusterID: "x", Env: []string{"NOEQUALS"}}, "want NAME=VALUE"},
		{"unknown exec command", nil, WriteInput{Cluster: "c", Server: "https://h", CAFile: goodCA, ClusterID: "x", ExecCommand: "gcloud"}, "unsupported exec command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.srv != nil {
				eksaLayout(t, "c", tc.srv)
			} else {
				t.Chdir(t.TempDir())
			}
			_, _, err := Write(context.Background(), tc.in, OutputOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(DefaultOutput(tc.in.Cluster)); !os.IsNotExist(err) {
				t.Error("something was written")
			}
		})
	}
}

func TestParseClusterID(t *testing.T) {
	for in, want := range map[string]string{
		"clusterID: " + uuid:                        uuid,
		"clusterID: abc\nserver:\n  mapRoles: []\n": "abc",
	} {
		got, err := ParseClusterID(in)
		if err != nil || got != want {
			t.Errorf("ParseClusterID(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "clusterID: 'a b'", "clusterID: [", "other: x"} {
		if _, err := ParseClusterID(in); err == nil {
			t.Errorf("ParseClusterID(%q) accepted", in)
		}
	}
}
