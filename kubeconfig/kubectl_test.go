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
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := Edit(context.Background(), file, EditOptions{}, addContext(fmt.Sprintf("kubeiam-%d", i)))
			errs <- err
		}()
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(30 * time.Second)
			for {
				out, err := exec.Command(kubectl, "--kubeconfig", file, "config", "set-context", fmt.Sprintf("kubectl-%d", i), "--cluster=other", "--namespace=ns").CombinedOutput()
				if err == nil {
					errs <- nil
					return
				}
				if !strings.Contains(string(out), ".lock: file exists") || time.Now().After(deadline) {
					errs <- fmt.Errorf("kubectl: %v: %s", err, out)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
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
	for i := range n {
		for _, name := range []string{fmt.Sprintf("kubeiam-%d", i), fmt.Sprintf("kubectl-%d", i)} {
			if cfg.Contexts[name] == nil {
				t.Errorf("context %s lost", name)
			}
		}
	}
	if _, err := os.Stat(file + ".lock"); !os.IsNotExist(err) {
		t.Error("lock file left behind")
	}
	// And kubectl reads what kubeiam wrote.
	out, err := exec.Command(kubectl, "--kubeconfig", file, "config", "get-contexts", "-o", "name").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kubeiam-0\n") {
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
