package kubeconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kubeiam/kubeiam/internal/fsafe"
	"github.com/kubeiam/kubeiam/internal/proc"
)

// DefaultLockTimeout is how long a writer waits for another kubectl or
// kubeiam to finish with a kubeconfig. Writers hold the lock for
// milliseconds, so waiting longer mostly means a stale lock.
const DefaultLockTimeout = 10 * time.Second

// YoungLock is the age below which a lock kubeiam cannot check (kubectl's
// empty one, or a kubeiam lock from another host) is taken to belong to a
// live writer and waited for. kubectl holds its lock for about a
// millisecond and kubeiam for a few, so an older one was left by a process
// that died.
const YoungLock = 2 * time.Second

// LockOptions control how Lock waits.
type LockOptions struct {
	// Timeout is how long to wait for a live holder; 0 means
	// DefaultLockTimeout.
	Timeout time.Duration
	// Notify receives one line when a stale lock is taken over.
	Notify func(string)
}

// LockError says the lock was still held when the timeout ran out.
type LockError struct {
	LockFile string
	Waited   time.Duration
	// Holder describes who holds it, as far as the lock file tells.
	Holder string
	// Live is true when the holder is a kubeiam process known to be running.
	Live bool
}

func (e *LockError) Error() string {
	return fmt.Sprintf("could not lock %s: %s still exists after %s (%s)",
		filepath.Base(strings.TrimSuffix(e.LockFile, ".lock")), e.LockFile, e.Waited.Round(time.Millisecond), e.Holder)
}

// StaleLockError is a lock that is too old to belong to a live writer but
// that kubeiam cannot prove stale on its own: kubectl's locks are empty, and
// a kubeiam lock taken on another host cannot be checked from this one.
type StaleLockError struct {
	LockFile string
	Age      time.Duration
	Holder   string
}

func (e *StaleLockError) Error() string {
	return fmt.Sprintf("could not lock %s: %s was left %s ago (%s); writers hold it for milliseconds",
		filepath.Base(strings.TrimSuffix(e.LockFile, ".lock")), e.LockFile, RoundAge(e.Age), e.Holder)
}

// RoundAge rounds a lock's age for messages.
func RoundAge(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// Lock takes the lock kubectl takes before it writes a kubeconfig: it creates
// `<file>.lock` with O_CREATE|O_EXCL (client-go's clientcmd lockFile does the
// same). kubectl only checks that the file exists and ignores its content,
// so kubeiam writes its holder there (pid, host, process start), which lets
// a later kubeiam tell a lock whose holder died from a live one.
//
// On contention it waits, up to the timeout, for a live holder; takes over
// at once a kubeiam lock whose holder is gone from this host; and reports at
// once a lock it cannot check (kubectl's, or from another host) that is
// older than YoungLock, instead of waiting out the timeout for nothing.
//
// The returned unlock removes the lock file. Lock installs no signal
// handler (a library must not change how the process ends): the wait ends
// when ctx does, and a lock held across a signal is the caller's to
// release. kubeiam's root.Main turns Ctrl-C, SIGTERM and SIGHUP into a
// cancelled context instead of an exit, so the few milliseconds of a write
// under the lock run to the unlock and the command then exits with the
// signal's code; a process killed outright leaves a lock whose holder line
// lets the next kubeiam take it over at once.
func Lock(ctx context.Context, file string, opts LockOptions) (unlock func() error, err error) {
	lockFile := file + ".lock"
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return nil, fmt.Errorf("could not create directory for %s: %w", file, err)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	start := time.Now()
	deadline := start.Add(timeout)
	delay := 2 * time.Millisecond
	for {
		err := create(lockFile)
		if err == nil {
			return func() error {
				if err := os.Remove(lockFile); err != nil {
					return fmt.Errorf("could not remove lock %s: %w", lockFile, err)
				}
				return nil
			}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("could not lock %s: %w", file, err)
		}
		st, err := inspect(lockFile)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released between our create and our look
		}
		if err == nil {
			switch st.verdict {
			case holderGone:
				if takeOver(lockFile, st) == nil {
					if opts.Notify != nil {
						opts.Notify(fmt.Sprintf("took over %s: %s", lockFile, st.describe()))
					}
					continue
				}
			case holderUnknown:
				if st.age >= YoungLock {
					return nil, &StaleLockError{LockFile: lockFile, Age: st.age, Holder: st.describe()}
				}
			}
		}
		now := time.Now()
		if !now.Before(deadline) {
			le := &LockError{LockFile: lockFile, Waited: now.Sub(start), Holder: "another kubectl or kubeiam is writing, or one died holding it"}
			if st != nil {
				le.Holder, le.Live = st.describe(), st.verdict == holderLive
			}
			return nil, le
		}
		wait := min(delay, deadline.Sub(now))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("could not lock %s: %w", file, ctx.Err())
		case <-time.After(wait):
		}
		// Back off up to 50ms: kubectl holds the lock for about a
		// millisecond, and sixteen writers should not spin.
		delay = min(delay*2, 50*time.Millisecond)
	}
}

