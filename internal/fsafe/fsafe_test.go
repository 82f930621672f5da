package fsafe

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteFileReplacesWithTheModeAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "new" || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("content %q, mode %v", b, fi.Mode())
	}
	if n := names(t, dir); len(n) != 1 {
		t.Errorf("left in the directory: %v", n)
	}
}

func TestWriteFileFailureLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	// A directory in the way: the rename fails after the temporary file
	// was written.
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(path, "inside"), nil, 0o600)
	err := WriteFile(path, []byte("x"), 0o600)
	if err == nil || !strings.HasPrefix(err.Error(), "could not write "+path+": ") {
		t.Fatalf("err = %v", err)
	}
	if n := names(t, dir); len(n) != 1 || n[0] != "target" {
		t.Errorf("left in the directory: %v", n)
	}
}

// A caller's content that fails half-way (a download cut off, an encoder
// error) leaves the old file and no temporary file, and its error as it is.
func TestWriteFailureLeavesTheOldFileAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	cut := errors.New("connection reset")
	err := Write(path, 0o600, func(w io.Writer) error {
		w.Write([]byte("half"))
		return cut
	})
	if err != cut {
		t.Fatalf("err = %v, want the writer's own", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("content %q, want the old", b)
	}
	if n := names(t, dir); len(n) != 1 {
		t.Errorf("left in the directory: %v", n)
	}
}

// Stage then Commit: the target does not change until the commit, and
// the staged file already has its mode and content.
func TestStageThenCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	os.WriteFile(path, []byte("old"), 0o600)
	tmp, err := Stage(path, 0o640, func(w io.Writer) error {
		_, err := w.Write([]byte("new"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(tmp), ".config.tmp-") || filepath.Dir(tmp) != dir {
		t.Errorf("staged as %s", tmp)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("target changed before the commit: %q", b)
	}
	if err := Commit(tmp, path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "new" || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o640) {
		t.Errorf("content %q, mode %v", b, fi.Mode())
	}
	if n := names(t, dir); len(n) != 1 {
		t.Errorf("left in the directory: %v", n)
	}
}
