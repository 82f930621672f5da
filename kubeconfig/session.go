package kubeconfig

import (
	"maps"
	"slices"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/kcnames"
	"github.com/kubeiam/kubeiam/internal/session"
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
func SessionDir() (string, error) { return session.Dir(cache.DefaultDir) }

// SessionContextEnv names the context a session was made for, set by
// `kubeiam shell` and `kubeiam use --export` for prompts; a shell that finds
// it set is nested.
//
// It is the session leaf's ContextEnv, spelled out so that the public API
// names no internal package (TestAPINamesNoInternalPackage);
// TestSessionContextEnvIsTheSessions checks the two agree.
const SessionContextEnv = "KUBEIAM_CONTEXT"

// NewSession checks that context is defined in files (kubectl's precedence
// order; ~/.kube/config when that is the whole list), sweeps the private
// files of dead owners from dir, and writes a new private kubeconfig for
// owner: the process whose life bounds the file's use (the kubeiam that
// waits for its shell, or the shell that evaluated `kubeiam use --export`).
// Once owner has died, the next NewSession or SweepSessions removes it.
func NewSession(dir string, files []string, context string, owner int) (*Session, error) {
	s, err := session.Open(dir, files, context, owner, func(abs []string) error {
		return CheckContext(abs, files, context)
	})
	if err != nil {
		return nil, err
	}
	return &Session{Path: s.Path, Context: s.Context, Files: s.Files}, nil
}

// CheckContext returns a *ContextNotFoundError naming named (the files as
// the user gave them) unless one of files defines context; a file that does
// not parse is an error of its own.
func CheckContext(files, named []string, context string) error {
	l, err := LoadFiles(files)
	if err != nil {
		return err
	}
	m := l.Merged()
	if _, ok := m.Contexts[context]; !ok {
		return &ContextNotFoundError{Name: context, Files: named, Known: slices.Sorted(maps.Keys(m.Contexts))}
	}
	return nil
}

// KubeconfigEnv is the value of KUBECONFIG for the session.
func (s *Session) KubeconfigEnv() string {
	return (&session.Session{Files: s.Files}).KubeconfigEnv()
}

// Added lists what kubectl wrote into the private file besides
// current-context — entries that did not exist in the user's files — as
// "users a, b"-style phrases; they go when the file is removed.
func (s *Session) Added() []string { return SessionAdded(s.Path) }

// SessionAdded is Added for the private file at path.
func SessionAdded(path string) []string {
	cfg, err := LoadFile(path)
	if err != nil || cfg == nil {
		return nil
	}
	return session.AddedPhrases(&kcnames.Entries{
		Clusters: slices.Sorted(maps.Keys(cfg.Clusters)), Contexts: slices.Sorted(maps.Keys(cfg.Contexts)), Users: slices.Sorted(maps.Keys(cfg.AuthInfos)),
	})
}

// Remove deletes the private file and the lock kubectl may have left
// beside it.
func (s *Session) Remove() error {
	return (&session.Session{Path: s.Path}).Remove()
}

// SweepSessions removes the private kubeconfigs in dir whose owner process
// has exited (or whose pid now belongs to a process started later) and
// returns their paths. A shell killed with SIGKILL, or a terminal that ran
// `kubeiam use --export` and was closed, leaves one behind; files of live
// owners are never touched.
func SweepSessions(dir string) []string { return session.Sweep(dir) }
