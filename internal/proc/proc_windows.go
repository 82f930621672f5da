package proc

import (
	"io/fs"

	"golang.org/x/sys/windows"
)

// Alive says whether pid is a running process.
func Alive(pid int) bool {
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

// OwnedByMe: Windows files carry no uid; the directory's ACL is the guard.
func OwnedByMe(fs.FileInfo) bool { return true }
