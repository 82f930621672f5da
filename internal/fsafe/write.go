package fsafe

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, with mode, atomically and durably: a
// reader sees the old content or the new, never a mix and never the new
// content with a wider mode (the mode is set before any byte is written).
// A caller that keeps a file's mode passes the mode it read with the
// content. Whatever is at path — a link, a FIFO, a file of another owner —
// is replaced, never followed or written through. On failure path is
// untouched and no temporary file is left. Errors read
// "could not write <path>: …".
func WriteFile(path string, data []byte, mode fs.FileMode) error {
	return Write(path, mode, func(w io.Writer) error {
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("could not write %s: %w", path, err)
		}
		return nil
	})
}

// Write is WriteFile with the content streamed by write (a download, an
// encoder), so a large file is never all in memory. An error from write is
// returned as it is (it says what failed); fsafe's own are worded
// "could not write <path>: …".
func Write(path string, mode fs.FileMode, write func(io.Writer) error) error {
	tmp, err := Stage(path, mode, write)
	if err != nil {
		return err
	}
	return Commit(tmp, path)
}

// Stage is the first half of Write: it writes a new temporary file beside
// path (named .<base>.tmp-*, so a tidy-up can find leftovers of a killed
// process), with mode, synced and closed, and returns its name. Commit or
// os.Remove it. On failure nothing is left.
func Stage(path string, mode fs.FileMode, write func(io.Writer) error) (tmp string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("could not write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return "", fmt.Errorf("could not write %s: %w", path, err)
	}
	if err := write(f); err != nil {
		return "", err
	}
	// The rename must not publish a file whose blocks are not on disk yet:
	// after a crash the name would lead to an empty or torn file.
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("could not write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("could not write %s: %w", path, err)
	}
	return f.Name(), nil
}

// Commit renames tmp (from Stage) over path and syncs the directory; on
// failure tmp is removed and path is untouched.
func Commit(tmp, path string) error {
	if err := Rename(tmp, path); err != nil {
		return err
	}
	// After a crash the directory may still name the old file unless the
	// rename is synced too. A failure here is not reported: the new
	// content is in place, and the caller could not undo it anyway.
	_ = SyncDir(filepath.Dir(path))
	return nil
}

// Rename is Commit without the directory sync, for a caller that renames
// under a lock others wait on and syncs the directory (SyncDir) after
// letting go (kubeconfig: see its Edit). On failure tmp is removed.
func Rename(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	return nil
}
