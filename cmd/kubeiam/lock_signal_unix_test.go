//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C while `kubeiam use` waits for a kubeconfig's lock ends the wait at
// once: root.Main, the process's only signal handler, cancels the command's
// context, the command exits 130 saying only that, and nothing is left
// behind — the lock it waited on is as it was and kubeiam never made one.
// (A Ctrl-C while kubeiam holds the lock, for the milliseconds of a write,
// is kubeconfig's TestSignalWhileLockedLeavesNoLock.)
func TestCtrlCWhileWaitingForAKubeconfigLock(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://c:6443"}
users:
- name: u
  user: {token: abc}
contexts:
- name: a
  context: {cluster: c, user: u}
- name: b
  context: {cluster: c, user: u}
current-context: a
`), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(cfg)
	// The lock is a FIFO so that the test knows when kubeiam looks at it:
	// kubeiam opens whatever it finds without blocking, which lets the
	// test's open for writing through. It is dated in the future, so it
	// reads as a lock a writer took a moment ago: kubeiam waits.
	lock := cfg + ".lock"
	if err := syscall.Mkfifo(lock, 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(lock, future, future); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(t.TempDir(), "home")
	cmd := kubeiamCmd(t, []string{"KUBECONFIG=" + cfg, "HOME=" + home}, "use", "b", "--lock-timeout", "5m")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	looked := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(lock, os.O_WRONLY, 0)
		if err == nil {
			f.Close()
		}
		looked <- err
	}()
	// Should kubeiam never look, let the opener go.
	defer func() {
		if f, err := os.OpenFile(lock, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}()
	select {
	case err := <-looked:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("kubeiam did not look at the lock within 60s; stderr: %s", errOut.String())
	}

	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("kubeiam still waiting 60s after Ctrl-C (the lock timeout is 5m); stderr: %s", errOut.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || errOut.String() != "kubeiam: interrupted\n" {
		t.Fatalf("kubeiam: %v after %s, stderr %q; want exit 130 and only \"kubeiam: interrupted\"", err, time.Since(start), errOut.String())
	}
	if fi, err := os.Lstat(lock); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the lock waited on changed: %v, %v", fi, err)
	}
	if after, _ := os.ReadFile(cfg); !bytes.Equal(after, before) {
		t.Errorf("the kubeconfig changed:\n%s", after)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"config", "config.lock"}) {
		t.Errorf("left in the directory: %v", names)
	}
}
