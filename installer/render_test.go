package installer

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, got)
	}
}

func TestRenderSeedGolden(t *testing.T) {
	s, err := load(t, "testdata/seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Render(s, RenderOptions{Image: "public.ecr.aws/eks-distro/kubernetes-sigs/aws-iam-authenticator:v0.7.2-eks-1-31-1", ClusterID: "5b4cd0c4-93b6-4b2a-8f4e-0d2f8a4c9e11"})
	if err != nil {
		t.Fatal(err)
	}
	y, err := Encode(objs, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/seed.manifests.golden.yaml", y)

	// Every document decodes back to what was rendered, so the YAML
	// restyling changed only the looks.
	docs := strings.Split(string(y), "---\n")[1:]
	if len(docs) != len(objs) {
		t.Fatalf("%d documents for %d objects", len(docs), len(objs))
	}
	for i, d := range docs {
		var back map[string]any
		if err := sigsyaml.Unmarshal([]byte(d), &back); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(back)
		b, _ := json.Marshal(objs[i].Object)
		if !bytes.Equal(a, b) {
			t.Errorf("document %d round-trips to\n%s\nwant\n%s", i, a, b)
		}
	}
}

// The aws-auth strings are what the server parses: its own key names.
func TestAWSAuthData(t *testing.T) {
	cm, err := AWSAuth(IAMConfig{
		MapRoles:    []Mapping{{ARN: "arn:aws:iam::111122223333:role/KubeAdmin", Username: "admin:{{SessionName}}", Groups: []string{"system:masters"}}},
		MapAccounts: []string{"012345678901"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"mapRoles":    "- rolearn: arn:aws:iam::111122223333:role/KubeAdmin\n  username: admin:{{SessionName}}\n  groups:\n    - system:masters\n",
		"mapUsers":    "",
		"mapAccounts": "- \"012345678901\"\n",
	}
	for k, v := range want {
		if got, _, _ := unstructured.NestedString(cm.Object, "data", k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got := cm.GetAnnotations()[OwnedARNsAnnotation]; got != `["arn:aws:iam::111122223333:role/kubeadmin"]` {
		t.Errorf("owned = %s", got)
	}
}

func TestEncodeJSONList(t *testing.T) {
	s, _ := load(t, "testdata/seed.yaml")
	objs, err := Render(s, RenderOptions{Image: "img", ClusterID: "id"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(objs, "json")
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Kind  string
		Items []map[string]any
	}
	if err := json.Unmarshal(b, &l); err != nil || l.Kind != "List" || len(l.Items) != 7 {
		t.Errorf("kind %q, %d items, err %v", l.Kind, len(l.Items), err)
	}
	if _, err := Encode(objs, "toml"); err == nil {
		t.Error("toml accepted")
	}
}
