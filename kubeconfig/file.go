package kubeconfig

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/internal/fsafe"
	"github.com/kubeiam/kubeiam/internal/proc"
	"github.com/kubeiam/kubeiam/kubeconfig/internal/codec"
)

// EditOptions control how Edit writes.
type EditOptions struct {
	// DryRun computes the change and returns its diff, writing nothing.
	DryRun bool
	// LockTimeout is how long to wait for the kubeconfig lock; 0 means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// Notify receives one line when a stale lock is taken over.
	Notify func(string)
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
	// Diff is a unified diff from the file's bytes to the new content,
	// secrets redacted on both sides (see Redact); set for a dry run that
	// changes something.
	Diff []byte
	// Backup is the path of the previous content, when there was one.
	Backup string
	// LockHeld is how long <path>.lock existed for this edit.
	LockHeld time.Duration
}

// Edit runs fn on the kubeconfig at path and writes the result atomically,
// under the kubectl-compatible lock. A missing file starts as an empty
// config and is created with mode 0600; an existing file keeps its mode and
// its previous content is kept as <path>.bak. When fn returns an error
// nothing is written.
//
// The lock blocks every kubectl write, so it is held for as little as
// possible: reading, decoding, fn, encoding and writing and syncing the
// temporary file all happen before it is taken. Under the lock kubeiam
// checks that the file is still the one the edit started from (see
// unchanged); then the backup link and the rename are all that is left. If
// another writer got in between, fn runs again on the new content (so fn
// must be safe to run twice, on a fresh config each time). A dry run takes
// the lock too, for the same check: it must diff against a complete file,
// not one kubectl is halfway through writing in place.
func Edit(ctx context.Context, path string, opts EditOptions, fn func(*clientcmdapi.Config) error) (*EditResult, error) {
	return edit(ctx, path, opts, viaAPI(path, fn))
}

// docEdit is an edit made on the file's content as the codec reads it (nil
// when the file is empty or missing); it returns the content to write.
type docEdit func(*codec.Config) (*codec.Config, error)

// viaAPI is fn as a docEdit: the content converted to clientcmd's internal
// types (as clientcmd.Load does), fn, and back (as clientcmd.Write does).
func viaAPI(path string, fn func(*clientcmdapi.Config) error) docEdit {
	return func(doc *codec.Config) (*codec.Config, error) {
		cfg, err := parsed(path, doc)
		if err != nil {
			return nil, err
		}
		if err := fn(cfg); err != nil {
			return nil, err
		}
		out, err := codec.FromAPI(cfg)
		if err != nil {
			return nil, encodeError(path, err)
		}
		return out, nil
	}
}

// edit is Edit with the edit made by fn on the codec's types.
func edit(ctx context.Context, path string, opts EditOptions, fn docEdit) (*EditResult, error) {
	// Write through a symlinked kubeconfig (dotfile managers do this) to the
	// file it points at, instead of replacing the link with a file. The lock
	// stays on the name kubectl uses.
	e := &editor{path: path, real: path, opts: opts, fn: fn}
	if r, err := filepath.EvalSymlinks(path); err == nil {
		e.real = r
	}
	snap, err := readExisting(e.real)
	if err != nil {
		return nil, err
	}
	p := e.prepare(snap)
	unlock, err := Lock(ctx, path, LockOptions{Timeout: opts.LockTimeout, Notify: opts.Notify})
	if err != nil {
		p.discard()
		return nil, err
	}
	locked := time.Now()
	res, p, err := e.commit(snap, p)
	if uerr := unlock(); uerr != nil && err == nil {
		err = uerr
	}
	held := time.Since(locked) // until the lock file is gone
	if p.aside != "" {
		os.Remove(p.aside)
	}
	if err != nil {
		return nil, err
	}
	res.LockHeld = held
	if res.Changed && opts.DryRun {
		// Only a dry run pays for the diff: on a 1,000-context file it
		// costs more than the rest of the merge.
		res.Diff = diffRedacted(path, p.snap.data, p.after)
	}
	if res.Changed && !opts.DryRun {
		// The rename (and .bak) reach the disk with the directory's sync,
		// done here, after the unlock: every kubectl write waits on the
		// lock, and on ext4 a directory fsync under it tripled the hold
		// (median 3.6 ms against 1.2 ms, 300 merges into a 100-context
		// file; no change on tmpfs). A crash before it leaves the old file
		// or the new, both whole.
		_ = fsafe.SyncDir(filepath.Dir(e.real))
		removeOldTemps(e.real)
	}
	return res, nil
}

