package agent

import (
	"net"

	"golang.org/x/sys/unix"
)

// harden turns core dumps off. (macOS has no PR_SET_DUMPABLE; the hardened
// runtime of a signed binary closes task_for_pid to other processes.)
func harden() {
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
}

// peerUID is the uid of the process at the other end (LOCAL_PEERCRED, what
// getpeereid(3) reads).
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	uid := -1
	var serr error
	if err := raw.Control(func(fd uintptr) {
		var cred *unix.Xucred
		cred, serr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if serr == nil {
			uid = int(cred.Uid)
		}
	}); err != nil {
		return -1, err
	}
	return uid, serr
}
