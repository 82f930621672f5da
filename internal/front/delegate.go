package front

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kubeiam/kubeiam/internal/handover"
)

// Delegate runs kubeiam-core with the same arguments, environment and
// streams, and returns its exit code. On Unix the front process is replaced
// and Delegate returns only on failure.
func Delegate(args []string) int {
	core, err := handover.FindCore()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeiam: %v\nhint: install both binaries: go install github.com/kubeiam/kubeiam/cmd/...@latest\n", err)
		return 1
	}
	os.Setenv(handover.InvokedAsEnv, strings.TrimSuffix(filepath.Base(args[0]), ".exe"))
	if self, err := os.Executable(); err == nil {
		os.Setenv(handover.FrontEnv, self)
	}
	os.Setenv(handover.CallerPIDEnv, strconv.Itoa(os.Getppid()))
	argv := append([]string{core}, args[1:]...)
	if err := execve(core, argv); err != nil {
		fmt.Fprintf(os.Stderr, "kubeiam: could not run %s: %v\n", core, err)
		return 1
	}
	return 0
}
