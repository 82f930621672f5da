//go:build unix

package cache

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within fails the test when fn does not return within a second: the
// faults below used to block kubeiam forever.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatalf("%s did not return within 1s", what)
	}
}

// foreignUID is a uid that is not ours; files can be given to it only as root.
const foreignUID = 4242

func chownForeign(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root")
	}
	if err := os.Lchown(path, foreignUID, foreignUID); err != nil {
		t.Fatal(err)
	}
}

// plants put something that is no cache file at path; entry is what was
// there before (a valid entry, or nothing).
var plants = []struct {
	name  string
	plant func(t *testing.T, path string, entry []byte)
	warn  string
}{
	{"fifo", func(t *testing.T, path string, _ []byte) {
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
	}, "not a regular file"},
	{"symlink to a private file", func(t *testing.T, path string, entry []byte) {
		// The target is a copy of what was there (the real entry): readable,
		// ours, private, and still not to be followed.
		target := filepath.Join(t.TempDir(), "elsewhere.json")
		os.WriteFile(target, entry, 0o600)
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
	}, "symbolic link"},
	{"dangling symlink", func(t *testing.T, path string, _ []byte) {
		if err := os.Symlink(filepath.Join(t.TempDir(), "created-outside"), path); err != nil {
			t.Fatal(err)
		}
	}, "symbolic link"},
	{"directory", func(t *testing.T, path string, _ []byte) {
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
	}, "not a regular file"},
	{"foreign owner", func(t *testing.T, path string, entry []byte) {
		os.WriteFile(path, entry, 0o600)
		chownForeign(t, path)
	}, "owned by another user"},
	{"world-writable", func(t *testing.T, path string, entry []byte) {
		os.WriteFile(path, entry, 0o600)
		os.Chmod(path, 0o666)
	}, "readable or writable by others"},
}

// plantAt plants p at path and returns a check that whatever a planted
// link points to was neither created nor written through.
func plantAt(t *testing.T, p int, path string, entry []byte) (untouched func()) {
	t.Helper()
	plants[p].plant(t, path, entry)
	target, err := os.Readlink(path)
	if err != nil {
		return func() {}
	}
	before, beforeErr := os.ReadFile(target)
	return func() {
		t.Helper()
		after, afterErr := os.ReadFile(target)
		if string(after) != string(before) || os.IsNotExist(afterErr) != os.IsNotExist(beforeErr) {
			t.Errorf("%s, outside the cache directory, was created or changed through the link", target)
		}
	}
}

// TestBadEntryFiles: whatever sits at an entry's path instead of an entry
// is a miss within a second, with a warning naming it, and the next Put
// replaces it by a private regular file — never writing through a link.
func TestBadEntryFiles(t *testing.T) {
	for i, p := range plants {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.open(t, File)
			ctx := context.Background()
			k := testKey()
			if err := c.Put(ctx, testEntry(k)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(e.dir, k.ID()+".json")
			saved, _ := os.ReadFile(path)
			os.Remove(path)
			untouched := plantAt(t, i, path, saved)
			c = e.open(t, File)
			within(t, "Get", func() {
				if got, err := c.Get(ctx, k); got != nil || err != nil {
					t.Errorf("Get = %v, %v; want a miss", got, err)
				}
			})
			if !strings.Contains(e.warn.String(), p.warn) {
				t.Errorf("warning %q does not say %q", e.warn, p.warn)
			}
			within(t, "List", func() {
				if l, _ := c.List(ctx); len(l) != 0 {
					t.Errorf("List shows %d entries", len(l))
				}
			})
			err := c.Put(ctx, testEntry(k))
			if p.name == "directory" {
				// A rename cannot replace a directory; the write fails and
				// says so, and nothing else changes.
				if err == nil {
					t.Error("Put over a directory succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(path)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Fatalf("after Put: %v, %v", fi, err)
			}
			if got, _ := c.Get(ctx, k); got == nil {
				t.Error("miss after Put")
			}
			untouched()
		})
	}
}

// TestBadLockFiles: the same things at <id>.lock cost no wait; the lock is
// made anew as a private regular file in the cache directory, and nothing
// is created outside it.
func TestBadLockFiles(t *testing.T) {
	for i, p := range plants {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.open(t, File)
			k := testKey()
			path := filepath.Join(e.dir, k.ID()+".lock")
			untouched := plantAt(t, i, path, nil)
			within(t, "Lock", func() {
				unlock, err := c.Lock(context.Background(), k, 500*time.Millisecond)
				if err != nil {
					t.Errorf("Lock: %v", err)
					return
				}
				unlock()
			})
			fi, err := os.Lstat(path)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Errorf("lock file after Lock: %v, %v", fi, err)
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
				t.Error("the lock file still belongs to another user")
			}
			untouched()
			// The front's path to the same lock file.
			f, err := c.LockFile(k)
			if err != nil || f == nil {
				t.Fatalf("LockFile: %v", err)
			}
			f.Close()
		})
	}
}