// editor is one Edit call.
type editor struct {
	path, real string
	opts       EditOptions
	fn         docEdit
}

// snapshot is the file as read: content (nil when it does not exist) and
// mode, and the metadata unchanged uses.
type snapshot struct {
	data []byte
	mode fs.FileMode
	info fs.FileInfo
	// ctime is the inode change time, where the system gives it; settled
	// says mtime and ctime were older than settleTime when it was read.
	ctime   time.Time
	settled bool
}

// prepared is the edit applied to one snapshot.
type prepared struct {
	snap    snapshot
	after   []byte
	changed bool
	err     error
	// tmp holds after, synced, ready to be renamed over the file.
	tmp string
	// aside is the previous .bak, to remove once the lock is released.
	aside string
}

func (p *prepared) discard() {
	if p.tmp != "" {
		os.Remove(p.tmp)
		p.tmp = ""
	}
}

// prepare decodes snap, runs the edit and encodes the result: for a real
// write straight into its synced temporary file, for a dry run into after.
func (e *editor) prepare(snap snapshot) *prepared {
	p := &prepared{snap: snap}
	doc, err := e.apply(snap)
	if err != nil {
		p.err = err
		return p
	}
	// Whether anything changed is decided on the bytes: the encoder writes
	// kubectl's layout, so an edit that changes nothing reproduces a file
	// kubectl or kubeiam wrote byte for byte. A file in another layout is
	// rewritten once into kubectl's (with the .bak kept).
	l := codec.LayoutOf(snap.data)
	if !e.opts.DryRun {
		p.tmp, p.changed, p.err = e.stage(snap, doc, l)
		return p
	}
	if p.after, err = codec.EncodeBytes(doc, l, len(snap.data)); err != nil {
		p.err = encodeError(e.path, err)
		return p
	}
	p.changed = snap.data == nil || !bytes.Equal(snap.data, p.after)
	return p
}

func encodeError(path string, err error) error {
	return fmt.Errorf("could not encode %s: %w", path, err)
}

// stage writes the new content to a temporary file beside the file as the
// emitter makes it, a piece at a time (a large kubeconfig is never all in
// memory twice), comparing it with the old on the way. It returns the
// file's name, or "" when the content is the same.
func (e *editor) stage(snap snapshot, doc *codec.Config, l codec.Layout) (string, bool, error) {
	old := codec.Comparer{Want: snap.data}
	var encErr error
	tmp, err := stageWith(e.real, snap.mode, func(w io.Writer) error {
		var werr error
		encErr = codec.Encode(doc, l, func(b []byte) bool {
			old.Write(b)
			_, werr = w.Write(b)
			return werr == nil
		})
		if encErr != nil {
			return encErr
		}
		return werr
	})
	switch {
	case encErr != nil:
		return "", false, encodeError(e.path, encErr)
	case err != nil:
		// No temporary file: an edit that changes nothing still succeeds.
		after, eerr := codec.EncodeBytes(doc, l, len(snap.data))
		if eerr != nil {
			return "", false, encodeError(e.path, eerr)
		}
		if snap.data != nil && bytes.Equal(snap.data, after) {
			return "", false, nil
		}
		return "", false, err
	case snap.data != nil && old.Same():
		os.Remove(tmp)
		return "", false, nil
	}
	return tmp, true, nil
}

// apply decodes snap and runs the edit on it; it returns the new content.
func (e *editor) apply(snap snapshot) (*codec.Config, error) {
	if snap.data != nil && snap.mode&0o200 == 0 && !e.opts.DryRun {
		return nil, fmt.Errorf("could not write %s: file is read-only (mode %04o)", e.path, snap.mode)
	}
	doc, err := codec.Decode(snap.data)
	if err != nil {
		return nil, parseError(e.path, err)
	}
	if e.opts.Replace {
		// The content is discarded, but only once it is known to be one
		// kubectl reads: a file that is not stays as it is.
		if _, err := parsed(e.path, doc); err != nil {
			return nil, err
		}
		doc = nil
	}
	return e.fn(doc)
}

