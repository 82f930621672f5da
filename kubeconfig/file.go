package kubeconfig

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rogpeppe/go-internal/diff"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// EditOptions control how Edit writes.
type EditOptions struct {
	// DryRun computes the change and returns its diff, writing nothing.
	DryRun bool
	// LockTimeout is how long to wait for the kubeconfig lock; 0 means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// Replace discards the current content instead of loading it: the edit
	// function starts from an empty config (the previous file is still kept
	// as <file>.bak).
	Replace bool
}

// EditResult reports what Edit did.
type EditResult struct {
	Path string
	// Changed is false when the edit left the config as it was; then
	// nothing is written.
	Changed bool
	// Diff is a unified diff from the current (normalised) content to the
	// new one; set for a dry run that changes something.
	Diff []byte
	// Backup is the path of the previous content, when there was one.
	Backup string
}

// Edit runs fn on the kubeconfig at path under the kubectl-compatible lock and
// writes the result atomically. A missing file starts as an empty config and
// is created with mode 0600; an existing file keeps its mode and its previous
// content is kept as <path>.bak. When fn returns an error nothing is written.
func Edit(ctx context.Context, path string, opts EditOptions, fn func(*clientcmdapi.Config) error) (*EditResult, error) {
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	// A dry run still takes the lock: it must diff against a complete file,
	// not one kubectl is halfway through writing in place.
	unlock, err := Lock(ctx, path, timeout)
	if err != nil {
		return nil, err
	}
	res, err := edit(path, opts, fn)
	if uerr := unlock(); uerr != nil && err == nil {
		err = uerr
	}
	return res, err
}

func edit(path string, opts EditOptions, fn func(*clientcmdapi.Config) error) (*EditResult, error) {
	// Write through a symlinked kubeconfig (dotfile managers do this) to the
	// file it points at, instead of replacing the link with a file. The lock
	// stays on the name kubectl uses.
	real := path
	if r, err := filepath.EvalSymlinks(path); err == nil {
		real = r
	}
	old, mode, err := readExisting(real)
	if err != nil {
		return nil, err
	}
	if old != nil && mode&0o200 == 0 && !opts.DryRun {
		return nil, fmt.Errorf("could not write %s: file is read-only (mode %04o)", path, mode)
	}
	cfg, err := Parse(path, old)
	if err != nil {
		return nil, err
	}
	lay := layoutOf(old)
	// Whether anything changed is decided on the bytes: the encoder writes
	// kubectl's layout, so an edit that changes nothing reproduces a file
	// kubectl or kubeiam wrote byte for byte. A file in another layout is
	// rewritten once into kubectl's (with the .bak kept). Encoding the old
	// content again just to compare would be a quarter of a 1,000-context
	// merge; only a dry run's diff pays for it.
	var orig *clientcmdapi.Config
	if old != nil && opts.DryRun {
		orig = cfg.DeepCopy()
	}
	if opts.Replace {
		cfg = clientcmdapi.NewConfig()
	}
	if err := fn(cfg); err != nil {
		return nil, err
	}
	after, err := encode(cfg, lay, len(old))
	if err != nil {
		return nil, fmt.Errorf("could not encode %s: %w", path, err)
	}
	res := &EditResult{Path: path}
	if old != nil && bytes.Equal(old, after) {
		return res, nil
	}
	res.Changed = true
	if opts.DryRun {
		// Only a dry run pays for the diff: on a 1,000-context file it
		// costs more than the rest of the merge. The old side is shown
		// in the same layout as the new, so the diff is the change alone.
		oldLabel, before := "/dev/null", []byte(nil)
		if old != nil {
			oldLabel = path
			if before, err = encode(orig, lay, len(old)); err != nil {
				return nil, fmt.Errorf("could not encode %s: %w", path, err)
			}
		}
		res.Diff = diff.Diff(oldLabel, before, path, after)
		return res, nil
	}
	// The backup is taken once the new content is safely in its temporary
	// file, just before the rename: a write that fails leaves .bak as it was.
	var keepOld func() error
	if old != nil {
		res.Backup = path + ".bak"
		keepOld = func() error { return backup(real, old, mode) }
	}
	if err := writeAtomic(real, after, mode, keepOld); err != nil {
		return nil, err
	}
	return res, nil
}

// backup makes <path>.bak the current content of path, which is old. A
// hard link to the file does it without copying a byte (the rename that
// follows leaves the old inode to the backup alone); where the filesystem
// has no hard links, old is written out.
func backup(path string, old []byte, mode fs.FileMode) error {
	tmp := fmt.Sprintf("%s.bak.tmp-%s", path, rand.Text()[:10])
	if err := os.Link(path, tmp); err == nil {
		if err := os.Rename(tmp, path+".bak"); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("could not keep %s.bak: %w", path, err)
		}
		return nil
	}
	return WriteAtomic(path+".bak", old, mode)
}

// readExisting returns the file's content and mode, or nil content and
// mode 0600 when it does not exist yet.
func readExisting(path string) ([]byte, fs.FileMode, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o600, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("could not read %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("could not stat %s: %w", path, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, fi.Mode().Perm(), nil
}

// Parse decodes kubeconfig bytes, naming the file in the error. Empty input
// is an empty config, as for kubectl.
func Parse(path string, data []byte) (*clientcmdapi.Config, error) {
	cfg, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("could not parse kubeconfig %s: %w", path, err)
	}
	for _, c := range cfg.Clusters {
		c.LocationOfOrigin = path
	}
	for _, a := range cfg.AuthInfos {
		a.LocationOfOrigin = path
	}
	for _, c := range cfg.Contexts {
		c.LocationOfOrigin = path
	}
	return cfg, nil
}

// LoadFile reads and parses one kubeconfig; a missing file is an error.
func LoadFile(path string) (*clientcmdapi.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("could not read kubeconfig: %w", err)
	}
	return Parse(path, data)
}

// WriteAtomic writes data to path through a temporary file in the same
// directory, fsynced and renamed over path, so a reader sees the old or the
// new content and never a mix. On any failure the temporary file is removed
// and path is untouched.
func WriteAtomic(path string, data []byte, mode fs.FileMode) error {
	return writeAtomic(path, data, mode, nil)
}

// writeAtomic is WriteAtomic with beforeRename run between the temporary
// file's fsync and the rename; its error stops the write.
func writeAtomic(path string, data []byte, mode fs.FileMode, beforeRename func() error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("could not create directory %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	if beforeRename != nil {
		if err := beforeRename(); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	return nil
}
