package mappings

import (
	"fmt"
	"strings"

	"github.com/kubeiam/kubeiam/internal/text"
)

// DescribeAdmins says who reaches cluster-admin through a mapping after a
// change, or that nobody does, one line each; `server install`/`sync` print
// it too, after a change to the spec's mappings.
func DescribeAdmins(admins []string, source string) string {
	if len(admins) == 0 {
		return fmt.Sprintf("cluster-admin after the change: no mapping (judged by %s)\n", source)
	}
	return fmt.Sprintf("cluster-admin after the change (judged by %s):\n  %s\n", source, strings.Join(admins, "\n  "))
}

// describeEKSAdmins is the line every access-entry change prints: who stays
// cluster admin.
func describeEKSAdmins(admins []string) string {
	if len(admins) == 0 {
		return "no principal is cluster admin"
	}
	return fmt.Sprintf("%d %s cluster admin: %s", len(admins), text.Plural(len(admins), "principal stays", "principals stay"), strings.Join(admins, "; "))
}