// commit runs under the lock: it checks the file is still what p was made
// from (else prepares again, on the new content) and renames the temporary
// file into place.
func (e *editor) commit(snap snapshot, p *prepared) (*EditResult, *prepared, error) {
	same, err := unchanged(e.real, snap)
	if err == nil && !same {
		// Another writer got in between: start again from its content.
		var cur snapshot
		if cur, err = readExisting(e.real); err == nil {
			p.discard()
			p = e.prepare(cur)
		}
	}
	if err != nil {
		p.discard()
		return nil, p, err
	}
	if p.err != nil {
		p.discard()
		return nil, p, p.err
	}
	res := &EditResult{Path: e.path, Changed: p.changed}
	if !p.changed || e.opts.DryRun {
		return res, p, nil
	}
	// The backup is taken once the new content is safely in its temporary
	// file, just before the rename: a write that fails leaves .bak as it was.
	var keepOld func() error
	if p.snap.data != nil {
		res.Backup = e.path + ".bak"
		keepOld = func() (err error) {
			p.aside, err = backup(e.real, p.snap.data, p.snap.mode)
			return err
		}
	}
	err = commitFile(p.tmp, e.real, keepOld)
	p.tmp = ""
	if err != nil {
		return nil, p, err
	}
	return res, p, nil
}

// backup makes <path>.bak the current content of path, which is old. A
// hard link to the file does it without copying a byte (the rename that
// follows leaves the old inode to the backup alone); where the filesystem
// has no hard links, old is written out.
//
// It runs under the lock, where replacing the previous .bak would free that
// file's blocks (milliseconds for a large kubeconfig). So the previous .bak
// is moved aside instead, to a name returned for removal after the unlock
// (one of the temporary names a later write tidies up, should the process
// die first).
func backup(path string, old []byte, mode fs.FileMode) (aside string, err error) {
	bak := path + ".bak"
	aside = fmt.Sprintf("%s.bak.tmp-%s-old", path, rand.Text()[:10])
	if os.Rename(bak, aside) != nil {
		aside = "" // there was none
	}
	if err := os.Link(path, bak); err != nil {
		if aside != "" {
			os.Rename(aside, bak)
		}
		return "", WriteAtomic(bak, old, mode)
	}
	return aside, nil
}

// settleTime is how long a file must have gone unmodified for its
// metadata alone to tell whether it changed since: any write after that
// stamps a newer mtime and ctime, whatever the timestamp granularity.
// (A variable for the tests.)
var settleTime = 5 * time.Second

// unchanged says whether the file at path still has snap's content and
// mode. A file that had settled when snap was taken and that is still the
// same inode with the same size, mtime and ctime has not been written since:
// that takes one stat. Otherwise the bytes are compared, in small chunks:
// under the lock, reading a large file into fresh memory would cost more
// than everything else done there.
func unchanged(path string, snap snapshot) (bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return snap.data == nil, nil
	}
	if err != nil {
		return false, fmt.Errorf("could not stat %s: %w", path, err)
	}
	if snap.data == nil || fi.Mode().Perm() != snap.mode || fi.Size() != int64(len(snap.data)) {
		return false, nil
	}
	if snap.settled && os.SameFile(fi, snap.info) && fi.ModTime().Equal(snap.info.ModTime()) {
		if c, ok := changeTime(fi); ok && c.Equal(snap.ctime) {
			return true, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("could not read %s: %w", path, err)
	}
	defer f.Close()
	buf := make([]byte, 128<<10)
	rest := snap.data
	for {
		n, err := f.Read(buf)
		if n > len(rest) || !bytes.Equal(buf[:n], rest[:n]) {
			return false, nil
		}
		rest = rest[n:]
		if err == io.EOF {
			return len(rest) == 0, nil
		}
		if err != nil {
			return false, fmt.Errorf("could not read %s: %w", path, err)
		}
	}
}

