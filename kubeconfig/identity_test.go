package kubeconfig

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func loadString(t *testing.T, s string) *clientcmdapi.Config {
	t.Helper()
	cfg, err := Parse("test", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestAdoptKeepsIdentity(t *testing.T) {
	cfg := loadString(t, upstreamConfig)
	as, err := Adopt(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Adoption{}
	for _, a := range as {
		got[a.Context] = a
	}
	if _, ok := got["plain"]; ok {
		t.Error("--all reported a context that never was an IAM one")
	}
	if !got["a-aws"].Adopted || !got["b"].Adopted || got["weird"].Adopted {
		t.Fatalf("adoptions = %+v", as)
	}
	if !strings.Contains(got["weird"].Reason, "--some-new-flag") {
		t.Errorf("reason = %q", got["weird"].Reason)
	}
	a := cfg.AuthInfos["a-aws"].Exec
	if a.Command != "kubeiam" || !slices.Equal(a.Args, []string{"token", "-i", uuid, "--role-arn", "arn:aws:iam::111122223333:role/ops", "--profile", "ops"}) {
		t.Errorf("a exec = %s %v", a.Command, a.Args)
	}
	if a.APIVersion != ExecAPIv1beta1 {
		t.Errorf("v1alpha1 kept: %s", a.APIVersion)
	}
	if !slices.Equal(a.Env, []clientcmdapi.ExecEnvVar{{Name: "AWS_STS_REGIONAL_ENDPOINTS", Value: "regional"}}) {
		t.Errorf("env = %v: AWS_PROFILE should move to --profile, the rest stay", a.Env)
	}
	b := cfg.AuthInfos["b-eks"].Exec
	if !slices.Equal(b.Args, []string{"token", "-i", "b", "--role-arn", "arn:aws:iam::111122223333:role/dev", "--region", "eu-west-1", "--profile", "dev"}) {
		t.Errorf("b args = %v", b.Args)
	}
	// The identity read back is the one that went in.
	id, _ := IdentityOf(b)
	if id.ClusterID != "b" || id.Profile != "dev" || id.RoleARN != "arn:aws:iam::111122223333:role/dev" {
		t.Errorf("identity = %+v", id)
	}
	if w := cfg.AuthInfos["weird"].Exec; w.Command != "aws-iam-authenticator" {
		t.Error("unadoptable exec changed")
	}
	// Adopting again is a no-op.
	as, _ = Adopt(cfg, []string{"a-aws"})
	if as[0].Adopted || as[0].Reason != "already kubeiam" {
		t.Errorf("second adopt = %+v", as)
	}
}

func TestAdoptUnknownContext(t *testing.T) {
	_, err := Adopt(loadString(t, upstreamConfig), []string{"nope"})
	if err == nil || !strings.Contains(err.Error(), `could not find context "nope"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestSetProfile(t *testing.T) {
	cfg := loadString(t, upstreamConfig)
	if _, err := Adopt(cfg, []string{"a-aws"}); err != nil {
		t.Fatal(err)
	}
	if w, err := SetProfile(cfg, "a-aws", "prod", "", false); err != nil || w != "" {
		t.Fatal(w, err)
	}
	id, _ := IdentityOf(cfg.AuthInfos["a-aws"].Exec)
	if id.Profile != "prod" || id.RoleARN != "arn:aws:iam::111122223333:role/ops" {
		t.Errorf("role should stay when not given: %+v", id)
	}
	SetProfile(cfg, "a-aws", "prod", "arn:aws:iam::111122223333:role/x", true)
	args := cfg.AuthInfos["a-aws"].Exec.Args
	if n := strings.Count(strings.Join(args, " "), "--profile"); n != 1 {
		t.Errorf("args = %v", args)
	}
	SetProfile(cfg, "a-aws", "", "", true)
	if args := cfg.AuthInfos["a-aws"].Exec.Args; !slices.Equal(args, []string{"token", "-i", uuid}) {
		t.Errorf("unset args = %v", args)
	}
	w, err := SetProfile(cfg, "weird", "p", "", false)
	if err != nil || !strings.Contains(w, "AWS_PROFILE") {
		t.Errorf("upstream client: warning %q err %v", w, err)
	}
	if envValue(cfg.AuthInfos["weird"].Exec.Env, "AWS_PROFILE") != "p" {
		t.Error("upstream profile not in env")
	}
	if _, err := SetProfile(cfg, "cert", "p", "", false); err == nil || !strings.Contains(err.Error(), "no exec plugin") {
		t.Errorf("err = %v", err)
	}
}

func TestBindings(t *testing.T) {
	bs := Bindings(loadString(t, upstreamConfig))
	want := []Binding{
		{Context: "a-aws", Cluster: "a", ClusterID: uuid, Profile: "ops", RoleARN: "arn:aws:iam::111122223333:role/ops", Command: "/usr/local/bin/aws-iam-authenticator"},
		{Context: "b", Cluster: "b", ClusterID: "b", Profile: "dev", RoleARN: "arn:aws:iam::111122223333:role/dev", Command: "aws"},
		{Context: "plain", Cluster: "a", Current: true},
		{Context: "weird", Cluster: "a", ClusterID: "c", Command: "aws-iam-authenticator"},
	}
	if !slices.Equal(bs, want) {
		t.Errorf("bindings:\n got %+v\nwant %+v", bs, want)
	}
}

func TestRemoveKeepsWhatOthersUse(t *testing.T) {
	cfg := loadString(t, upstreamConfig)
	cfg.Contexts["a-aws"].AuthInfo = "a-aws"
	cfg.CurrentContext = "a-aws"
	r, err := Remove(cfg, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Removed, []string{"context a-aws", "user a-aws"}) || !slices.Equal(r.Kept, []string{"cluster a"}) {
		t.Errorf("removal = %+v", r)
	}
	if cfg.CurrentContext != "" {
		t.Error("current-context still points at the removed context")
	}
	if _, err := Remove(cfg, "zzz"); err == nil {
		t.Error("removing nothing succeeded")
	}
}

func TestUseAndSwitchBack(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "config")
	writeFile(t, kc, upstreamConfig, 0o600)
	store := PreviousStore{Path: filepath.Join(dir, "state", "prev.json")}
	files := []string{kc}
	if _, err := Use(context.Background(), files, "-", store, EditOptions{}); err == nil {
		t.Error("use - with no history succeeded")
	}
	if got, err := Use(context.Background(), files, "b", store, EditOptions{}); err != nil || got != "b" {
		t.Fatal(got, err)
	}
	if got, err := Use(context.Background(), files, "-", store, EditOptions{}); err != nil || got != "plain" {
		t.Fatalf("use - = %q, %v", got, err)
	}
	if got, _ := Use(context.Background(), files, "-", store, EditOptions{}); got != "b" {
		t.Errorf("use - twice = %q, want b", got)
	}
	cfg, _ := LoadFile(kc)
	if cfg.CurrentContext != "b" {
		t.Errorf("file current-context = %q", cfg.CurrentContext)
	}
	if _, err := Use(context.Background(), files, "nope", store, EditOptions{}); err == nil || !strings.Contains(err.Error(), "contexts: a-aws, b, plain, weird") {
		t.Errorf("err = %v", err)
	}
}

func TestFilesPrecedence(t *testing.T) {
	if got := Files("x", "a:b", "/h"); !slices.Equal(got, []string{"x"}) {
		t.Error(got)
	}
	if got := Files("", "a::b:a", "/h"); !slices.Equal(got, []string{"a", "b"}) {
		t.Error(got)
	}
	if got := Files("", "", "/h"); !slices.Equal(got, []string{"/h/.kube/config"}) {
		t.Error(got)
	}
}
