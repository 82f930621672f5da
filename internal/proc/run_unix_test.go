//go:build unix

package proc

import (
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
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
		code, err := Foreground(exec.Command("sh", "-c", tc.script), nil, func() { ended = true })
		if err != nil || code != tc.want || !ended {
			t.Errorf("%q: code %d, err %v, ended %v; want %d, nil, true", tc.script, code, err, ended, tc.want)
		}
	}
	ended := false
	_, err := Foreground(exec.Command("/nonexistent/command"), nil, func() { ended = true })
	if err == nil || !strings.HasPrefix(err.Error(), "could not run /nonexistent/command: ") || ended {
		t.Errorf("a command that cannot start: err %v, ended %v", err, ended)
	}
}

// A signal that arrives after Catch and before the command starts (while
// kubeiam shell writes its session file) does not end kubeiam: it is held
// and passed on to the command once it has started.
func TestSignalBeforeStartIsPassedOn(t *testing.T) {
	sigs := Catch()
	defer sigs.Stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The command would run for a minute; the held SIGTERM ends it.
	code, err := Foreground(exec.Command("sleep", "60"), sigs, nil)
	if err != nil || code != 128+15 {
		t.Errorf("code %d, err %v; want 143 (the held SIGTERM passed on)", code, err)
	}
}

// When the command never starts (kubeiam shell could not make its
// session), a signal held since Catch is not lost: Stop raises it again.
func TestSignalHeldWithoutACommandIsRaisedAgain(t *testing.T) {
	sigs := Catch()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(10 * time.Second); len(sigs.c) == 0; { // delivery is asynchronous
		if time.Now().After(end) {
			t.Fatal("SIGTERM was not caught")
		}
		runtime.Gosched()
	}
	after := make(chan os.Signal, 1)
	signal.Notify(after, syscall.SIGTERM)
	defer signal.Stop(after)
	sigs.Stop()
	select {
	case <-after:
	case <-time.After(10 * time.Second):
		t.Fatal("the held SIGTERM was dropped")
	}
}
