package kubeerr

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

const dupUsers = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1"}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
users:
- name: u
  user: {token: SECRET-TOKEN-AAA}
- name: u
  user: {token: "SECRET\nTOKEN-BBB"}
`

// The error client-go really gives (not a copy of its text) is what Scrub
// must clean: a client-go update that changes the wording fails here.
func TestScrubClientGoDuplicate(t *testing.T) {
	cases := map[string]struct{ file, name, list string }{
		"users": {dupUsers, `"u"`, "users"},
		"contexts": {`apiVersion: v1
kind: Config
contexts:
- name: "x\"y"
  context: {cluster: c, user: SECRET-A}
- name: "x\"y"
  context: {cluster: c, user: SECRET-B}
`, `"x\"y"`, "contexts"},
		"cluster extensions": {`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://h
    extensions:
    - name: e
      extension: {a: SECRET-A}
    - name: e
      extension: {a: SECRET-B}
`, `"e"`, "extensions"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, raw := clientcmd.Load([]byte(c.file))
			if raw == nil || !strings.Contains(raw.Error(), "in list: [") {
				t.Fatalf("client-go no longer dumps the list (err %v): Scrub may be unneeded", raw)
			}
			err := Scrub(fmt.Errorf("could not load kubeconfig: %w", raw))
			want := "duplicate name " + c.name + " in " + c.list + " (each name may appear once)"
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "[") || !strings.HasSuffix(err.Error(), want) {
				t.Errorf("Scrub = %q, want it to end %q and hold no secret", err, want)
			}
			if !strings.HasPrefix(err.Error(), "could not load kubeconfig: ") {
				t.Errorf("Scrub dropped the context: %q", err)
			}
			if !errors.Is(err, ErrDuplicate) || errors.Unwrap(err) != nil {
				t.Errorf("Scrub's error must match ErrDuplicate and lead back to nothing")
			}
		})
	}
}

func TestScrubLeavesOtherErrors(t *testing.T) {
	for _, err := range []error{nil, errors.New("could not read kubeconfig: permission denied")} {
		if got := Scrub(err); got != err {
			t.Errorf("Scrub(%v) = %v", err, got)
		}
	}
}