// create makes the lock file exclusively, as kubectl does, and writes the
// holder line into it. Between the two it is empty for microseconds; a
// reader then sees a young empty lock and waits.
func create(lockFile string) error {
	f, err := os.OpenFile(lockFile, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(self().line())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(lockFile)
		return werr
	}
	return nil
}

// holder is who wrote a kubeiam lock: "kubeiam pid=… host=… start=… pidns=…".
// start (the process start time, in clock ticks since boot on Linux) tells a
// reused pid from the holder; pidns tells a container sharing the host name
// but not the process table. Both are empty where the system does not say.
type holder struct {
	pid               int
	host, start, pidn string
}

// self is this process as a lock holder, found out on first use (not at
// package init: most commands never lock).
var self = sync.OnceValue(func() holder {
	h := holder{pid: os.Getpid(), pidn: pidNamespace()}
	h.host, _ = os.Hostname()
	_, h.start = proc.State(h.pid)
	return h
})

func (h holder) line() []byte {
	return fmt.Appendf(nil, "kubeiam pid=%d host=%s start=%s pidns=%s\n", h.pid, h.host, h.start, h.pidn)
}

// parseHolder reads a lock file's content; ok is false for anything kubeiam
// did not write (kubectl's empty lock, or foreign content).
func parseHolder(b []byte) (holder, bool) {
	f := strings.Fields(string(b))
	if len(f) < 2 || f[0] != "kubeiam" {
		return holder{}, false
	}
	var h holder
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "pid":
			h.pid, _ = strconv.Atoi(v)
		case "host":
			h.host = v
		case "start":
			h.start = v
		case "pidns":
			h.pidn = v
		}
	}
	return h, h.pid > 0
}

type verdict int

const (
	holderUnknown verdict = iota // empty, foreign or another host's: judged by age
	holderLive                   // a kubeiam process on this host, running
	holderGone                   // a kubeiam process on this host that is no more
)

// lockState is what a look at a lock file found.
type lockState struct {
	info    fs.FileInfo
	content []byte
	holder  holder
	ours    bool // content is a kubeiam holder line
	age     time.Duration
	verdict verdict
}

