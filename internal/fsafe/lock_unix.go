//go:build unix

package fsafe

import (
	"context"
	"os"
	"syscall"
)

func how(m LockMode) int {
	if m == Shared {
		return syscall.LOCK_SH
	}
	return syscall.LOCK_EX
}

func flock(fd, how int) error {
	for {
		if err := syscall.Flock(fd, how); err != syscall.EINTR {
			return err
		}
	}
}

func tryLock(f *os.File, m LockMode) (bool, error) {
	switch err := flock(int(f.Fd()), how(m)|syscall.LOCK_NB); err {
	case nil:
		return true, nil
	case syscall.EWOULDBLOCK:
		return false, nil
	default:
		return false, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
}

// waitLock blocks in flock(2) rather than polling with LOCK_NB. When the
// holder lets go the kernel wakes every waiter at once: a herd behind a
// token refresh reads the new entry side by side, at once, instead of at
// its next poll, and no waiter spins meanwhile. A blocked request also
// shows in /proc/locks, which the tests use to know a waiter is waiting.
//
// The price: a blocking flock cannot be interrupted, so when ctx ends
// first the call is left behind in its goroutine until the holder lets go
// (or the process exits or execs). It waits on its own duplicate of the
// descriptor, so closing f cannot let it lock whatever file reuses f's
// number, and it closes the duplicate when done, so a lock granted after
// Wait gave up (and closed f) ends at once.
func waitLock(ctx context.Context, f *os.File, m LockMode) error {
	if ctx.Done() == nil {
		if err := flock(int(f.Fd()), how(m)); err != nil {
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
		return nil
	}
	fd, err := dupCloexec(int(f.Fd()))
	if err != nil {
		return &os.PathError{Op: "dup", Path: f.Name(), Err: err}
	}
	done := make(chan error, 1)
	go func() {
		err := flock(fd, how(m))
		syscall.Close(fd)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
		return nil
	case <-ctx.Done():
		f.Close()
		return context.Cause(ctx)
	}
}

// dupCloexec duplicates fd with close-on-exec set, so a child started
// meanwhile does not inherit (and hold) the lock.
func dupCloexec(fd int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, err := syscall.Dup(fd)
	if err != nil {
		return -1, err
	}
	syscall.CloseOnExec(nfd)
	return nfd, nil
}