// TestBadStateFile: state.json is read on every keyring call and written by
// every warning; in its place a FIFO must not block and a link must not be
// written through.
func TestBadStateFile(t *testing.T) {
	for i, p := range plants {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t)
			os.MkdirAll(e.dir, 0o700)
			path := filepath.Join(e.dir, stateFile)
			untouched := plantAt(t, i, path, nil)
			within(t, "the keyring backend", func() {
				c := e.open(t, Auto)
				if c.Backend() != Keyring {
					t.Errorf("Backend() = %s", c.Backend())
				}
				c.warn("test", "a warning saves the state")
			})
			if p.name != "directory" {
				if b, err := readPrivate(path); err != nil || !strings.Contains(string(b), "keyringUsed") {
					t.Errorf("state not replaced: %q, %v", b, err)
				}
			}
			untouched()
		})
	}
}

// TestUntrustedCacheDir: a cache directory that is a link, or another
// user's, turns caching off with a warning on every call; nothing is
// created or chmod-ed through it. One of ours that others may write is made
// private.
func TestUntrustedCacheDir(t *testing.T) {
	ctx := context.Background()
	t.Run("symlink", func(t *testing.T) {
		real := filepath.Join(t.TempDir(), "real")
		os.Mkdir(real, 0o755)
		e := newEnv(t)
		os.MkdirAll(filepath.Dir(e.dir), 0o700)
		os.Symlink(real, e.dir)
		for range 2 {
			c := e.open(t, File)
			if c.Backend() != None || !strings.Contains(e.warn.String(), "symbolic link") {
				t.Fatalf("Backend() = %s, warning %q", c.Backend(), e.warn)
			}
			c.Put(ctx, testEntry(testKey()))
			unlock, err := c.Lock(ctx, testKey(), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			unlock()
			e.warn.Reset()
		}
		assertMode(t, real, 0o755)
		if des, _ := os.ReadDir(real); len(des) != 0 {
			t.Errorf("%d files were created through the link", len(des))
		}
	})
	t.Run("foreign owner", func(t *testing.T) {
		e := newEnv(t)
		os.MkdirAll(e.dir, 0o755)
		chownForeign(t, e.dir)
		c := e.open(t, File)
		if c.Backend() != None || !strings.Contains(e.warn.String(), "owned by another user (uid 4242)") {
			t.Fatalf("Backend() = %s, warning %q", c.Backend(), e.warn)
		}
		c.Put(ctx, testEntry(testKey()))
		assertMode(t, e.dir, 0o755)
		if des, _ := os.ReadDir(e.dir); len(des) != 0 {
			t.Errorf("%d files were created in another user's directory", len(des))
		}
	})
	t.Run("world-writable", func(t *testing.T) {
		e := newEnv(t)
		os.MkdirAll(e.dir, 0o700)
		os.Chmod(e.dir, 0o777)
		c := e.open(t, File)
		if c.Backend() != File || e.warn.Len() != 0 {
			t.Fatalf("Backend() = %s, warning %q", c.Backend(), e.warn)
		}
		assertMode(t, e.dir, 0o700)
		if err := c.Put(ctx, testEntry(testKey())); err != nil {
			t.Fatal(err)
		}
	})
}