// inspect reads a lock file without following a link or blocking on a FIFO,
// and judges its holder. The file is opened once (fsafe.OpenFile: no final
// link followed, no wait for a FIFO's writer, a regular file checked on the
// descriptor) and everything is judged from that descriptor: a look by name
// first and an open by name after would follow whatever was swapped in
// between. Anything else (a link, a FIFO) has no content to read; it is
// described from Lstat.
func inspect(lockFile string) (*lockState, error) {
	f, err := fsafe.OpenFile(lockFile, os.O_RDONLY, 0, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		// A link, a FIFO or something that cannot be opened: judged by
		// its own metadata, content unread.
		fi, lerr := os.Lstat(lockFile)
		if lerr != nil {
			return nil, lerr
		}
		if fi.Mode().IsRegular() {
			return nil, err
		}
		st := &lockState{info: fi, age: lockAge(fi)}
		st.verdict = judge(st.holder, st.ours)
		return st, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st := &lockState{info: fi, age: lockAge(fi)}
	if fi.Mode().IsRegular() {
		st.content, err = io.ReadAll(io.LimitReader(f, 512))
		if err != nil {
			return nil, err
		}
	}
	st.holder, st.ours = parseHolder(st.content)
	st.verdict = judge(st.holder, st.ours)
	return st, nil
}

func judge(h holder, ours bool) verdict {
	me := self()
	if !ours || h.host != me.host || h.pidn != me.pidn {
		return holderUnknown
	}
	alive, start := proc.State(h.pid)
	if !alive || (h.start != "" && start != "" && h.start != start) {
		return holderGone
	}
	return holderLive
}

// describe says who left the lock, for messages.
func (st *lockState) describe() string {
	switch {
	case !st.info.Mode().IsRegular():
		return "not a regular file"
	case len(bytes.TrimSpace(st.content)) == 0:
		return "empty, as kubectl leaves it"
	case !st.ours:
		return "not a kubeiam lock"
	}
	who := fmt.Sprintf("kubeiam pid %d on %s", st.holder.pid, st.holder.host)
	switch st.verdict {
	case holderGone:
		return who + ", no longer running"
	case holderLive:
		return who + ", still running"
	}
	return who + ", which cannot be checked from here"
}

// errLockChanged: the lock file is no longer the one judged stale.
var errLockChanged = errors.New("lock changed")

// takeOver removes a lock judged stale, once. Removal goes by name, so two
// waiters that both judged the same lock stale must not both remove: the
// second would delete the lock the first has taken since. So every removal
// happens under an exclusive flock on the directory (a mutex among kubeiam
// processes only; kubectl never sees it) and only if the name still leads
// to the same file with the same content. Nothing else removes a stale
// lock, and kubectl cannot create one while it exists, so the check holds
// until the removal.
func takeOver(lockFile string, st *lockState) error {
	return withDirMutex(filepath.Dir(lockFile), func() error {
		cur, err := inspect(lockFile)
		if err != nil {
			return err
		}
		if !os.SameFile(cur.info, st.info) || !bytes.Equal(cur.content, st.content) {
			return errLockChanged
		}
		return os.Remove(lockFile)
	})
}

// UnlockResult says what Unlock found and removed.
type UnlockResult struct {
	LockFile string
	// Removed is false when there was no lock.
	Removed bool
	Holder  string
	Age     time.Duration
}

// lockAge is how long ago the lock was taken, by its mtime. One dated
// ahead of this clock (another host's clock, on a shared disk) counts as
// just taken: it may be a live writer's, and "-3s ago" means nothing.
func lockAge(fi fs.FileInfo) time.Duration { return max(time.Since(fi.ModTime()), 0) }

// LockInUseError is Unlock refusing a lock that may belong to a live writer.
type LockInUseError struct {
	LockFile string
	Holder   string
	Age      time.Duration
	// Young is true for a lock that cannot be checked and is younger than
	// YoungLock: a kubectl may be writing.
	Young bool
}

func (e *LockInUseError) Error() string {
	if e.Young {
		return fmt.Sprintf("could not unlock %s: it was taken %s ago (%s), a kubectl may be writing", e.LockFile, RoundAge(e.Age), e.Holder)
	}
	return fmt.Sprintf("could not unlock %s: it is held by %s", e.LockFile, e.Holder)
}

// Unlock removes a stale `<file>.lock` after the checks Lock makes: it
// refuses a lock whose kubeiam holder is running on this host, and one it
// cannot check that is younger than YoungLock unless force is set. A
// missing lock is not an error.
func Unlock(file string, force bool) (*UnlockResult, error) {
	lockFile := file + ".lock"
	res := &UnlockResult{LockFile: lockFile}
	st, err := inspect(lockFile)
	if errors.Is(err, fs.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return nil, fmt.Errorf("could not unlock %s: %w", file, err)
	}
	res.Holder, res.Age = st.describe(), st.age
	switch {
	case st.verdict == holderLive:
		return nil, &LockInUseError{LockFile: lockFile, Holder: res.Holder, Age: st.age}
	case st.verdict == holderUnknown && st.age < YoungLock && !force:
		return nil, &LockInUseError{LockFile: lockFile, Holder: res.Holder, Age: st.age, Young: true}
	}
	switch err := takeOver(lockFile, st); {
	case errors.Is(err, fs.ErrNotExist):
		return res, nil // its holder let go meanwhile
	case errors.Is(err, errLockChanged):
		return nil, fmt.Errorf("could not unlock %s: another writer took it meanwhile", file)
	case err != nil:
		return nil, fmt.Errorf("could not unlock %s: %w", file, err)
	}
	res.Removed = true
	return res, nil
}
