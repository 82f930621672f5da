package kubeconfig

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLockFromAContainerIsNotTakenOver holds the lock from a real process
// in its own pid namespace with the host's name, as a container sharing
// the host's name leaves it: its pid in the lock (1, or another small
// number) names some other process out here, so judging by pid would take
// over a live writer's lock. It needs unshare(1) and the right to make
// namespaces (root here, CI runs as root).
func TestLockFromAContainerIsNotTakenOver(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		if os.Getenv("KUBEIAM_TEST_PEERS") == "1" {
			t.Fatalf("KUBEIAM_TEST_PEERS=1 but no unshare as root (unshare: %v, euid %d)", err, os.Geteuid())
		}
		t.Skip("needs unshare(1) as root to make a pid namespace")
	}
	file := filepath.Join(t.TempDir(), "config")
	cmd := exec.Command(unshare, "--pid", "--fork", "--kill-child", "--mount-proc", os.Args[0], "-test.run=^TestLockHelper$")
	cmd.Env = append(os.Environ(), "KUBEIAM_LOCK_HELPER=hang", "KUBEIAM_LOCK_FILE="+file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Skipf("no process in a new pid namespace here: %q %v", line, err)
	}
	content, _ := os.ReadFile(file + ".lock")
	h, ok := parseHolder(content)
	if !ok || h.host != self().host || h.pidn == "" || h.pidn == self().pidn || h.pid == cmd.Process.Pid {
		t.Fatalf("lock %q is not from another pid namespace with this host name", content)
	}

	var notes []string
	_, err = Lock(context.Background(), file, LockOptions{Timeout: 200 * time.Millisecond, Notify: func(s string) { notes = append(notes, s) }})
	var le *LockError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "cannot be checked from here") {
		t.Errorf("Lock = %v, want a LockError after waiting for the holder", err)
	}
	if len(notes) > 0 {
		t.Errorf("took over a live holder's lock: %q", notes)
	}
	if _, err := Unlock(file, false); !errors.As(err, new(*LockInUseError)) {
		t.Errorf("Unlock = %v, want it refused while the lock is young", err)
	}
	if _, err := os.Stat(file + ".lock"); err != nil {
		t.Errorf("the live holder's lock is gone: %v", err)
	}
}
