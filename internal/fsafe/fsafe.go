// Package fsafe writes files so that a reader, a crash or a power cut never
// sees half of one: the content goes to a temporary file beside the target,
// is synced, renamed over the target, and the directory is synced so the
// rename itself is on disk. It uses the standard library and syscall only,
// so the front binary can link it.
package fsafe

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, with mode, atomically and durably: a
// reader sees the old content or the new, never a mix and never the new
// content with a wider mode (the mode is set before any byte is written).
// On failure path is untouched and no temporary file is left.
func WriteFile(path string, data []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("could not write %s: %w", path, err)
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	// The rename must not publish a file whose blocks are not on disk yet.
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// After a crash the directory may still name the old file unless the
	// rename is synced too. A failure here is not reported: the new
	// content is in place, and the caller could not undo it anyway.
	_ = SyncDir(dir)
	return nil
}
