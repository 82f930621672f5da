//go:build unix

package handover

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// HeldLockEnv carries a cache-entry lock the front took across exec to
// kubeiam-core: "FD:ENTRY-ID". flock(2) locks belong to the open file, which
// exec keeps when close-on-exec is off, so the core holds the lock from its
// first instruction and no other process can slip in while it starts.
const HeldLockEnv = "KUBEIAM_HELD_LOCK"

// Supported: exec(2) keeps the lock's open file, so the front can hand it
// over (see HeldLockEnv).
const Supported = true

// HoldLock locks f (the entry's lock file, see cache.Cache.LockFile),
// waiting up to timeout for a holder to finish; f is closed unless it is
// returned. recheck runs after a wait (the holder may have written what this
// process wanted): when it reports true the lock is released and
// served=true. Otherwise the locked file is returned.
//
// Waiters block on a shared lock rather than polling for the exclusive
// one: when the refreshing process lets go, the kernel wakes every waiter
// at once and they all read the new entry side by side, instead of one
// after another at the next poll.
func HoldLock(ctx context.Context, f *os.File, timeout time.Duration, recheck func() bool) (_ *os.File, served bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := fsafe.TryLock(f, fsafe.Exclusive)
		if ok {
			return f, false, nil
		}
		if err != nil {
			f.Close()
			return nil, false, err
		}
		// fsafe.Wait blocks in the kernel, which wakes all waiters at once;
		// on the timeout it closes f.
		if err := fsafe.Wait(ctx, f, fsafe.Shared); err != nil {
			f.Close()
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("another kubeiam process held the cache lock for %s", timeout)
			}
			return nil, false, err
		}
		if recheck() {
			f.Close()
			return nil, true, nil
		}
		// The holder wrote nothing usable (it failed): refresh here. Asking
		// for the exclusive lock converts the shared one.
	}
}

// HandOver keeps f open across exec and tells the next program about it.
func HandOver(f *os.File, entryID string) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_SETFD, 0); errno != 0 {
		return errno
	}
	return os.Setenv(HeldLockEnv, strconv.FormatUint(uint64(f.Fd()), 10)+":"+entryID)
}

// AdoptLock takes over a lock the front handed over for entryID, and returns
// the function that releases it. ok is false when there is none (the core
// was started another way), and then the caller locks as usual.
func AdoptLock(entryID string) (unlock func(), ok bool) {
	v := os.Getenv(HeldLockEnv)
	if v == "" {
		return nil, false
	}
	os.Unsetenv(HeldLockEnv) // never passed on to credential_process & co.
	fdText, id, found := strings.Cut(v, ":")
	fd, err := strconv.Atoi(fdText)
	if !found || err != nil || fd < 3 {
		return nil, false
	}
	if id != entryID {
		// Not this entry's lock (the two processes disagree on the key):
		// let it go rather than block on it from a second descriptor.
		syscall.Close(fd)
		return nil, false
	}
	// Close-on-exec again: children (credential_process) must not keep it.
	syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, syscall.FD_CLOEXEC)
	f := os.NewFile(uintptr(fd), "held-lock")
	return func() { f.Close() }, true
}
