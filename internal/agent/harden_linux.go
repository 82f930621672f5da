package agent

import "golang.org/x/sys/unix"

// harden turns core dumps off and makes the process undumpable: no core
// file, and /proc/<pid>/mem and ptrace closed to other processes of the
// user that are not root.
func harden() {
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// fdPeerUID is the uid of the process at the other end (SO_PEERCRED).
func fdPeerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}
