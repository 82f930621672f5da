package kubeconfig

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// A file is swept only when its owner is gone: a dead pid, or a live pid
// whose start time says it is another process now (pid reuse). Names that
// are not a session's are never touched.
func TestSweepSessions(t *testing.T) {
	dir := t.TempDir()
	me := os.Getpid()
	_, start := processState(me)
	if start == "" {
		start = "0"
	}
	files := map[string]bool{ // name → kept
		strconv.Itoa(me) + "-" + start + "-aa.kubeconfig": true,
		strconv.Itoa(me) + "-0-bb.kubeconfig":             true, // no start recorded: pid alone
		"4194305-0-cc.kubeconfig":                         false,
		"other.kubeconfig":                                true,
		"1-x-dd.kubeconfig":                               true,
	}
	if start != "0" {
		files[strconv.Itoa(me)+"-1-ee.kubeconfig"] = false // reused pid
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed := SweepSessions(dir)
	for name, kept := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if exists := err == nil; exists != kept {
			t.Errorf("%s: exists=%v, want %v", name, exists, kept)
		}
		if slices.Contains(removed, filepath.Join(dir, name)) == kept {
			t.Errorf("%s: reported removed=%v", name, !kept)
		}
	}
}

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
