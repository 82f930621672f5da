package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kubeiam/kubeiam/internal/agentproto"
)

// TestAgentPeerOfAnotherUser: a socket of the user's, in the user's private
// directory, answered by a process running as another uid is not used —
// the peer check alone catches it — and not removed.
func TestAgentPeerOfAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to listen as another uid")
	}
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	desc := sessionKeyDesc()
	sock := agentproto.Socket(desc)
	if err := os.Mkdir(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	// Bound as root (the file is ours), listening as uid 4242: SO_PEERCRED
	// reports the credentials of listen(2).
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o600)
	if err := syscall.Setresuid(-1, foreignUID, -1); err != nil {
		t.Fatal(err)
	}
	lerr := syscall.Listen(fd, 4)
	if err := syscall.Setresuid(-1, 0, -1); err != nil {
		t.Fatal(err)
	}
	if lerr != nil {
		t.Fatal(lerr)
	}
	_, err = agentStore{}.Read(desc)
	var unsafe errAgentUnsafe
	if !errors.As(err, &unsafe) || !strings.Contains(err.Error(), "runs as uid 4242") {
		t.Errorf("Read: %v; want it refused for the peer's uid", err)
	}
	if err := (agentStore{}).Write(desc, make([]byte, dataKeySize), SessionKeyIdle); !errors.As(err, &unsafe) {
		t.Errorf("Write: %v; want it refused", err)
	}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Errorf("the socket was touched: %v", err)
	}
}
