package kubeconfig

import (
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

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/input"
)

// A Session is a context for one terminal: a private kubeconfig that holds
// only current-context, put first in a KUBECONFIG list before the user's own
// files. kubectl takes current-context from the first file that sets it and
// every entry from the first file that defines it, so the terminal sees the
// user's clusters and users with its own current context, and nothing else
// changes. kubectl writes an edit of an existing entry (set-credentials,
// set-context, a refreshed token) to the file that defines it — the user's
// real file — and a new current-context (use-context) to the first file,
// the private one, which is what a per-terminal context should do. Only
// entries that did not exist before land in the private file; Added lists
// them before it is removed.
type Session struct {
	// Path is the private kubeconfig (mode 0600, in a 0700 directory).
	Path string
	// Context is the current context it was made for.
	Context string
	// Files is the KUBECONFIG list the session uses: Path, then the user's
	// files as absolute paths (a shell may change directory).
	Files []string
}

// SessionDir is where private kubeconfigs live: $XDG_RUNTIME_DIR/kubeiam
// (a per-login tmpfs, emptied at logout), else the shell directory of the
// token cache (see cache.DefaultDir).
func SessionDir() (string, error) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "kubeiam"), nil
	}
	d, err := cache.DefaultDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "shell"), nil
}

// SessionContextEnv names the context a session was made for, set by
// `kubeiam shell` and `kubeiam use --export` for prompts; a shell that finds
// it set is nested.
const SessionContextEnv = "KUBEIAM_CONTEXT"

// sessionSuffix ends every private kubeconfig's name; the sweep touches
// nothing else.
const sessionSuffix = ".kubeconfig"

// NewSession checks that context is defined in files (kubectl's precedence
// order; ~/.kube/config when that is the whole list), sweeps the private
// files of dead owners from dir, and writes a new private kubeconfig for
// owner: the process whose life bounds the file's use (the kubeiam that
// waits for its shell, or the shell that evaluated `kubeiam use --export`).
// Once owner has died, the next NewSession or SweepSessions removes it.
func NewSession(dir string, files []string, context string, owner int) (*Session, error) {
	if err := input.Text("context", context); err != nil {
		return nil, err
	}
	// The user's files as absolute paths, without an earlier private file
	// of the same owner (a second `use --export` in one shell), which this
	// session replaces.
	var abs, replaced []string
	for _, f := range files {
		a, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("could not resolve %s: %w", f, err)
		}
		if pid, _, ok := parseSessionName(filepath.Base(a)); ok && pid == owner && filepath.Dir(a) == filepath.Clean(dir) {
			replaced = append(replaced, a)
			continue
		}
		abs = append(abs, a)
	}
	l, err := LoadFiles(abs)
	if err != nil {
		return nil, err
	}
	if _, ok := l.Merged().Contexts[context]; !ok {
		m := l.Merged()
		return nil, &ContextNotFoundError{Name: context, Files: files, Known: sortedKeys(m.Contexts)}
	}
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	SweepSessions(dir)
	cfg := clientcmdapi.NewConfig()
	cfg.CurrentContext = context
	data, err := encode(cfg, layout{}, 0)
	if err != nil {
		return nil, err
	}
	path, err := createSessionFile(dir, owner, data)
	if err != nil {
		return nil, err
	}
	for _, r := range replaced {
		removeSessionFile(r)
	}
	return &Session{Path: path, Context: context, Files: append([]string{path}, abs...)}, nil
}

// KubeconfigEnv is the value of KUBECONFIG for the session.
func (s *Session) KubeconfigEnv() string {
	return strings.Join(s.Files, string(filepath.ListSeparator))
}

// Added lists what kubectl wrote into the private file besides
// current-context — entries that did not exist in the user's files — as
// "users a, b"-style phrases; they go when the file is removed.
func (s *Session) Added() []string {
	cfg, err := LoadFile(s.Path)
	if err != nil || cfg == nil {
		return nil
	}
	var out []string
	for _, kind := range []struct {
		name string
		keys []string
	}{
		{"clusters", sortedKeys(cfg.Clusters)},
		{"contexts", sortedKeys(cfg.Contexts)},
		{"users", sortedKeys(cfg.AuthInfos)},
	} {
		if len(kind.keys) > 0 {
			out = append(out, kind.name+" "+strings.Join(kind.keys, ", "))
		}
	}
	return out
}

// Remove deletes the private file and the lock kubectl may have left
// beside it.
func (s *Session) Remove() error {
	return removeSessionFile(s.Path)
}

func removeSessionFile(path string) error {
	os.Remove(path + ".lock")
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("could not remove %s: %w", path, err)
	}
	return nil
}

// createSessionFile creates <pid>-<start>-<random>.kubeconfig exclusively
// with mode 0600. The owner's start time (Linux; "0" elsewhere) tells a
// reused pid from the owner.
func createSessionFile(dir string, owner int, data []byte) (string, error) {
	_, start := processState(owner)
	if start == "" {
		start = "0"
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%d-%s-%s%s", owner, start, hex.EncodeToString(rnd[:]), sessionSuffix))
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

// SweepSessions removes the private kubeconfigs in dir whose owner process
// has exited (or whose pid now belongs to a process started later) and
// returns their paths. A shell killed with SIGKILL, or a terminal that ran
// `kubeiam use --export` and was closed, leaves one behind; files of live
// owners are never touched.
func SweepSessions(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		pid, start, ok := parseSessionName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if alive, now := processState(pid); alive && (start == "0" || now == "" || now == start) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if removeSessionFile(path) == nil {
			removed = append(removed, path)
		}
	}
	sort.Strings(removed)
	return removed
}

// parseSessionName reads <pid>-<start>-<hex>.kubeconfig.
func parseSessionName(name string) (pid int, start string, ok bool) {
	rest, found := strings.CutSuffix(name, sessionSuffix)
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
	case !ownedByMe(fi):
		return fmt.Errorf("could not use %s: it is owned by another user", dir)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("could not use %s: mode %s lets others in; chmod 700 it", dir, fi.Mode().Perm())
	}
	return nil
}
