//go:build unix

package kubeconfig

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestInspectNeverFollowsASwappedInLink: while a look at a lock runs,
// another user of the directory swaps the name between a lock file and a
// link to a FIFO (rename is atomic, so every look sees one or the other).
// A look by name and then an open by name can see the file and then open
// the link, and block on the FIFO for good; one open that refuses links
// and does not block cannot.
func TestInspectNeverFollowsASwappedInLink(t *testing.T) {
	dir := t.TempDir()
	lockFile := filepath.Join(dir, "config.lock")
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	regular, link := filepath.Join(dir, "regular"), filepath.Join(dir, "link")
	var stop atomic.Bool
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		for i := 0; !stop.Load(); i++ {
			if i%2 == 0 {
				os.WriteFile(regular, self().line(), 0o600)
				os.Rename(regular, lockFile)
			} else {
				os.Symlink(fifo, link)
				os.Rename(link, lockFile)
			}
		}
	}()
	done := make(chan int)
	go func() {
		links := 0
		for end := time.Now().Add(time.Second); time.Now().Before(end); {
			if st, err := inspect(lockFile); err == nil && !st.info.Mode().IsRegular() {
				links++
				if st.describe() != "not a regular file" {
					t.Errorf("a link described as %q", st.describe())
				}
			}
		}
		done <- links
	}()
	select {
	case links := <-done:
		t.Logf("%d looks found the link", links)
	case <-time.After(30 * time.Second):
		t.Error("a look at the lock blocked: it opened the FIFO through the link")
		// Unblock it: a writer on the FIFO ends the blocked open.
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		<-done
	}
	stop.Store(true)
	<-swapped
}
