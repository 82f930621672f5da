package root

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/handover"
)

// KubectlPluginName is the name krew installs kubeiam under; kubectl runs
// `kubectl iam ARGS` as `kubectl-iam ARGS`.
const KubectlPluginName = "kubectl-iam"

// kubectlPluginProg prefixes errors when run as a kubectl plugin, so the
// message names the command the user typed.
const kubectlPluginProg = clierr.KubectlPlugin

// isKubectlPlugin tells whether the user ran `kubectl iam`: argv[0] when
// kubeiam-core itself is installed as kubectl-iam, else the name the front
// was run under.
func isKubectlPlugin(argv0 string) bool {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	return base == KubectlPluginName || os.Getenv(handover.InvokedAsEnv) == KubectlPluginName
}

// asKubectlPlugin makes help, usage lines and examples say `kubectl iam`,
// the way the user reaches the commands through kubectl. The verbs stay the
// same. The completion-script generator is dropped: kubectl completes
// plugins itself, through a kubectl_complete-iam helper on PATH that calls
// `kubectl-iam __complete` (see docs/completion.md), and a script generated
// for a program named "kubectl iam" would not load.
func asKubectlPlugin(cmd *cobra.Command) {
	cmd.Use = "iam"
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[cobra.CommandDisplayNameAnnotation] = kubectlPluginProg
	cmd.CompletionOptions.DisableDefaultCmd = true
	walk(cmd, func(c *cobra.Command) {
		c.Example = strings.ReplaceAll(c.Example, "kubeiam ", "kubectl iam ")
	})
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}
