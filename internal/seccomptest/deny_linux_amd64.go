// Package seccomptest denies syscalls to the calling process with a seccomp
// filter, as a container runtime's profile does, so tests can show what
// kubeiam does where keyctl is refused. Test helper only: never linked into
// the shipped binaries (cmd/kubeiam/deps_test.go).
package seccomptest

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DenyKeyctl makes add_key, request_key and keyctl fail with EPERM in every
// thread of this process and in whatever it execs (Docker's default profile
// does the same). It cannot be undone.
func DenyKeyctl() error { return denyKeyctl(unix.SECCOMP_FILTER_FLAG_TSYNC) }

// DenyKeyctlThread does the same for the calling OS thread only, and the
// processes started from it: lock the goroutine to its thread first
// (runtime.LockOSThread) and never unlock it. The benchmark starts the
// "keyctl refused" subjects from such a thread, with no wrapper process to
// add its own start-up to the measurement.
func DenyKeyctlThread() error { return denyKeyctl(0) }

func denyKeyctl(flags uintptr) error {
	const (
		ld    = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		allow = 0x7fff0000 // SECCOMP_RET_ALLOW
	)
	filter := []unix.SockFilter{
		{Code: ld, K: 4}, // seccomp_data.arch
		{Code: jeq, K: unix.AUDIT_ARCH_X86_64, Jt: 0, Jf: 4},
		{Code: ld, K: 0}, // seccomp_data.nr
		{Code: jeq, K: unix.SYS_ADD_KEY, Jt: 3},
		{Code: jeq, K: unix.SYS_REQUEST_KEY, Jt: 2},
		{Code: jeq, K: unix.SYS_KEYCTL, Jt: 1},
		{Code: ret, K: allow},
		{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(NO_NEW_PRIVS): %w", err)
	}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags,
		uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}
