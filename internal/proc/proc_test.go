package proc

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

func TestState(t *testing.T) {
	if alive, start := State(os.Getpid()); !alive || (runtime.GOOS == "linux" && start == "") {
		t.Errorf("self: alive=%v start=%q", alive, start)
	}
	cmd := exec.Command("sh", "-c", "exit 0")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	if alive, _ := State(cmd.Process.Pid); alive {
		t.Errorf("a reaped child (pid %d) counts as alive", cmd.Process.Pid)
	}
	if Alive(0) || Alive(-1) {
		t.Error("pid <= 0 counts as alive")
	}
}

func TestOwnedByMe(t *testing.T) {
	fi, err := os.Stat(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !OwnedByMe(fi) {
		t.Error("my temp dir is not mine")
	}
	if runtime.GOOS != "windows" && os.Getuid() != 0 {
		if fi, err := os.Stat("/"); err == nil && OwnedByMe(fi) {
			t.Error("/ is mine")
		}
	}
}
