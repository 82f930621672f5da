package kubeconfig

import (
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// watchOpen returns a function that blocks until path is next opened:
// Lock's look at a held lock (inspect) opens it, so this is the readiness
// signal that a waiter has found the lock held and is waiting, where a
// sleep would only guess. inotify (IN_OPEN) sees opens by any process.
func watchOpen(t *testing.T, path string) (wait func()) {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if _, err := syscall.InotifyAddWatch(fd, path, syscall.IN_OPEN); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			buf := make([]byte, 4096)
			for {
				n, err := syscall.Read(fd, buf)
				if err == syscall.EINTR {
					continue
				}
				if err != nil {
					done <- err
					return
				}
				for off := 0; off+syscall.SizeofInotifyEvent <= n; {
					ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
					if ev.Mask&syscall.IN_OPEN != 0 {
						done <- nil
						return
					}
					off += syscall.SizeofInotifyEvent + int(ev.Len)
				}
			}
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not opened within 10s", path)
		}
	}
}
