package ssocache

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// lockWait bounds the wait for another kubeiam editing the same file.
const lockWait = 30 * time.Second

// ErrReadOnly is the error of an edit of a file without write permission:
// the rename would replace it anyway, so kubeiam refuses instead.
var ErrReadOnly = errors.New("file is read-only")

// EditFile applies edit to the config file at path (a missing file is
// empty) under a cross-process lock, and unless dryRun writes the result
// through a temporary file in the same directory and a rename, keeping the
// file's mode. It returns the bytes before and after (before is nil when
// there was no file). Nothing is written when edit fails or changes nothing.
// The lock file lives in kubeiam's cache directory, never beside the file:
// ~/.aws belongs to the AWS tools.
func EditFile(ctx context.Context, path string, dryRun bool, edit func(*Doc) error) (before, after []byte, err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real // edit the file a symlink points at, keep the link
	}
	dir, err := cache.PrivateDir()
	if err != nil {
		return nil, nil, err
	}
	sum := sha1.Sum([]byte(path))
	unlock, err := fsafe.LockTimeout(ctx, filepath.Join(dir, "awsconfig-"+hex.EncodeToString(sum[:8])+".lock"), lockWait)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	mode := fs.FileMode(0o600)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, nil, fmt.Errorf("could not read %s: %w", path, err)
	default:
		before = b
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	}
	d := ParseDoc(before)
	if err := edit(d); err != nil {
		return before, nil, err
	}
	after = d.Bytes()
	if dryRun || (before != nil && string(after) == string(before)) {
		return before, after, nil
	}
	if before != nil && mode&0o200 == 0 {
		return before, after, fmt.Errorf("could not write %s: %w", path, ErrReadOnly)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return before, after, fmt.Errorf("could not write %s: %w", path, err)
	}
	// The mode read above is kept; the AWS CLI reads the file as it is
	// renamed into place, old or new, never half.
	if err := fsafe.WriteFile(path, after, mode); err != nil {
		return before, after, err
	}
	return before, after, nil
}
