package cache

import "net"

// checkAgentPeer: the syscall package has no LOCAL_PEERCRED getter on
// darwin, and the front does not link x/sys/unix. The socket was checked to
// be the user's, 0600, in the user's 0700 directory, which only the user
// (or root) can place a socket in; the agent checks its peers' uid.
func checkAgentPeer(*net.UnixConn) error { return nil }
