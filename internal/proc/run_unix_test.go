//go:build unix

package proc

import (
	"os/exec"
	"strings"
	"testing"
)

// Foreground passes on the command's exit code, reports death by signal N
// as 128+N (as shells do), runs ended after the command and before it
// returns, and says when the command could not start.
func TestForeground(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 128 + 15},
	} {
		ended := false
		code, err := Foreground(exec.Command("sh", "-c", tc.script), func() { ended = true })
		if err != nil || code != tc.want || !ended {
			t.Errorf("%q: code %d, err %v, ended %v; want %d, nil, true", tc.script, code, err, ended, tc.want)
		}
	}
	ended := false
	_, err := Foreground(exec.Command("/nonexistent/command"), func() { ended = true })
	if err == nil || !strings.HasPrefix(err.Error(), "could not run /nonexistent/command: ") || ended {
		t.Errorf("a command that cannot start: err %v, ended %v", err, ended)
	}
}
