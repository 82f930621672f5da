//go:build linux || darwin

// Package agent is `kubeiam agent`: a per-user process that holds the
// cache's data key in memory for the login session where the kernel keyring
// is not available (containers that refuse keyctl, macOS), so a cached
// kubectl call gets it over a Unix socket in well under a millisecond
// instead of asking the OS keyring (a D-Bus round trip on Linux, a
// /usr/bin/security process on macOS).
//
// The key lives in this process's memory only: never a file, core dumps off
// and the process not dumpable or attachable by ordinary users (Linux
// PR_SET_DUMPABLE 0), the page locked against swap where the limit allows.
// The socket is 0600 in a 0700 directory of the user's; every connection's
// peer credentials are checked, so another uid gets nothing even if the
// modes were changed. The agent exits after its idle period without a GET
// or PUT, on DROP (`kubeiam cache clear --all`, logout), and when its socket
// is removed or replaced.
package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kubeiam/kubeiam/internal/agentproto"
	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// ErrRunning: another agent already serves this socket.
var ErrRunning = errors.New("another kubeiam agent serves this socket")

// connTimeout bounds one connection: clients give up after ~20 ms.
const connTimeout = time.Second

// checkEvery is how often an idle agent looks whether its socket is still
// its own.
const checkEvery = 30 * time.Second

// keySlot is the mlocked buffer the key lives in.
const keySlot = 64

// Run serves socket until the key's idle period lapses without use, a DROP,
// or the socket is taken away. handoff, when not nil, carries the first PUT
// line (the starter writes it into a pipe, so the key never passes through
// argv, the environment or a file). It returns ErrRunning when another
// agent holds the socket.
func Run(socket string, handoff io.Reader) error {
	if !filepath.IsAbs(socket) {
		return fmt.Errorf("the socket path %q is not absolute", socket)
	}
	harden()
	_ = os.Chdir("/") // hold no directory busy for the session
	dir := filepath.Dir(socket)
	if err := ensureDir(dir); err != nil {
		return err
	}
	lock, err := takeLock(socket + ".lock")
	if err != nil {
		return err
	}
	defer lock.Close()

	a := &agent{pid: os.Getpid(), key: lockedBuffer()}
	defer a.wipe()
	if handoff != nil {
		a.adopt(handoff)
	}
	if err := removeStale(socket); err != nil {
		return err
	}
	old := unix.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return fmt.Errorf("could not listen on %s: %w", socket, err)
	}
	defer ln.Close()
	fi, err := os.Lstat(socket)
	if err != nil {
		return err
	}
	a.serve(ln, socket, fi)
	return nil
}

type agent struct {
	pid int

	mu    sync.Mutex
	desc  string
	key   []byte // keySlot bytes, locked; the first n are the key
	n     int
	idle  time.Duration
	used  time.Time
	done  bool
	close func()
}

// adopt reads the handed-over PUT; anything else is ignored, and the agent
// then waits, empty, for a PUT until its default idle period ends.
func (a *agent) adopt(r io.Reader) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, agentproto.MaxLine), agentproto.MaxLine).ReadString('\n')
	if err != nil {
		return
	}
	req, err := agentproto.ParseRequest(line)
	if err == nil && req.Verb == agentproto.Put {
		a.handle(req)
	}
}

func (a *agent) serve(ln *net.UnixListener, socket string, mine os.FileInfo) {
	a.mu.Lock()
	a.close = func() { ln.Close() }
	if a.used.IsZero() {
		a.used, a.idle = time.Now(), time.Hour
	}
	a.mu.Unlock()
	for {
		a.mu.Lock()
		until, done := a.used.Add(a.idle), a.done
		a.mu.Unlock()
		if done || !time.Now().Before(until) {
			return
		}
		ln.SetDeadline(minTime(until, time.Now().Add(checkEvery)))
		conn, err := ln.AcceptUnix()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Someone removed or replaced the socket (a client
				// repairing what it took for stale): nobody can reach
				// this agent any more.
				if fi, err := os.Lstat(socket); err != nil || !os.SameFile(fi, mine) {
					// Closing would unlink the path, whatever is there now.
					ln.SetUnlinkOnClose(false)
					return
				}
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like
			continue
		}
		go a.conn(conn)
	}
}