// readExisting returns the file's content and mode, or nil content and
// mode 0600 when it does not exist yet. The metadata is taken before the
// content, so a write that lands after it shows in a later stat.
func readExisting(path string) (snapshot, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return snapshot{mode: 0o600}, nil
	}
	if err != nil {
		return snapshot{}, fmt.Errorf("could not read %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return snapshot{}, fmt.Errorf("could not stat %s: %w", path, err)
	}
	var b bytes.Buffer
	b.Grow(int(fi.Size()) + 512)
	if _, err := b.ReadFrom(f); err != nil {
		return snapshot{}, fmt.Errorf("could not read %s: %w", path, err)
	}
	s := snapshot{data: b.Bytes(), mode: fi.Mode().Perm(), info: fi}
	if s.data == nil {
		s.data = []byte{}
	}
	var ok bool
	if s.ctime, ok = changeTime(fi); ok {
		settled := time.Now().Add(-settleTime)
		s.settled = fi.ModTime().Before(settled) && s.ctime.Before(settled)
	}
	return s, nil
}

// Parse decodes kubeconfig bytes, naming the file in the error. Empty input
// is an empty config, as for kubectl.
func Parse(path string, data []byte) (*clientcmdapi.Config, error) {
	doc, err := codec.Decode(data)
	if err != nil {
		return nil, parseError(path, err)
	}
	return parsed(path, doc)
}

func parseError(path string, err error) error {
	return fmt.Errorf("could not parse kubeconfig %s: %w", path, err)
}

// parsed is Parse after the decoding.
func parsed(path string, doc *codec.Config) (*clientcmdapi.Config, error) {
	cfg, err := codec.ToAPI(doc)
	if err != nil {
		return nil, parseError(path, err)
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
// directory, fsynced and renamed over path, the directory fsynced after
// (fsafe.WriteFile), so a reader sees the old or the new content and never
// a mix. On any failure the temporary file is removed and path is
// untouched.
func WriteAtomic(path string, data []byte, mode fs.FileMode) error {
	if err := mkdirFor(path); err != nil {
		return err
	}
	return fsafe.WriteFile(path, data, mode)
}

// stageFile writes data to a new temporary file beside path (named
// .<base>.tmp-*), with mode, and syncs it; it returns the file's name.
func stageFile(path string, data []byte, mode fs.FileMode) (name string, err error) {
	return stageWith(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// stageWith is stageFile with the content written by write (fsafe.Stage:
// the mode is set before the first byte, the file synced).
func stageWith(path string, mode fs.FileMode, write func(io.Writer) error) (name string, err error) {
	if err := mkdirFor(path); err != nil {
		return "", err
	}
	return fsafe.Stage(path, mode, func(w io.Writer) error {
		if err := write(w); err != nil {
			return fmt.Errorf("could not write %s: %w", path, err)
		}
		return nil
	})
}

func mkdirFor(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("could not create directory %s: %w", dir, err)
	}
	return nil
}

// commitFile renames the staged file tmp over path, running beforeRename
// first; on any failure tmp is removed and path is untouched. It runs under
// the lock, so it does not sync the directory: Edit does that after the
// unlock (see there).
func commitFile(tmp, path string, beforeRename func() error) error {
	if beforeRename != nil {
		if err := beforeRename(); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	return fsafe.Rename(tmp, path)
}

// tempPrefixes are how the names of Edit's temporary files beside path
// start: the staged content, the .bak link, and the .bak copy where links
// fail.
func tempPrefixes(path string) []string {
	base := filepath.Base(path)
	return []string{"." + base + ".tmp-", base + ".bak.tmp-", "." + base + ".bak.tmp-"}
}

// staleTemp is how old a temporary file must be before a later write takes
// it for the leftover of a killed run: a live writer renames its own within
// a second.
const staleTemp = time.Minute

// removeOldTemps removes the temporary files that killed runs left beside
// path: only names of Edit's own patterns, only regular files of this user,
// only older than staleTemp. Failures are ignored: this is tidying.
func removeOldTemps(path string) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefixes := tempPrefixes(path)
	for _, de := range entries {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(de.Name(), p) }) {
			continue
		}
		n := filepath.Join(dir, de.Name())
		fi, err := os.Lstat(n)
		if err == nil && fi.Mode().IsRegular() && proc.OwnedByMe(fi) && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(n)
		}
	}
}
