//go:build unix

package fsafe

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func wantUntrusted(t *testing.T, err, cause error) *UntrustedError {
	t.Helper()
	var ue *UntrustedError
	if !errors.As(err, &ue) || !errors.Is(err, cause) || !Untrusted(err) {
		t.Fatalf("err = %v, want an UntrustedError for %v", err, cause)
	}
	return ue
}

func TestOpenFileRefusesALink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	_, err := OpenFile(link, os.O_RDONLY, 0, Owned|Private)
	if ue := wantUntrusted(t, err, ErrSymlink); ue.Path != link {
		t.Errorf("path %q, want the link's", ue.Path)
	}
	_, err = ReadFile(link, SmallFile, 0)
	wantUntrusted(t, err, ErrSymlink)
}

// A dangling link with O_CREATE must not create the file it points at:
// that is how a planted link makes a program write where it never meant to.
func TestOpenFileCreateThroughADanglingLinkCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	link := filepath.Join(dir, "entry.lock")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	_, err := OpenFile(link, os.O_RDWR|os.O_CREATE, 0o600, Owned|Private)
	wantUntrusted(t, err, ErrSymlink)
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the link's target was created (%v)", err)
	}
}

// A FIFO with no writer would block an open forever; OpenFile returns at
// once and refuses it.
func TestOpenFileDoesNotBlockOnAFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := OpenFile(path, os.O_RDONLY, 0, Owned|Private)
		done <- err
	}()
	select {
	case err := <-done:
		wantUntrusted(t, err, ErrNotRegular)
	case <-time.After(10 * time.Second):
		t.Fatal("OpenFile blocked on a FIFO")
	}
}

func TestOpenFileRefusesAnotherOwnersFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	path := filepath.Join(t.TempDir(), "theirs")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := OpenFile(path, os.O_RDONLY, 0, Owned)
	if ue := wantUntrusted(t, err, ErrNotOwned); ue.Owner != 65534 {
		t.Errorf("owner %d, want 65534", ue.Owner)
	}
	// Tighten never changes another user's file.
	_, err = OpenFile(path, os.O_RDONLY, 0, Tighten)
	wantUntrusted(t, err, ErrNotOwned)
	// Without a requirement on the owner, it opens.
	f, err := OpenFile(path, os.O_RDONLY, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestOpenFileLooseMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loose")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenFile(path, os.O_RDONLY, 0, Owned|Private)
	wantUntrusted(t, err, ErrNotPrivate)
	if f, err := OpenFile(path, os.O_RDONLY, 0, Owned); err != nil {
		t.Fatalf("Owned alone refused a loose file: %v", err)
	} else {
		f.Close()
	}
	// Tighten makes it private and reads it.
	b, err := ReadFile(path, SmallFile, Tighten)
	if err != nil || string(b) != "x" {
		t.Fatalf("ReadFile(Tighten) = %q, %v", b, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after Tighten %v, want 0600", fi.Mode().Perm())
	}
}

func TestReadFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, make([]byte, 11), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path, 10, Private); err == nil || Untrusted(err) {
		t.Errorf("err = %v, want a size error that is not a refusal", err)
	}
	if _, err := ReadFile(filepath.Join(filepath.Dir(path), "none"), 10, Private); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestCheckDir(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckDir(dir, true); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, want 0700", fi.Mode().Perm())
	}
	link := filepath.Join(base, "link")
	os.Symlink(dir, link)
	wantUntrusted(t, CheckDir(link, true), ErrSymlink)
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o600)
	wantUntrusted(t, CheckDir(file, true), ErrNotDir)
	if os.Geteuid() == 0 {
		os.Chown(dir, 65534, 65534)
		if ue := wantUntrusted(t, CheckDir(dir, true), ErrNotOwned); ue.Owner != 65534 {
			t.Errorf("owner %d", ue.Owner)
		}
	}
}

// The mode is the one asked for, set before the first byte: never the
// umask's, never the old file's.
func TestWriteFileSetsTheModeWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
}

// A link at path is replaced, never written through.
func TestWriteFileReplacesALink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	path := filepath.Join(dir, "entry")
	os.Symlink(target, path)
	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("written through the link: target now %q", b)
	}
	if fi, _ := os.Lstat(path); !fi.Mode().IsRegular() {
		t.Errorf("path is %v, want a regular file", fi.Mode())
	}
}
