package kubeconfig

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestKubectlAndKubeiamWriteConcurrently runs real `kubectl config
// set-context` calls alongside kubeiam merges into the same file. kubectl
// fails at once with "file exists" while kubeiam holds the lock (it does
// not wait), so it is retried here as a user would; what must hold is that
// neither side loses the other's entries and no lock file is left behind.
func TestKubectlAndKubeiamWriteConcurrently(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	file := filepath.Join(t.TempDir(), "config")
	writeFile(t, file, existingConfig, 0o600)

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := Edit(context.Background(), file, EditOptions{}, addContext(fmt.Sprintf("kubeiam-%d", i)))
			errs <- err
		}()
	}
	// kubectl calls run one after another: client-go reads the file before
	// it takes the lock, so two kubectls racing lose each other's entries
	// whatever anyone else does.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			deadline := time.Now().Add(30 * time.Second)
			for {
				out, err := exec.Command(kubectl, "--kubeconfig", file, "config", "set-context", fmt.Sprintf("kubectl-%d", i), "--cluster=other", "--namespace=ns").CombinedOutput()
				if err == nil {
					break
				}
				if !strings.Contains(string(out), ".lock: file exists") || time.Now().After(deadline) {
					errs <- fmt.Errorf("kubectl: %v: %s", err, out)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// kubeiam reads under the lock, so it never drops kubectl's entries.
	// The reverse is not in kubeiam's hands: a kubeiam write that lands
	// between kubectl's unlocked read and its lock is dropped by kubectl.
	lostByKubectl := 0
	for i := range n {
		if cfg.Contexts[fmt.Sprintf("kubectl-%d", i)] == nil {
			t.Errorf("context kubectl-%d lost", i)
		}
		if cfg.Contexts[fmt.Sprintf("kubeiam-%d", i)] == nil {
			lostByKubectl++
		}
	}
	if lostByKubectl > 0 {
		t.Logf("%d kubeiam entries were dropped by kubectl's read-before-lock", lostByKubectl)
	}
	if _, err := os.Stat(file + ".lock"); !os.IsNotExist(err) {
		t.Error("lock file left behind")
	}
	// And kubectl reads what kubeiam wrote.
	out, err := exec.Command(kubectl, "--kubeconfig", file, "config", "get-contexts", "-o", "name").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kubectl-0\n") {
		t.Errorf("kubectl get-contexts: %v\n%s", err, out)
	}
}

// TestKubectlReadsWrittenExecBlock checks that kubectl parses the exec block
// kubeiam writes, both API versions, field for field.
func TestKubectlReadsWrittenExecBlock(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, testCA(t), 0o600)
	for _, v := range []string{"v1beta1", "v1"} {
		out := filepath.Join(dir, v)
		if _, _, err := Write(context.Background(), WriteInput{Cluster: "c", Server: "https://10.0.0.1:6443", CAFile: ca, ClusterID: uuid, ExecAPIVersion: v, Profile: "p"}, OutputOptions{Output: out}); err != nil {
			t.Fatal(err)
		}
		got, err := exec.Command(kubectl, "--kubeconfig", out, "config", "view", "--raw", "-o", "jsonpath={.users[0].user.exec.apiVersion} {.users[0].user.exec.args} {.users[0].user.exec.interactiveMode} {.current-context}").CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl: %v: %s", err, got)
		}
		want := fmt.Sprintf(`client.authentication.k8s.io/%s ["token","-i","%s","--profile","p"] IfAvailable c-aws`, v, uuid)
		if string(got) != want {
			t.Errorf("kubectl sees %s\nwant %s", got, want)
		}
	}
}

// TestKubectlHonoursKubeiamsLock: kubeiam writes its holder into the lock
// file; kubectl only checks that the file exists, so it still refuses to
// write while kubeiam holds it, and writes once it is gone.
func TestKubectlHonoursKubeiamsLock(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	file := filepath.Join(t.TempDir(), "config")
	writeFile(t, file, existingConfig, 0o600)
	unlock, err := Lock(context.Background(), file, LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := parseHolder([]byte(readFile(t, file+".lock"))); !ok || h != self() {
		t.Fatalf("lock content %q does not name this process", readFile(t, file+".lock"))
	}
	setContext := exec.Command(kubectl, "--kubeconfig", file, "config", "set-context", "while-locked", "--cluster=other")
	out, err := setContext.CombinedOutput()
	if err == nil || !strings.Contains(string(out), file+".lock: file exists") {
		t.Fatalf("kubectl wrote while kubeiam held the lock: %v\n%s", err, out)
	}
	if strings.Contains(readFile(t, file), "while-locked") {
		t.Fatal("kubectl changed the file")
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(kubectl, "--kubeconfig", file, "config", "set-context", "after", "--cluster=other").CombinedOutput(); err != nil {
		t.Fatalf("kubectl after unlock: %v\n%s", err, out)
	}
}
