// Package session keeps the per-terminal sessions of `kubeiam shell` and
// `kubeiam use --export`: a private kubeconfig holding only current-context,
// put first in a KUBECONFIG list before the user's own files, its name (the
// owner's pid and start time), the sweep of dead owners' files and running
// the command. It parses no kubeconfig YAML (the kubeconfig package checks
// the context; the front uses kcnames), so the front can link it: a leaf,
// the standard library and the other leaf helpers only.
package session

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/internal/proc"
)

// A Session is a context for one terminal: a private kubeconfig that holds
// only current-context, put first in a KUBECONFIG list before the user's own
// files (see kubeconfig.Session for why that layering works).
type Session struct {
	// Path is the private kubeconfig (mode 0600, in a 0700 directory).
	Path string
	// Context is the current context it was made for.
	Context string
	// Files is the KUBECONFIG list the session uses: Path, then the user's
	// files as absolute paths (a shell may change directory).
	Files []string
	data  []byte // what Path held when written
}

// ContextEnv names the context a session was made for, set by `kubeiam
// shell` and `kubeiam use --export` for prompts; a shell that finds it set
// is nested.
const ContextEnv = "KUBEIAM_CONTEXT"

// suffix ends every private kubeconfig's name; the sweep touches nothing
// else.
const suffix = ".kubeconfig"

// Dir is where private kubeconfigs live: $XDG_RUNTIME_DIR/kubeiam (a
// per-login tmpfs, emptied at logout), else the shell directory of the
// token cache, which cacheDir names (cache.DefaultDir; passed in so that
// this package stays a leaf).
func Dir(cacheDir func() (string, error)) (string, error) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "kubeiam"), nil
	}
	d, err := cacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "shell"), nil
}

// Open checks the context name, makes the user's files absolute (dropping
// an earlier private file of the same owner: a second `use --export` in one
// shell replaces it), lets check decide that context is defined in them,
// sweeps the private files of dead owners from dir, and writes a new
// private kubeconfig for owner: the process whose life bounds the file's
// use (the kubeiam that waits for its shell, or the shell that evaluated
// `kubeiam use --export`). Once owner has died, the next Open or Sweep
// removes it. Nothing is written before check has passed.
func Open(dir string, files []string, context string, owner int, check func(files []string) error) (*Session, error) {
	if err := input.Text("context", context); err != nil {
		return nil, err
	}
	var abs, replaced []string
	for _, f := range files {
		a, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("could not resolve %s: %w", f, err)
		}
		if pid, _, ok := parseName(filepath.Base(a)); ok && pid == owner && filepath.Dir(a) == filepath.Clean(dir) {
			replaced = append(replaced, a)
			continue
		}
		abs = append(abs, a)
	}
	if err := check(abs); err != nil {
		return nil, err
	}
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	Sweep(dir)
	data := PrivateConfig(context)
	path, err := create(dir, owner, data)
	if err != nil {
		return nil, err
	}
	for _, r := range replaced {
		remove(r)
	}
	return &Session{Path: path, Context: context, Files: append([]string{path}, abs...), data: data}, nil
}

// PrivateConfig is the private kubeconfig of a session for context: only
// current-context, so every entry comes from the user's files.
func PrivateConfig(context string) []byte {
	return []byte("apiVersion: v1\nkind: Config\ncurrent-context: " + yamlString(context) + "\n")
}

// yamlString writes s plain when YAML cannot read it as anything but that
// string, else double-quoted (Go's escapes are a subset of YAML's).
func yamlString(s string) string {
	switch strings.ToLower(s) {
	case "", "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~":
		return strconv.Quote(s)
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || strings.ContainsRune("._/@-", r))) {
			return strconv.Quote(s)
		}
	}
	return s
}

// KubeconfigEnv is the value of KUBECONFIG for the session.
func (s *Session) KubeconfigEnv() string {
	return strings.Join(s.Files, string(filepath.ListSeparator))
}

// Changed reports whether something (kubectl, in the session) wrote the
// private file since Open.
func (s *Session) Changed() bool {
	b, err := os.ReadFile(s.Path)
	return err != nil || !bytes.Equal(b, s.data)
}

// Remove deletes the private file and the lock kubectl may have left
// beside it.
func (s *Session) Remove() error {
	return remove(s.Path)
}

func remove(path string) error {
	os.Remove(path + ".lock")
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("could not remove %s: %w", path, err)
	}
	return nil
}

// create creates <pid>-<start>-<random>.kubeconfig exclusively with mode
// 0600. The owner's start time (Linux; "0" elsewhere) tells a reused pid
// from the owner.
func create(dir string, owner int, data []byte) (string, error) {
	_, start := proc.State(owner)
	if start == "" {
		start = "0"
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%d-%s-%s%s", owner, start, hex.EncodeToString(rnd[:]), suffix))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("could not create private kubeconfig: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("could not write private kubeconfig: %w", err)
	}
	return path, nil
}

// Sweep removes the private kubeconfigs in dir whose owner process has
// exited (or whose pid now belongs to a process started later) and returns
// their paths. A shell killed with SIGKILL, or a terminal that ran `kubeiam
// use --export` and was closed, leaves one behind; files of live owners are
// never touched.
func Sweep(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		pid, start, ok := parseName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if alive, now := proc.State(pid); alive && (start == "0" || now == "" || now == start) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if remove(path) == nil {
			removed = append(removed, path)
		}
	}
	sort.Strings(removed)
	return removed
}

// parseName reads <pid>-<start>-<hex>.kubeconfig.
func parseName(name string) (pid int, start string, ok bool) {
	rest, found := strings.CutSuffix(name, suffix)
	if !found {
		return 0, "", false
	}
	f := strings.Split(rest, "-")
	if len(f) != 3 {
		return 0, "", false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return 0, "", false
	}
	if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
		return 0, "", false
	}
	if _, err := hex.DecodeString(f[2]); err != nil {
		return 0, "", false
	}
	return pid, f[1], true
}

// privateDir creates dir 0700 (and its parents) or checks an existing one:
// a real directory, not a link, of this user's and closed to others, since
// the files in it decide which cluster kubectl talks to.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("could not create %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("could not check %s: %w", dir, err)
	}
	switch {
	case !fi.IsDir():
		return fmt.Errorf("could not use %s: not a directory (a symbolic link is not followed)", dir)
	case !proc.OwnedByMe(fi):
		return fmt.Errorf("could not use %s: it is owned by another user", dir)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("could not use %s: mode %s lets others in; chmod 700 it", dir, fi.Mode().Perm())
	}
	return nil
}

// Files returns the kubeconfig files in kubectl's precedence order: the
// explicit path alone when set, else the entries of the KUBECONFIG list
// (empty entries skipped), else ~/.kube/config.
func Files(explicit, kubeconfigEnv, home string) []string {
	if explicit != "" {
		return []string{explicit}
	}
	var files []string
	seen := map[string]bool{}
	for _, f := range filepath.SplitList(kubeconfigEnv) {
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		files = append(files, f)
	}
	if len(files) > 0 {
		return files
	}
	return []string{filepath.Join(home, ".kube", "config")}
}
