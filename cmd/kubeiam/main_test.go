package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kubeiam/kubeiam/internal/cmd/root"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/seccomptest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		// The front answers cache hits and hands the rest to kubeiam-core,
		// found on PATH here as it is beside kubeiam when installed.
		// KUBEIAM_TEST_DENY_KEYCTL=1 runs it with keyctl refused, as a
		// container's seccomp profile does.
		"kubeiam": func() {
			if os.Getenv("KUBEIAM_TEST_DENY_KEYCTL") == "1" {
				if err := seccomptest.DenyKeyctl(); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
			}
			main()
		},
		"kubeiam-core": func() { os.Exit(root.Main(context.Background(), os.Args, iostreams.System())) },
		// The drop-in: the front under the upstream client's name.
		"aws-iam-authenticator": main,
		// The kubectl plugin: krew installs the front as kubectl-iam, and
		// kubectl runs `kubectl iam ARGS` as `kubectl-iam ARGS`.
		"kubectl-iam": main,
	})
}

// TestScripts runs the CLI cases in testdata/script: each reads as a usage
// example and fails loudly when behaviour changes.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// No ambient AWS configuration leaks into a case.
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("AWS_CONFIG_FILE", env.WorkDir+"/.aws/config")
			env.Setenv("AWS_SHARED_CREDENTIALS_FILE", env.WorkDir+"/.aws/credentials")
			env.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			env.Setenv("XDG_CACHE_HOME", env.WorkDir+"/.cache")
			// $BIN is where the commands above are, so a case can run them
			// by path while it breaks PATH on purpose.
			if p, err := exec.LookPath("kubeiam"); err == nil {
				env.Setenv("BIN", filepath.Dir(p))
			}
			// Characters a script cannot type, for the bad-input cases:
			// --profile prod${NL}forged.
			env.Setenv("NL", "\n")
			env.Setenv("CR", "\r")
			env.Setenv("LS", "\u2028")
			return nil
		},
	})
}
