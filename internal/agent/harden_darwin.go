package agent

import "golang.org/x/sys/unix"

// harden turns core dumps off. (macOS has no PR_SET_DUMPABLE; the hardened
// runtime of a signed binary closes task_for_pid to other processes.)
func harden() {
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
}

// fdPeerUID is the uid of the process at the other end (LOCAL_PEERCRED,
// what getpeereid(3) reads).
func fdPeerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}
