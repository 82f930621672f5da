// Package kubeconfig writes, merges and edits kubeconfig files for clusters
// that authenticate through aws-iam-authenticator tokens. It is a plain Go API
// on client-go's clientcmd (no cobra, no clientset) so that other programs can
// use it and so that the `kubeiam token` hot path never has to link it.
//
// Every write follows the rules kubectl's own writer follows, plus a few it
// does not: the `<file>.lock` that client-go's clientcmd.ModifyConfig takes is
// taken here too (so kubeiam and kubectl never interleave), the new content
// goes to a temporary file in the same directory and is renamed into place
// (so a reader never sees half a file), the previous content is kept as
// `<file>.bak`, and the file mode is preserved. Files are read and written by
// kubeconfig/internal/codec, which gives what clientcmd reads and writes
// kubectl's layout byte for byte, in a fraction of clientcmd's time on large
// files.
//
// The exported API is part of kubeiam's library promise: api/kubeiam.txt
// records it and a test fails when it changes (README, "Using kubeiam as a
// library").
package kubeconfig

import (
	"os"

	"github.com/kubeiam/kubeiam/internal/session"
)

// Files returns the kubeconfig files in kubectl's precedence order: the
// explicit path alone when set, else the entries of the KUBECONFIG list
// (empty entries skipped), else ~/.kube/config.
func Files(explicit, kubeconfigEnv, home string) []string {
	return session.Files(explicit, kubeconfigEnv, home)
}

// DefaultFiles is Files with the process environment.
func DefaultFiles(explicit string) []string {
	home, _ := os.UserHomeDir()
	return Files(explicit, os.Getenv("KUBECONFIG"), home)
}

// Target is the file that a merge writes to: the first of Files, as kubectl
// writes new entries to the first file of the KUBECONFIG list.
func Target(explicit string) string {
	return DefaultFiles(explicit)[0]
}
