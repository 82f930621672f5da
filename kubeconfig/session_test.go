package kubeconfig

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubeiam/kubeiam/internal/session"
)

// NewSession puts its file first and the user's files after it, absolute;
// a second session of the same owner replaces the first in the list and on
// disk; another owner's stays.
func TestNewSessionReplacesSameOwner(t *testing.T) {
	dir, work := filepath.Join(t.TempDir(), "sessions"), t.TempDir()
	t.Chdir(work)
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://c\"}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n- name: b\n  context: {cluster: c, user: u}\n"
	if err := os.WriteFile("config", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s1, err := NewSession(dir, []string{"config"}, "a", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{s1.Path, filepath.Join(work, "config")}; !slices.Equal(s1.Files, want) {
		t.Fatalf("files %q, want %q", s1.Files, want)
	}
	fi, err := os.Stat(s1.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private file: %v %v", fi, err)
	}
	s2, err := NewSession(dir, s1.Files, "b", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{s2.Path, filepath.Join(work, "config")}; !slices.Equal(s2.Files, want) {
		t.Fatalf("files %q, want %q", s2.Files, want)
	}
	if _, err := os.Stat(s1.Path); !os.IsNotExist(err) {
		t.Errorf("replaced file still there: %v", err)
	}
	s3, err := NewSession(dir, s2.Files, "a", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(s3.Files) != 3 || s3.Files[1] != s2.Path {
		t.Errorf("another owner's session must stay in the list: %q", s3.Files)
	}
	l, err := LoadFiles(s3.Files)
	if err != nil || l.Merged().CurrentContext != "a" {
		t.Errorf("merged current-context: %v %v", l.Merged().CurrentContext, err)
	}
	if _, err := NewSession(dir, []string{"config"}, "zz", os.Getpid()); err == nil {
		t.Error("unknown context: want an error")
	}
}

// The private file the front and the core write reads back as exactly the
// context, and nothing else, for names YAML would otherwise take for
// something else.
func TestPrivateConfigParses(t *testing.T) {
	for _, name := range []string{"dev", "prod-eu", "arn:aws:eks:us-west-2:111122223333:cluster/prod", "it's", `a"b`, "yes", "No", "null", "~", "123", "1.5", "0x1F", "-x", "a: b", "#c", "[x]", "{y}", "& *", "ünï", "sp ace", "@at", "a/b@c"} {
		cfg, err := Parse("private", session.PrivateConfig(name))
		if err != nil {
			t.Errorf("%q: %v", name, err)
			continue
		}
		if cfg.CurrentContext != name || len(cfg.Contexts)+len(cfg.Clusters)+len(cfg.AuthInfos) != 0 {
			t.Errorf("%q: read back as %q with %d contexts", name, cfg.CurrentContext, len(cfg.Contexts))
		}
	}
}

// The public name and the one the session leaf (front and core) sets are
// one variable.
func TestSessionContextEnvIsTheSessions(t *testing.T) {
	if SessionContextEnv != session.ContextEnv {
		t.Errorf("kubeconfig says %s, the session package sets %s", SessionContextEnv, session.ContextEnv)
	}
}
