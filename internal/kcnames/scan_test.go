package kcnames_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/kubeiam/kubeiam/internal/kcnames"
	"github.com/kubeiam/kubeiam/internal/session"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// Files Scan must read (the front answers for them), each with its
// contexts as kubectl reads them.
var sure = map[string]string{
	// kubectl's own layout, as `kubectl config` writes it.
	"kubectl": `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: aGVsbG8=
    server: https://c:6443
  name: c
contexts:
- context:
    cluster: c
    namespace: kube-system
    user: u
  name: dev
- context:
    cluster: c
    user: u
  name: arn:aws:eks:us-west-2:111122223333:cluster/prod
current-context: dev
kind: Config
preferences: {}
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - token
      - -i
      - prod
      - --region
      - us-west-2
      command: kubeiam
      env:
      - name: AWS_PROFILE
        value: prod
      - name: EMPTY
        value: ""
      installHint: install kubeiam
      interactiveMode: IfAvailable
      provideClusterInfo: false
`,
	// Hand-written: flow mappings, comments, quotes, a sequence indented
	// under its key, a null list.
	"hand": `# my clusters
apiVersion: v1
kind: Config
clusters:
  - name: c   # the lab
    cluster: {server: "https://c:6443", insecure-skip-tls-verify: true}
users:
  - name: u
    user: {token: abc}
contexts:
- {name: team-1, context: {cluster: c, user: u}}
- name: 'it''s'
  context: {cluster: c, user: u}
- name: "dq \"x\" \u00fc"
  context:
    cluster: c
    user: u
    extensions:
    - name: kubeiam.io/discovered
      extension: {profile: p, region: us-west-2}
current-context: team-1
x-unknown: {a: [1, two, {b: c}], n: -3}
`,
	// JSON, as some tools write it.
	"json": `{"apiVersion":"v1","kind":"Config","clusters":[{"name":"c","cluster":{"server":"https://c:6443"}}],
"contexts":[{"name":"j1","context":{"cluster":"c","user":"u"}},{"name":"j2","context":{}}],
"users":[{"name":"u","user":{"exec":{"command":"kubeiam","args":["token","--region","x"]}}}],"current-context":"j1"}
`,
	"flow lines":    "contexts: [{name: a,\n    context: {}},   # first\n  {name: b}\n  ]\nusers: []\n",
	"empty":         "",
	"comments only": "# nothing yet\n\n",
	"null lists":    "apiVersion: v1\nclusters: null\ncontexts: ~\nusers: []\n",
	"private":       string(session.PrivateConfig("it's")),
}

// Files Scan must leave to kubeiam-core: each is one YAML feature it does
// not read, or one that kubectl's decoder reads otherwise or refuses.
var unsure = map[string]string{
	"anchor":          "contexts:\n- &a {name: a, context: {}}\n- *a\n",
	"tag":             "contexts:\n- name: !!str a\n",
	"literal":         "users:\n- name: u\n  user:\n    token: |\n      abc\n",
	"folded plain":    "contexts:\n- name: a\n  context:\n    cluster: c\n      d\n",
	"numeric name":    "contexts:\n- name: 123\n  context: {}\n",
	"bool name":       "contexts:\n- name: yes\n  context: {}\n",
	"duplicate name":  "contexts:\n- {name: a, context: {}}\n- {name: a, context: {}}\n",
	"duplicate key":   "contexts: []\ncontexts:\n- {name: a, context: {}}\n",
	"bad base64":      "clusters:\n- name: c\n  cluster: {certificate-authority-data: 'not base64!'}\n",
	"string bool":     "clusters:\n- name: c\n  cluster: {insecure-skip-tls-verify: 'true'}\n",
	"args not list":   "users:\n- name: u\n  user: {exec: {args: token}}\n",
	"other kind":      "kind: Pod\n",
	"two documents":   "---\ncontexts: []\n---\ncontexts: []\n",
	"tab":             "contexts:\n-\t{name: a}\n",
	"crlf":            "contexts: []\r\n",
	"unclosed flow":   "contexts: [{name: a,\n  context: {}}\n",
	"flow dedented":   "contexts: [\n{name: a}]\n",
	"quoted folded":   "contexts: [{name: \"a\n  b\"}]\n",
	"scalar top":      "just text\n",
	"list top":        "- a\n",
	"colon in flow":   "clusters:\n- {name: c, cluster: {server: https://c:6443}}\n",
	"control char":    "contexts:\n- name: \"a\x01\"\n",
	"odd escape":      "contexts:\n- name: \"a\\x41\"\n  context: {}\n",
	"number in name2": "contexts:\n- name: -1\n  context: {}\n",
	"context string":  "contexts:\n- name: a\n  context: cluster\n",
}

func TestScanSure(t *testing.T) {
	for name, text := range sure {
		got, ok := kcnames.Scan([]byte(text))
		if !ok {
			t.Errorf("%s: not read", name)
			continue
		}
		assertSameAsKubeconfig(t, name, []byte(text), got)
	}
	got, _ := kcnames.Scan([]byte(sure["hand"]))
	if want := []string{`dq "x" ü`, "it's", "team-1"}; !slices.Equal(got.Contexts, want) || !got.HasContext("it's") || got.HasContext("team") {
		t.Errorf("hand: contexts %q, want %q", got.Contexts, want)
	}
}

func TestScanUnsure(t *testing.T) {
	for name, text := range unsure {
		if got, ok := kcnames.Scan([]byte(text)); ok {
			t.Errorf("%s: read as %+v; want it left to kubeiam-core", name, got)
		}
	}
}

// FuzzScan: whatever Scan reads, kubeconfig (kubectl's decoder) reads too,
// with the same entries.
func FuzzScan(f *testing.F) {
	for _, text := range sure {
		f.Add(text)
	}
	for _, text := range unsure {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if got, ok := kcnames.Scan([]byte(text)); ok {
			assertSameAsKubeconfig(t, "fuzz", []byte(text), got)
		}
	})
}

func assertSameAsKubeconfig(t *testing.T, name string, data []byte, got *kcnames.Entries) {
	t.Helper()
	cfg, err := kubeconfig.Parse(name, data)
	if err != nil {
		t.Fatalf("%s: Scan read what kubeconfig refuses (%v):\n%q", name, err, data)
	}
	want := kcnames.Entries{
		Clusters: slices.Sorted(maps.Keys(cfg.Clusters)),
		Contexts: slices.Sorted(maps.Keys(cfg.Contexts)),
		Users:    slices.Sorted(maps.Keys(cfg.AuthInfos)),
	}
	if !slices.Equal(got.Clusters, want.Clusters) || !slices.Equal(got.Contexts, want.Contexts) || !slices.Equal(got.Users, want.Users) {
		t.Fatalf("%s: Scan read %+v, kubeconfig %+v in\n%s", name, *got, want, strings.TrimSpace(string(data)))
	}
}
