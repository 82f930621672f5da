package execplugin

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	name := CoreName + exeSuffix
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

// HandoverEnv are the variables the front sets for kubeiam-core alone; a
// command kubeiam-core runs (`kubeiam shell`) gets them removed.
var HandoverEnv = []string{InvokedAsEnv, FrontEnv, CallerPIDEnv}

// Delegate runs kubeiam-core with the same arguments, environment and
// streams, and returns its exit code. On Unix the front process is replaced
// and Delegate returns only on failure.
func Delegate(args []string) int {
	core, err := FindCore()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeiam: %v\nhint: install both binaries: go install github.com/kubeiam/kubeiam/cmd/...@latest\n", err)
		return 1
	}
	os.Setenv(InvokedAsEnv, strings.TrimSuffix(filepath.Base(args[0]), ".exe"))
	if self, err := os.Executable(); err == nil {
		os.Setenv(FrontEnv, self)
	}
	os.Setenv(CallerPIDEnv, strconv.Itoa(os.Getppid()))
	argv := append([]string{core}, args[1:]...)
	if err := execve(core, argv); err != nil {
		fmt.Fprintf(os.Stderr, "kubeiam: could not run %s: %v\n", core, err)
		return 1
	}
	return 0
}
