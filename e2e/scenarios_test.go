// The e2e scenarios: one real stack per `go test` run (etcd, kube-apiserver,
// aws-iam-authenticator server, STS stand-in), shared by the cases, each of
// which uses identities of its own where the apiserver's webhook cache
// could otherwise blur the answer.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/e2e/internal/build"
	"github.com/kubeiam/kubeiam/e2e/internal/rig"
	"github.com/kubeiam/kubeiam/e2e/internal/scenario"
)

var (
	stack *rig.Rig
	// kubeiamSkip is why the kubeiam scenarios cannot run yet ("" when
	// they can).
	kubeiamSkip string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx := context.Background()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", args...)
	}
	b, err := build.NewBuilder(os.Stderr)
	if err != nil {
		logf("%v", err)
		return 1
	}
	// KUBEIAM_E2E_NO_NODE=1 runs the fallback: no node, the rig's own
	// authenticator process.
	b.NoNode = os.Getenv("KUBEIAM_E2E_NO_NODE") != ""
	binDir, err := os.MkdirTemp("", "kubeiam-e2e-bin-")
	if err != nil {
		logf("could not create temp dir: %v", err)
		return 1
	}
	defer os.RemoveAll(binDir)
	start := time.Now()
	bins, err := b.All(ctx, binDir)
	if err != nil {
		logf("%v", err)
		return 1
	}
	logf("binaries ready in %s", time.Since(start).Round(100*time.Millisecond))

	images, err := scenario.Images(ctx, bins.Kubeiam, b.Repo)
	if err != nil {
		logf("%v", err)
		return 1
	}
	start = time.Now()
	stack, err = rig.Start(ctx, rig.Options{Bins: bins, Logf: logf, Images: images})
	if err != nil {
		logf("could not start the stack: %v", err)
		return 1
	}
	// Stop the stack on ^C or a test-binary timeout signal too; Pdeathsig
	// covers a SIGKILL of this process.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		stack.Stop()
		os.Exit(2)
	}()
	logf("stack up in %s", time.Since(start).Round(100*time.Millisecond))
	kubeiamSkip = probeKubeiam(bins.Kubeiam)

	code := m.Run()
	stack.Stop()
	// The rig must leave nothing running, pass or fail.
	if left := stack.Leftovers(); len(left) > 0 {
		logf("processes left running after Stop: %v", left)
		code = 1
	}
	if code != 0 {
		stack.DumpLogs(os.Stderr, 40)
		logf("tests failed; component logs kept in %s", stack.Dir)
	} else {
		os.RemoveAll(stack.Dir)
	}
	return code
}

// probeKubeiam tells whether `kubeiam token` is implemented yet, so the
// kubeiam scenarios can skip with a reason instead of failing while it is
// being written.
func probeKubeiam(bin string) string {
	id := stack.STS.Identity(scenario.SeedUser)
	cmd := exec.Command(bin, "token", "-i", "probe", "--cache=none")
	cmd.Env = stack.ClientEnv(id)
	out, err := cmd.CombinedOutput()
	if err != nil && (strings.Contains(string(out), "not implemented") || strings.Contains(string(out), "unknown command")) {
		return "kubeiam token is not implemented yet: " + strings.TrimSpace(string(out))
	}
	return ""
}

func newEnv(t *testing.T, token scenario.TokenCommand) (*scenario.Env, context.Context) {
	t.Helper()
	var out bytes.Buffer
	env := &scenario.Env{Rig: stack, Out: &out, Token: token}
	if os.Getenv("KUBEIAM_E2E_VERBOSE") != "" {
		env.Out = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(func() {
		cancel()
		if t.Failed() {
			t.Logf("narration:\n%s", out.String())
		}
		if gone := stack.Exited(); len(gone) > 0 {
			t.Errorf("components exited during the test: %v", gone)
		}
	})
	return env, ctx
}

func kubeiamEnv(t *testing.T) (*scenario.Env, context.Context) {
	if kubeiamSkip != "" {
		t.Skip(kubeiamSkip)
	}
	return newEnv(t, scenario.Kubeiam(stack.Bins.Kubeiam))
}

// TestD_AuthenticatorClient proves the rig with the reference client:
// aws-iam-authenticator v0.7.2's own `token`, unaffected by kubeiam's code.
func TestD_AuthenticatorClient(t *testing.T) {
	env, ctx := newEnv(t, scenario.Authenticator(stack.Bins.Authenticator))
	if err := env.Seed(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestA_Seed(t *testing.T) {
	env, ctx := kubeiamEnv(t)
	if err := env.Seed(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestB_ChangeMappings(t *testing.T) {
	env, ctx := kubeiamEnv(t)
	users, roles := scenario.SeedMappings()
	if err := env.Install(ctx, users, roles); err != nil {
		t.Fatal(err)
	}
	if err := env.ChangeMappings(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestC_Denied(t *testing.T) {
	env, ctx := kubeiamEnv(t)
	users, roles := scenario.SeedMappings()
	if err := env.Install(ctx, users, roles); err != nil {
		t.Fatal(err)
	}
	if err := env.Denied(ctx); err != nil {
		t.Fatal(err)
	}
}
