package kubeconfig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// DefaultLockTimeout is how long a writer waits for another kubectl or
// kubeiam to finish with a kubeconfig. Writers hold the lock for
// milliseconds, so waiting longer mostly means a stale lock.
const DefaultLockTimeout = 10 * time.Second

// LockError says the lock could not be taken before the timeout.
type LockError struct {
	LockFile string
	Waited   time.Duration
}

func (e *LockError) Error() string {
	return fmt.Sprintf("could not lock %s: %s still exists after %s (another kubectl or kubeiam is writing, or one died holding it)",
		filepath.Base(e.LockFile[:len(e.LockFile)-len(".lock")]), e.LockFile, e.Waited.Round(time.Millisecond))
}

// Lock takes the lock kubectl takes before it writes a kubeconfig: it creates
// `<file>.lock` with O_CREATE|O_EXCL (client-go's clientcmd lockFile does the
// same) and retries until timeout, since kubectl itself fails at once rather
// than wait. An flock-style lock would not do: kubectl only looks at whether
// the file exists, so a lock file left on disk would make it refuse to write.
//
// The returned unlock removes the lock file. While the lock is held, SIGINT
// and SIGTERM are held back and re-delivered after unlock, so an impatient
// Ctrl-C does not strand a lock file that would block kubectl forever.
func Lock(ctx context.Context, file string, timeout time.Duration) (unlock func() error, err error) {
	lockFile := file + ".lock"
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return nil, fmt.Errorf("could not create directory for %s: %w", file, err)
	}
	start := time.Now()
	deadline := start.Add(timeout)
	delay := 2 * time.Millisecond
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	for {
		f, err := os.OpenFile(lockFile, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() error {
				err := os.Remove(lockFile)
				signal.Stop(sigs)
				redeliver(sigs)
				if err != nil {
					return fmt.Errorf("could not remove lock %s: %w", lockFile, err)
				}
				return nil
			}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			signal.Stop(sigs)
			redeliver(sigs)
			return nil, fmt.Errorf("could not lock %s: %w", file, err)
		}
		now := time.Now()
		if !now.Before(deadline) {
			signal.Stop(sigs)
			redeliver(sigs)
			return nil, &LockError{LockFile: lockFile, Waited: now.Sub(start)}
		}
		wait := min(delay, deadline.Sub(now))
		select {
		case <-ctx.Done():
			signal.Stop(sigs)
			return nil, fmt.Errorf("could not lock %s: %w", file, ctx.Err())
		case sig := <-sigs:
			// Not holding the lock yet: nothing to clean up, so stop now.
			signal.Stop(sigs)
			sigs <- sig
			redeliver(sigs)
			return nil, fmt.Errorf("could not lock %s: interrupted", file)
		case <-time.After(wait):
		}
		// Back off up to 50ms: kubectl holds the lock for about a
		// millisecond, and sixteen writers should not spin.
		delay = min(delay*2, 50*time.Millisecond)
	}
}

// redeliver re-raises, with default handling, a signal that arrived while a
// lock was held.
func redeliver(sigs chan os.Signal) {
	select {
	case sig := <-sigs:
		signal.Reset(sig)
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			_ = p.Signal(sig)
		}
	default:
	}
}
