//go:build unix

package fsafe

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestLockHolder is not a test: it is the other process of the lock tests,
// started from the test binary. It takes the lock named by the
// environment, says "locked", and holds it until its stdin closes.
func TestLockHolder(t *testing.T) {
	path, mode := os.Getenv("FSAFE_LOCK_PATH"), os.Getenv("FSAFE_LOCK_MODE")
	if path == "" {
		t.Skip("helper process for the lock tests")
	}
	m := Exclusive
	if mode == "shared" {
		m = Shared
	}
	if _, err := Lock(context.Background(), path, m); err != nil {
		os.Stdout.WriteString(err.Error() + "\n")
		os.Exit(3)
	}
	os.Stdout.WriteString("locked\n")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// holder starts a process holding path's lock in mode; release lets go
// (by ending the process's stdin), kill ends the process outright.
func holder(t *testing.T, path, mode string) (release, kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHolder$")
	cmd.Env = append(os.Environ(), "FSAFE_LOCK_PATH="+path, "FSAFE_LOCK_MODE="+mode)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("holder: %q %v", line, err)
	}
	release = func() { in.Close(); cmd.Wait() }
	kill = func() { cmd.Process.Kill(); cmd.Wait() }
	t.Cleanup(kill)
	return release, kill
}

func openLock(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := OpenLockFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func try(t *testing.T, path string, m LockMode) bool {
	t.Helper()
	f := openLock(t, path)
	defer f.Close()
	ok, err := TryLock(f, m)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestExclusiveExcludesEveryOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	holder(t, path, "exclusive")
	if try(t, path, Exclusive) || try(t, path, Shared) {
		t.Error("a lock was granted beside another process's exclusive lock")
	}
}

func TestSharedLocksShareButExcludeExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	holder(t, path, "shared")
	if !try(t, path, Shared) {
		t.Error("a shared lock was refused beside another shared lock")
	}
	if try(t, path, Exclusive) {
		t.Error("an exclusive lock was granted beside another process's shared lock")
	}
}

// A wait ends when the holder lets go, and when the holder dies: the
// kernel drops a dead process's locks.
func TestWaitEndsWhenTheHolderLetsGoOrDies(t *testing.T) {
	for _, how := range []string{"release", "kill"} {
		t.Run(how, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.lock")
			release, kill := holder(t, path, "exclusive")
			f := openLock(t, path)
			done := make(chan error, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			go func() { done <- Wait(ctx, f, Exclusive) }()
			if how == "release" {
				release()
			} else {
				kill()
			}
			if err := <-done; err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if try(t, path, Shared) {
				t.Error("Wait returned without holding the lock")
			}
		})
	}
}

// A deadline or a cancel ends a wait at once, with the context's cause,
// and closes the file; the request left in the kernel, granted later, does
// not keep the lock from anyone.
func TestWaitEndsOnTheContext(t *testing.T) {
	for _, how := range []string{"deadline", "cancel"} {
		t.Run(how, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.lock")
			release, _ := holder(t, path, "exclusive")
			f := openLock(t, path)
			var ctx context.Context
			var cancel context.CancelFunc
			want := context.DeadlineExceeded
			if how == "deadline" {
				ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
			} else {
				ctx, cancel = context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				want = context.Canceled
			}
			defer cancel()
			start := time.Now()
			err := Wait(ctx, f, Exclusive)
			if !errors.Is(err, want) {
				t.Fatalf("Wait: %v, want %v", err, want)
			}
			// Generous for -race on two busy cores; the holder never lets
			// go, so a wait that ignored ctx would never return at all.
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Wait returned %s after the start, want about 100ms", d)
			}
			if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
				t.Errorf("the file is still open after the wait gave up (%v)", err)
			}
			// The abandoned request is granted once the holder goes, and
			// let go at once: a new waiter gets the lock.
			release()
			ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel2()
			if err := Wait(ctx2, openLock(t, path), Exclusive); err != nil {
				t.Fatalf("the lock stayed taken after the holder went: %v", err)
			}
		})
	}
}

// A lock file kubeiam cannot have made (here a link planted at its name)
// is replaced, and the link's target is left alone.
func TestLockReplacesAnUntrustedLockFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	path := filepath.Join(dir, "x.lock")
	os.Symlink(target, path)
	unlock, err := Lock(context.Background(), path, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("lock file %v, %v; want a regular file", fi, err)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Error("the link's target was created")
	}
}

func TestLockTimeoutSaysWhoHeldIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	holder(t, path, "exclusive")
	_, err := LockTimeout(context.Background(), path, 50*time.Millisecond)
	if err == nil || err.Error() != "could not lock "+path+": another kubeiam process held it for 50ms" {
		t.Fatalf("err = %v", err)
	}
}
