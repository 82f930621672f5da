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

// ensureDir creates dir 0700, or checks an existing one: it must be a real
// directory (not a link to one) owned by the user. One the user owns but
// others may write is made private through its own descriptor, so nothing
// outside the cache directory is ever changed.
func ensureDir(dir string) error {
	if _, err := os.Lstat(dir); err != nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("could not create cache directory: %w", err)
		}
	}
	return checkDir(dir)
}

// Why a file in the cache directory is not trusted. Each is its own cause of
// warning, rate-limited on its own.
var (
	errNotPrivate = errors.New("file is readable or writable by others")
	errNotOwned   = errors.New("file is owned by another user")
	errNotRegular = errors.New("not a regular file")
	errSymlink    = errors.New("is a symbolic link, which the cache never follows")
)

// untrusted tells the errors above from I/O errors.
func untrusted(err error) bool {
	return errors.Is(err, errNotPrivate) || errors.Is(err, errNotOwned) || errors.Is(err, errNotRegular) || errors.Is(err, errSymlink)
}

// openChecked opens a file of the cache directory without following a
// symbolic link at path and without blocking on a FIFO (see noFollow), then
// checks the open descriptor — so the file cannot be swapped between check
// and use — for a regular file owned by the user with mode 0600 or stricter.
func openChecked(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|noFollow, 0o600)
	if err != nil {
		if isNotExist(err) {
			return nil, err
		}
		// A link refused by noFollow fails with ELOOP, EMLINK or EFTYPE
		// depending on the system; say what it is instead.
		if fi, lerr := os.Lstat(path); lerr == nil {
			if err := checkType(fi); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkType(fi)
		if err == nil {
			err = checkOwner(fi)
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

func checkType(fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return errSymlink
	case !fi.Mode().IsRegular():
		return errNotRegular
	}
	return nil
}

// readPrivate reads a cache file through openChecked.
func readPrivate(path string) ([]byte, error) {
	f, err := openChecked(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
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
// The temporary file is created exclusively (never through a link), and the
// rename replaces whatever is at path — a link, a FIFO, a file of another
// owner — without following it.
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

// overwriteInPlace rewrites an existing private file without making a new
// one: on a full disk writeAtomic fails (a new file needs new blocks), while
// a small file's own block can still be rewritten; in a read-only directory
// the file may still be writable. Only the state file uses it, where a torn
// write costs an early warning and nothing else.
func overwriteInPlace(path string, data []byte) error {
	f, err := openChecked(path, os.O_WRONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(data)))
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
