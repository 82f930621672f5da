package root

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/iostreams"
)

// Every verb a user can run shows at least one example in its help
// (`kubeiam help VERB`), and the examples call kubeiam by name, so the
// kubectl-plugin mode can rewrite them to `kubectl iam`.
func TestEveryVerbHasExamples(t *testing.T) {
	// Verbs that landed before this test and still owe an example. Adding
	// one needs no change here; the entry is then merely dead.
	owed := map[string]bool{"kubeiam mappings list": true}
	io, _, _, _ := iostreams.Test()
	walk(NewCmd(io), func(c *cobra.Command) {
		if !c.Runnable() || c.Hidden || c.Name() == "help" || strings.HasPrefix(c.CommandPath(), "kubeiam completion") {
			return
		}
		if owed[c.CommandPath()] && c.Example == "" {
			return
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no Example", c.CommandPath())
		} else if !strings.Contains(c.Example, "kubeiam ") {
			t.Errorf("%s: examples do not run kubeiam:\n%s", c.CommandPath(), c.Example)
		}
	})
}

// As kubectl-iam, help and examples name `kubectl iam`, and no example
// still says kubeiam.
func TestKubectlPluginExamples(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	cmd := NewCmd(io)
	asKubectlPlugin(cmd)
	walk(cmd, func(c *cobra.Command) {
		if strings.Contains(c.Example, "kubeiam ") {
			t.Errorf("%s: example still says kubeiam:\n%s", c.CommandPath(), c.Example)
		}
		if !strings.HasPrefix(c.CommandPath(), "kubectl iam") {
			t.Errorf("command path %q", c.CommandPath())
		}
	})
}
