package kubeconfig

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
	"golang.org/x/sys/windows"
)

// pidAlive says whether pid is a running process.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		// No such process; access denied means it exists.
		return err == windows.ERROR_ACCESS_DENIED
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return true
	}
	return code == 259 // STILL_ACTIVE
}

// withDirMutex runs fn holding a lock that stands for dir: Windows cannot
// lock a directory, so it is a file in the temporary directory named after
// it.
func withDirMutex(dir string, fn func() error) error {
	abs, _ := filepath.Abs(dir)
	sum := sha256.Sum256([]byte(abs))
	l := flock.New(filepath.Join(os.TempDir(), "kubeiam-kubeconfig-"+hex.EncodeToString(sum[:8])+".lock"))
	if err := l.Lock(); err != nil {
		return err
	}
	defer l.Unlock()
	return fn()
}

// ownedByMe: Windows files carry no uid; the directory's ACL is the guard.
func ownedByMe(fs.FileInfo) bool { return true }
