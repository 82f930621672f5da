package root

import (
	"github.com/spf13/cobra"
)

// authenticatorGlobals declares aws-iam-authenticator's global flags on the
// drop-in's root, so `aws-iam-authenticator -i ID token` (flags before the
// verb, as that client allows) parses. -i is read by token's own flag of the
// same name; --config, --log-format and --feature-gates configure the
// upstream server and logger and are accepted and ignored.
func authenticatorGlobals(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	var ignored string
	f.StringVarP(&ignored, "cluster-id", "i", "", "cluster ID (also accepted after the verb)")
	f.StringVarP(&ignored, "config", "c", "", "accepted for compatibility; ignored")
	f.StringVarP(&ignored, "log-format", "l", "text", "accepted for compatibility; ignored")
	f.StringVar(&ignored, "feature-gates", "", "accepted for compatibility; ignored")
	for _, n := range []string{"config", "log-format", "feature-gates"} {
		_ = f.MarkHidden(n)
	}
}
