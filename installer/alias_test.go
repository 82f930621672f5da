package installer

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kubeiam/kubeiam/internal/testwait"
)

const aliasSpecHead = `apiVersion: anywhere.eks.amazonaws.com/v1alpha1
kind: Cluster
metadata: {name: c}
spec:
  identityProviderRefs: [{kind: AWSIamConfig, name: iam}]
---
apiVersion: anywhere.eks.amazonaws.com/v1alpha1
kind: AWSIamConfig
metadata: {name: iam}
`

func TestAliasesResolve(t *testing.T) {
	spec := aliasSpecHead + `spec:
  awsRegion: &r us-west-2
  backendMode: &modes [EKSConfigMap]
  mapRoles:
  - &base {roleARN: "arn:aws:iam::111122223333:role/A", username: a, groups: &g [x, y]}
  - <<: [*base, {username: ignored, groups: [z]}]
    roleARN: arn:aws:iam::111122223333:role/B
  mapUsers:
  - {userARN: "arn:aws:iam::111122223333:user/u", username: *r, groups: *g}
`
	s, err := ParseSpec("s.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config
	got := fmt.Sprintf("%s %v %s %s %v %s %v", c.AWSRegion, c.BackendMode, c.MapRoles[1].ARN, c.MapRoles[1].Username, c.MapRoles[1].Groups, c.MapUsers[0].Username, c.MapUsers[0].Groups)
	// Keys written beside << win; the first merged map wins over the next.
	want := "us-west-2 [EKSConfigMap] arn:aws:iam::111122223333:role/B a [x y] us-west-2 [x y]"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// Bombs of every shape are refused fast: wide, deep, through mapping keys
// and merge keys.
func TestAliasBombs(t *testing.T) {
	wide := func(name, prev string) string {
		return fmt.Sprintf("  %s: &%s [%s]\n", name, name, strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ","))
	}
	var list, merge strings.Builder
	list.WriteString("x:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	merge.WriteString("x:\n  a0: &a0 {k: v}\n")
	for i := 1; i <= 30; i++ {
		list.WriteString(wide(fmt.Sprintf("a%d", i), fmt.Sprintf("a%d", i-1)))
		fmt.Fprintf(&merge, "  a%d: &a%d {<<: *a%d, l%d: *a%d, r%d: *a%d}\n", i, i, i-1, i, i-1, i, i-1)
	}
	// "Fast" is relative to parsing a plain spec on this machine now: a
	// bomb expanded even once over would take orders of magnitude longer
	// than the limit, and a slow machine slows the baseline too.
	base := testwait.Baseline(5, func() { ParseSpec("plain.yaml", []byte(aliasSpecHead+"spec: {}\n")) })
	limit := testwait.Limit(base, 1000, time.Second, 0)
	for name, body := range map[string]string{"sequences": list.String(), "merges": merge.String()} {
		start := time.Now()
		_, err := ParseSpec("bomb.yaml", []byte(aliasSpecHead+body+"spec: {}\n"))
		if err == nil || !strings.Contains(err.Error(), "alias bomb") {
			t.Errorf("%s: %v", name, err)
		}
		if d := time.Since(start); d > limit {
			t.Errorf("%s: took %s, want under %s", name, d, limit)
		}
	}
}

// The cluster ID reads back as the same string whatever it looks like, and
// cannot add keys to config.yaml.
func TestConfigYAML(t *testing.T) {
	for _, id := range []string{"c0ffee00-0000-4000-8000-000000000001", "on", "0123", "1e3", "my-cluster", "a:b", "#x", "*x"} {
		y, err := ConfigYAML(id)
		if err != nil {
			t.Fatalf("%q: %v", id, err)
		}
		var back map[string]any
		if err := yaml.Unmarshal([]byte(y), &back); err != nil || back["clusterID"] != id || len(back) != 1 {
			t.Errorf("%q: config.yaml %q reads back as %v (%v)", id, y, back, err)
		}
	}
	for _, id := range []string{"", "c1\nserver: evil", "a b"} {
		if _, err := ConfigYAML(id); err == nil {
			t.Errorf("%q accepted", id)
		}
	}
}
