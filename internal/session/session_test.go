package session

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/kubeiam/kubeiam/internal/proc"
)

// A file is swept only when its owner is gone: a dead pid, or a live pid
// whose start time says it is another process now (pid reuse). Names that
// are not a session's are never touched.
func TestSweepSessions(t *testing.T) {
	dir := t.TempDir()
	me := os.Getpid()
	_, start := proc.State(me)
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
	removed := Sweep(dir)
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
