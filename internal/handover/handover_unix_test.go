//go:build unix

package handover

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// holder takes the exclusive lock on path from its own open file, as the
// process refreshing an entry does, and returns the release.
func holder(t *testing.T, path string) (release func()) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { f.Close() }) }
	t.Cleanup(release)
	return release
}

// openLock opens path as the front does before HoldLock.
func openLock(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// mustHoldExclusive checks HoldLock came back holding the lock: another
// open file of path cannot take it.
func mustHoldExclusive(t *testing.T, path string, f *os.File, served bool, err error) {
	t.Helper()
	if err != nil || served || f == nil {
		t.Fatalf("HoldLock: file %v, served %t, err %v", f, served, err)
	}
	t.Cleanup(func() { f.Close() })
	other, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != syscall.EWOULDBLOCK {
		t.Fatal("the returned file does not hold the exclusive lock")
	}
}

// TestHoldLockWaitersWakeTogether: a herd waiting for the refresher wakes
// as it lets go — all of them, at once — and each serves the entry the
// refresher wrote without taking the lock.
func TestHoldLockWaitersWakeTogether(t *testing.T) {
	path := filepath.Join(t.TempDir(), "entry.lock")
	release := holder(t, path)
	var written atomic.Bool
	const n = 16
	var wg sync.WaitGroup
	type result struct {
		served bool
		err    error
		at     time.Time
	}
	results := make(chan result, n)
	for range n {
		lf := openLock(t, path)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A slow look at the cache: waiters that woke one after another
			// would take n times as long as waiters reading side by side.
			f, served, err := HoldLock(context.Background(), lf, 10*time.Second, func() bool {
				time.Sleep(50 * time.Millisecond)
				return written.Load()
			})
			if f != nil {
				f.Close()
			}
			results <- result{served, err, time.Now()}
		}()
	}
	// Every waiter blocked on the shared lock, as a herd behind a refresh.
	waitBlocked(t, path, n)
	written.Store(true)
	released := time.Now()
	release()
	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil || !r.served {
			t.Fatalf("waiter: served %t, err %v", r.served, r.err)
		}
		if d := r.at.Sub(released); d > n*50*time.Millisecond/3 {
			t.Errorf("a waiter took %s after the release: waiters did not read side by side", d)
		}
	}
}

// TestHoldLockTakesOverAfterAFailedRefresh: when the holder wrote nothing,
// the waiter comes back holding the exclusive lock, to refresh itself.
func TestHoldLockTakesOverAfterAFailedRefresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "entry.lock")
	release := holder(t, path)
	type result struct {
		f      *os.File
		served bool
		err    error
	}
	done := make(chan result, 1)
	lf := openLock(t, path)
	go func() {
		f, served, err := HoldLock(context.Background(), lf, 10*time.Second, func() bool { return false })
		done <- result{f, served, err}
	}()
	waitBlocked(t, path, 1)
	release()
	r := <-done
	mustHoldExclusive(t, path, r.f, r.served, r.err)
}

// TestHoldLockFreeLockIsTakenAtOnce: no holder, no wait, no recheck.
func TestHoldLockFreeLockIsTakenAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "entry.lock")
	f, served, err := HoldLock(context.Background(), openLock(t, path), time.Second, func() bool {
		t.Error("recheck ran without a wait")
		return true
	})
	mustHoldExclusive(t, path, f, served, err)
}

// TestHoldLockGivesUpAfterTheTimeout: a holder that never finishes costs
// the timeout and a clear error, after which the caller goes on alone.
func TestHoldLockGivesUpAfterTheTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "entry.lock")
	holder(t, path)
	start := time.Now()
	f, served, err := HoldLock(context.Background(), openLock(t, path), 200*time.Millisecond, func() bool { return true })
	if f != nil || served || err == nil || !strings.Contains(err.Error(), "held the cache lock for 200ms") {
		t.Fatalf("HoldLock: file %v, served %t, err %v", f, served, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %s, want about 200ms", d)
	}
}
