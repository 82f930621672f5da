package cache

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// checkAgentPeer makes sure the process answering on the socket runs as
// this user (SO_PEERCRED), whatever the socket's owner and mode say.
func checkAgentPeer(c *net.UnixConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cred *syscall.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("could not check the kubeiam agent's user: %w", serr)
	}
	if int(cred.Uid) != os.Getuid() {
		return errAgentUnsafe{fmt.Sprintf("the process on its socket runs as uid %d (pid %d)", cred.Uid, cred.Pid)}
	}
	return nil
}
