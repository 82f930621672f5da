// Package handover is the contract between the two binaries: how the small
// kubeiam front finds kubeiam-core and hands a call to it across exec — the
// variables it sets for the core alone, and the cache-entry lock it may pass
// on, held — and what the core takes back out of them. Both sides import it,
// and so does the kubeconfig package (FrontEnv names the command a kubeconfig
// should run), so it is a leaf: the standard library and syscall only.
package handover

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// CoreName is the full binary the front hands calls to.
const CoreName = "kubeiam-core"

// CoreEnv names the full binary explicitly (tests, unusual layouts).
const CoreEnv = "KUBEIAM_CORE"

// FindCore locates kubeiam-core: $KUBEIAM_CORE, then beside the running
// executable (how `go install ./cmd/...` and the release archives lay them
// out), then PATH.
func FindCore() (string, error) {
	if p := os.Getenv(CoreEnv); p != "" {
		return p, nil
	}
	name := CoreName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if self, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(self); err == nil {
			self = real
		}
		p := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", errors.New("could not find " + name + " beside kubeiam or on PATH")
}

// InvokedAsEnv tells kubeiam-core the name the user ran (kubeiam,
// aws-iam-authenticator, kubectl-iam), which decides how it answers. It is
// passed in the environment because argv[0] must name kubeiam-core itself
// for multi-call launchers (test binaries) to dispatch on it.
const InvokedAsEnv = "KUBEIAM_INVOKED_AS"

// FrontEnv tells kubeiam-core the path of the front binary that handed it
// the call, which is the command a kubeconfig should run
// (`kubeconfig write --exec-absolute`), not kubeiam-core itself.
const FrontEnv = "KUBEIAM_FRONT"

// CallerPIDEnv tells kubeiam-core the pid of the process that ran the
// front (`kubeiam use --export` records the shell that evaluates it): on
// Windows the core is the front's child, so its own parent is the front.
const CallerPIDEnv = "KUBEIAM_CALLER_PID"

// Env are the variables the front sets for kubeiam-core alone; a command
// kubeiam-core runs (`kubeiam shell`) gets them removed.
var Env = []string{InvokedAsEnv, FrontEnv, CallerPIDEnv}

// ChildEnv is env without what the front set for kubeiam-core alone: the
// environment of a command `kubeiam shell` runs.
func ChildEnv(env []string) []string {
	return slices.DeleteFunc(env, func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(Env, k)
	})
}

// ShellAddedCmd is kubeiam-core's hidden command that reports the entries
// added to a session's private file, for the front's `kubeiam shell`.
const ShellAddedCmd = "__shell-added"
