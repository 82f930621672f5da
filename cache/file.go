package cache

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// maxFileSize bounds what is read from the cache directory; an entry is a
// few KB, anything larger is not ours.
const maxFileSize = 1 << 20

// DefaultDir is $XDG_CACHE_HOME/kubeiam, else ~/.cache/kubeiam, and
// %LocalAppData%\kubeiam on Windows. macOS uses ~/.cache too rather than
// ~/Library/Caches, so the directory is the same one the docs name everywhere.
func DefaultDir() (string, error) {
	if runtime.GOOS == "windows" {
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "kubeiam"), nil
		}
		return "", errors.New("could not find the cache directory: %LocalAppData% is not set")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "kubeiam"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("could not find the cache directory: %w", err)
	}
	return filepath.Join(home, ".cache", "kubeiam"), nil
}

// ensureDir creates dir 0700 or tightens an existing one we own.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("could not create cache directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("could not check cache directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("could not use cache directory %s: not a directory", dir)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("could not make cache directory private: %w", err)
		}
	}
	return nil
}

// errNotPrivate marks a file others could read or write; it is never trusted.
var errNotPrivate = errors.New("file is readable or writable by others")

// readPrivate reads a cache file, refusing anything that is not a regular
// file owned by us with mode 0600 or stricter. The checks run on the open
// descriptor so the file cannot be swapped between check and read.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if err := checkPrivate(fi); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFileSize)
	}
	return b, nil
}

// writeAtomic writes data to path through a synced temporary file and a
// rename, so readers see the old content or the new, never a partial file.
func writeAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, base+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	// Sync so a crash or full disk cannot leave a renamed but empty file.
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// errNotOwned marks a file another user created in our directory.
var errNotOwned = errors.New("file is owned by another user")
