package cache

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// TestFullDiskWarnsHourly fills a real (tmpfs) file system: the write fails
// with ENOSPC, and the warning comes once an hour, not on every call — the
// state file remembering it is rewritten in place, as a new one cannot be
// written on a full disk.
func TestFullDiskWarnsHourly(t *testing.T) {
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("cannot mount a small file system to fill (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	e := newEnv(t)
	e.dir = filepath.Join(mnt, "kubeiam")
	ctx := context.Background()
	k := testKey()
	if err := e.open(t, File).Put(ctx, testEntry(k)); err != nil {
		t.Fatal(err)
	}
	fill, err := os.Create(filepath.Join(mnt, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	defer fill.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := fill.Write(chunk); err != nil {
			break
		}
	}
	for range 3 {
		e.now = e.now.Add(time.Minute)
		err := e.open(t, File).Put(ctx, testEntry(k))
		if !fsafe.IsNoSpace(err) {
			t.Fatalf("Put on a full disk: %v", err)
		}
	}
	if n := strings.Count(e.warn.String(), "no space left on device"); n != 1 {
		t.Errorf("%d warnings in 3 calls on a full disk: %q", n, e.warn)
	}
	e.warn.Reset()
	e.now = e.now.Add(time.Hour)
	e.open(t, File).Put(ctx, testEntry(k))
	if !strings.Contains(e.warn.String(), "no space left on device") {
		t.Errorf("no warning after an hour: %q", e.warn)
	}
	// The old entry is still there and whole.
	if got, _ := e.open(t, File).Get(ctx, k); got == nil {
		t.Error("the old entry was lost")
	}
}
