package testwait

import (
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// WatchOpen returns a function that blocks until path is next opened, by
// any process (inotify IN_OPEN), for 10 s at most: the readiness signal
// that a waiter has looked at a file (kubeconfig's Lock opens a held lock
// to read its holder), where a sleep would only guess. ok is false where
// there is no such signal (not Linux); a test then checks less rather
// than sleep.
func WatchOpen(t testing.TB, path string) (wait func(), ok bool) {
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
	}, true
}
