// Package keyringtest watches a real Secret Service for tests: it counts
// the method calls made to it on the session bus. Test helper only: never
// linked into the shipped binaries (cmd/kubeiam/deps_test.go).
package keyringtest

import (
	"bufio"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// SecretCalls counts method calls to the Secret Service on the session bus,
// watched by dbus-monitor.
type SecretCalls struct {
	n   atomic.Int64
	cmd *exec.Cmd
}

// Watch starts dbus-monitor on the session bus and returns once it is
// watching; it is stopped when the test ends.
func Watch(t *testing.T) *SecretCalls {
	t.Helper()
	if _, err := exec.LookPath("dbus-monitor"); err != nil {
		t.Fatal("dbus-monitor not installed (Debian: apt-get install dbus-bin)")
	}
	w := &SecretCalls{cmd: exec.Command("dbus-monitor", "--session", "type='method_call',destination='org.freedesktop.secrets'")}
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.cmd.Process.Kill(); w.cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := false
		for sc.Scan() {
			if !once { // dbus-monitor's own NameLost/NameAcquired: it is watching
				once = true
				close(ready)
			}
			if strings.HasPrefix(sc.Text(), "method call") && strings.Contains(sc.Text(), "destination=org.freedesktop.secrets") {
				w.n.Add(1)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("dbus-monitor printed nothing")
	}
	return w
}

// Settle waits until the count reaches at least want and then stays put
// for a moment; the bus delivers to the monitor in order, so calls made
// before the last counted one have all been counted.
func (w *SecretCalls) Settle(t *testing.T, want int64) int64 {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); w.n.Load() < want && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return w.n.Load()
}