func (a *agent) conn(c *net.UnixConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(connTimeout))
	if uid, err := peerUID(c); err != nil || uid != os.Getuid() {
		return // another user: not a word
	}
	line, err := bufio.NewReaderSize(io.LimitReader(c, agentproto.MaxLine), agentproto.MaxLine).ReadString('\n')
	if err != nil {
		return
	}
	req, err := agentproto.ParseRequest(line)
	resp := agentproto.Err + " " + "bad request"
	if err == nil {
		resp = a.handle(req)
	}
	io.WriteString(c, resp+"\n")
}

// handle answers one request.
func (a *agent) handle(r agentproto.Request) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.desc != "" && r.Desc != a.desc {
		return agentproto.Err + " this agent holds another key"
	}
	switch r.Verb {
	case agentproto.Get:
		if a.n == 0 {
			return agentproto.None
		}
		a.used = time.Now()
		return agentproto.Key + " " + agentproto.EncodeKey(a.key[:a.n])
	case agentproto.Put:
		if len(r.Key) > keySlot {
			return agentproto.Err + " key too long"
		}
		clear(a.key)
		a.n = copy(a.key, r.Key)
		clear(r.Key)
		a.desc, a.idle, a.used = r.Desc, r.Idle, time.Now()
		return agentproto.OK
	case agentproto.Drop:
		clear(a.key)
		a.n, a.done = 0, true
		if a.close != nil {
			a.close()
		}
		return agentproto.OK
	case agentproto.Status:
		if a.n == 0 {
			return agentproto.Empty + " " + strconv.Itoa(a.pid)
		}
		left := time.Until(a.used.Add(a.idle)) / time.Second
		return agentproto.Held + " " + strconv.Itoa(a.pid) + " " + strconv.FormatInt(int64(max(left, 0)), 10)
	}
	return agentproto.Err + " unknown verb"
}

func (a *agent) wipe() {
	a.mu.Lock()
	clear(a.key)
	a.n = 0
	a.mu.Unlock()
}

// peerUID is the uid of the process at the other end of c.
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	uid, uerr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { uid, uerr = fdPeerUID(int(fd)) }); err != nil {
		return -1, err
	}
	return uid, uerr
}

// ensureDir creates the socket directory private, or accepts an existing
// one only if it is a real directory of this user's that nobody else may
// enter. It never changes what it did not create.
func ensureDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("could not create %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case st == nil || int(st.Uid) != os.Getuid():
		return fmt.Errorf("%s belongs to another user", dir)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s is open to other users (mode %o)", dir, fi.Mode().Perm())
	}
	return nil
}

// takeLock holds an exclusive flock for the agent's life: one agent per
// socket, whoever starts second exits.
func takeLock(path string) (*os.File, error) {
	f, err := fsafe.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600, 0)
	if err != nil {
		if fsafe.Untrusted(err) {
			return nil, fmt.Errorf("%s is not a regular file", path)
		}
		return nil, fmt.Errorf("could not open %s: %w", path, err)
	}
	ok, err := fsafe.TryLock(f, fsafe.Exclusive)
	if !ok {
		f.Close()
		if err == nil {
			return nil, ErrRunning
		}
		return nil, fmt.Errorf("could not lock %s: %w", path, err)
	}
	return f, nil
}

// removeStale clears the socket path under the lock: whatever is there is
// left by a dead agent (or put there by mistake) and in this user's private
// directory; something of another user's is left alone.
func removeStale(socket string) error {
	fi, err := os.Lstat(socket)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to another user", socket)
	}
	return os.Remove(socket)
}

// lockedBuffer is a keySlot buffer locked into memory where the
// RLIMIT_MEMLOCK allows (it usually does: 64 KiB at least), so the key is
// never written to swap.
func lockedBuffer() []byte {
	b := make([]byte, keySlot)
	_ = unix.Mlock(b)
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
