package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// The helpers below let other kubeiam packages (the SSO sign-in in
// token/sso) keep files of their own under the rules the cache follows: no
// symbolic links or FIFOs are opened, only regular files of the user with a
// private mode are read, and writes go through a synced temporary file and
// a rename.

// PrivateDir returns DefaultDir after creating it (0700) or checking it: a
// real directory owned by the user.
func PrivateDir() (string, error) {
	dir, err := DefaultDir()
	if err != nil {
		return "", err
	}
	if err := ensureDir(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// ReadPrivateFile reads path without following a link or blocking on a
// FIFO, and only when it is a regular file of the user that others cannot
// read or write. Such refusals say what is wrong and name the file; a
// missing file is fs.ErrNotExist.
func ReadPrivateFile(path string) ([]byte, error) {
	b, err := readPrivate(path)
	if err != nil && untrusted(err) {
		return nil, &UntrustedFileError{Path: path, Err: errors.Unwrap(err)}
	}
	return b, err
}

// ReadOwnFile is ReadPrivateFile for a file other tools write too, such as
// the SSO token cache the AWS SDKs and CLI share: a regular file of the user
// that others may read is made private (chmod through its own descriptor,
// so a file swapped in meanwhile is not touched) and read, instead of
// refused — the AWS SDK would use it as it is, and refusing it would break
// kubectl where the AWS CLI works. Links, FIFOs and files of other users
// are still refused.
func ReadOwnFile(path string) ([]byte, error) {
	b, err := ReadPrivateFile(path)
	if !errors.Is(err, errNotPrivate) {
		return b, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		if err = checkType(fi); err == nil {
			if err = checkOwner(fi); errors.Is(err, errNotPrivate) {
				err = f.Chmod(fi.Mode().Perm() &^ 0o077)
			}
		}
	}
	f.Close()
	if err != nil {
		return nil, &UntrustedFileError{Path: path, Err: err}
	}
	return ReadPrivateFile(path)
}

// UntrustedFileError is a file that ReadPrivateFile refused.
type UntrustedFileError struct {
	Path string
	Err  error
}

func (e *UntrustedFileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *UntrustedFileError) Unwrap() error { return e.Err }

// WriteFileAtomic writes data to path (mode 0600) through a synced
// temporary file in the same directory and a rename, so readers see the old
// content or the new, never part of it.
func WriteFileAtomic(path string, data []byte) error { return writeAtomic(path, data) }

// LockPath takes an exclusive cross-process lock on the file at path,
// creating it (0600) when needed, waiting at most timeout (0: until ctx
// ends). The file is never removed, so every holder locks the same inode.
func LockPath(ctx context.Context, path string, timeout time.Duration) (unlock func(), err error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	unlock, err = lockFile(ctx, path)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("could not lock %s: another kubeiam process held it for %s", path, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("could not lock %s: %w", path, err)
	}
	return unlock, nil
}

// RemoveMatching removes the entries whose key match accepts and returns
// how many it removed. Files the cache does not trust are not read and
// stay (Clear with all removes them).
func (c *Cache) RemoveMatching(ctx context.Context, match func(Key) bool) (int, error) {
	if !c.dirOK {
		return 0, nil
	}
	ids, err := c.entryIDs()
	if err != nil {
		return 0, err
	}
	n, errs := c.removeEntries(ids, func(id string) bool {
		fe, err := c.readEntry(id)
		return err == nil && fe.Key.ID() == id && match(fe.Key)
	})
	if len(errs) > 0 {
		return n, fmt.Errorf("could not remove cache entries: %w", errors.Join(errs...))
	}
	return n, nil
}

// removeEntries removes the entries among ids that remove accepts and
// returns how many went; entries already gone are no error.
func (c *Cache) removeEntries(ids []string, remove func(id string) bool) (int, []error) {
	n := 0
	var errs []error
	for _, id := range ids {
		if !remove(id) {
			continue
		}
		if err := os.Remove(c.entryPath(id)); err != nil {
			if !isNotExist(err) {
				errs = append(errs, err)
			}
			continue
		}
		n++
	}
	return n, errs
}
