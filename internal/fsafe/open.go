package fsafe

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Why a file is not trusted. Each is its own cause, so a caller can word or
// rate-limit its warnings per cause (the token cache does).
var (
	ErrSymlink    = errors.New("is a symbolic link, which kubeiam never follows")
	ErrNotRegular = errors.New("not a regular file")
	ErrNotDir     = errors.New("not a directory")
	ErrNotOwned   = errors.New("file is owned by another user")
	ErrNotPrivate = errors.New("file is readable or writable by others")
)

// UntrustedError is a file refused for what it is, whom it belongs to or its
// mode — never for an I/O error. Err is one of the Err* causes above.
type UntrustedError struct {
	Path string
	Err  error
	// Owner is the file's owner (uid) when Err is ErrNotOwned, else -1.
	Owner int
}

func (e *UntrustedError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *UntrustedError) Unwrap() error { return e.Err }

// Untrusted tells a refusal (see UntrustedError) from other errors.
func Untrusted(err error) bool {
	var ue *UntrustedError
	return errors.As(err, &ue)
}

// Require says what OpenFile demands of a file beyond being a regular file
// reached without a link.
type Require uint8

const (
	// Owned: the file belongs to the effective user.
	Owned Require = 1 << iota
	// Private: nobody else may read or write it (mode 0600 or stricter).
	Private
	// Tighten: a file of the user's that others may access is made private
	// (through its own descriptor, so a file swapped in meanwhile is not
	// touched) instead of refused. For files other tools write too, such as
	// the AWS SSO token cache: refusing what the AWS CLI accepts would break
	// kubectl where the CLI works.
	Tighten
)

// OpenFile opens path with flag (os.O_*) and, when it creates the file,
// perm. A symbolic link at path is not followed — with os.O_CREATE too, so a
// dangling link never creates its target — and a FIFO does not block the
// open; the checks then run on the open descriptor. A missing file is
// fs.ErrNotExist.
func OpenFile(path string, flag int, perm fs.FileMode, req Require) (*os.File, error) {
	f, err := os.OpenFile(path, flag|noFollow, perm)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		// A link refused by noFollow fails with ELOOP, EMLINK or EFTYPE
		// depending on the system; say what it is instead.
		if fi, lerr := os.Lstat(path); lerr == nil {
			if cause := checkType(fi); cause != nil {
				return nil, &UntrustedError{Path: path, Err: cause, Owner: -1}
			}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := check(f, fi, req); err != nil {
		f.Close()
		if ue, ok := err.(*UntrustedError); ok {
			ue.Path = path
		}
		return nil, err
	}
	return f, nil
}

func check(f *os.File, fi fs.FileInfo, req Require) error {
	if cause := checkType(fi); cause != nil {
		return &UntrustedError{Err: cause, Owner: -1}
	}
	if req&(Owned|Private|Tighten) != 0 {
		if uid, ok := owner(fi); ok && uid != os.Geteuid() {
			return &UntrustedError{Err: ErrNotOwned, Owner: uid}
		}
	}
	if req&(Private|Tighten) != 0 && loose(fi) {
		if req&Tighten == 0 {
			return &UntrustedError{Err: ErrNotPrivate, Owner: -1}
		}
		if err := f.Chmod(fi.Mode().Perm() &^ 0o077); err != nil {
			return err
		}
	}
	return nil
}

func checkType(fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return ErrSymlink
	case !fi.Mode().IsRegular():
		return ErrNotRegular
	}
	return nil
}

// ReadFile reads path through OpenFile, at most limit bytes: a larger file
// is an error, not a truncated read (nothing kubeiam keeps privately is
// large, so one that is was not written by kubeiam).
func ReadFile(path string, limit int64, req Require) ([]byte, error) {
	f, err := OpenFile(path, os.O_RDONLY, 0, req)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// CheckDir accepts dir when it is a directory reached without a link at its
// own name and owned by the user; one that others may access is made 0700
// through its own descriptor (so a link swapped in meanwhile cannot redirect
// the chmod) when private is set. Refusals are an *UntrustedError wrapping
// ErrSymlink, ErrNotDir or ErrNotOwned. On Windows the user's profile ACL
// stands for the owner and mode checks.
func CheckDir(dir string, private bool) error {
	f, err := openDir(dir)
	if err != nil {
		if fi, lerr := os.Lstat(dir); lerr == nil {
			switch {
			case fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0:
				return &UntrustedError{Path: dir, Err: ErrSymlink, Owner: -1}
			case !fi.IsDir():
				return &UntrustedError{Path: dir, Err: ErrNotDir, Owner: -1}
			}
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0:
		return &UntrustedError{Path: dir, Err: ErrSymlink, Owner: -1}
	case !fi.IsDir():
		return &UntrustedError{Path: dir, Err: ErrNotDir, Owner: -1}
	}
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		return &UntrustedError{Path: dir, Err: ErrNotOwned, Owner: uid}
	}
	if private && loose(fi) {
		return f.Chmod(0o700)
	}
	return nil
}

// SmallFile is a read limit for the small files kubeiam keeps for itself
// (tokens, registrations, cache entries: a few KB each); one larger than
// 1 MiB is not kubeiam's.
const SmallFile = 1 << 20
