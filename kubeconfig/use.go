package kubeconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// PreviousStore remembers, per kubeconfig file, the context that was current
// before the last `kubeiam use`, for `kubeiam use -`. It lives outside the
// kubeconfig so switching never adds kubeiam-specific fields to it.
type PreviousStore struct {
	Path string
}

// DefaultPreviousStore is $XDG_STATE_HOME/kubeiam/previous-context.json
// (~/.local/state when unset).
func DefaultPreviousStore() PreviousStore {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".local", "state")
	}
	return PreviousStore{Path: filepath.Join(dir, "kubeiam", "previous-context.json")}
}

func (s PreviousStore) load() (map[string]string, error) {
	m := map[string]string{}
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("could not read %s: %w", s.Path, err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("could not parse %s: %w", s.Path, err)
	}
	return m, nil
}

// Get returns the previous context for kubeconfig file.
func (s PreviousStore) Get(file string) (string, error) {
	m, err := s.load()
	if err != nil {
		return "", err
	}
	return m[key(file)], nil
}

// Set records the previous context for kubeconfig file. The store holds
// every kubeconfig's entry in one file, so the read, the change and the
// write happen under a mutex on its directory: two terminals switching
// contexts at once must not each write back what it read and drop the
// other's entry.
func (s PreviousStore) Set(file, context string) error {
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("could not create %s: %w", dir, err)
	}
	return withDirMutex(dir, func() error {
		m, err := s.load()
		if err != nil {
			m = map[string]string{}
		}
		m[key(file)] = context
		data, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		return WriteAtomic(s.Path, data, 0o600)
	})
}

func key(file string) string {
	if abs, err := filepath.Abs(file); err == nil {
		return abs
	}
	return file
}
