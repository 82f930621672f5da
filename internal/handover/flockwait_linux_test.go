package handover

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitBlocked returns once n flock requests on path are blocked in the
// kernel, as /proc/locks shows them ("N: -> FLOCK ..." lines on the file's
// inode): the readiness signal that the waiters are really waiting, where a
// sleep would only guess.
func waitBlocked(t *testing.T, path string, n int) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	ino := ":" + strconv.FormatUint(st.Ino, 10)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if blockedOn(t, ino) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d flock waiters blocked on %s after 10s", blockedOn(t, ino), n, path)
		}
		// Polling the readiness condition itself, not a guess at how long
		// it takes.
		time.Sleep(time.Millisecond)
	}
}

func blockedOn(t *testing.T, inoSuffix string) int {
	f, err := os.Open("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		fs := strings.Fields(sc.Text())
		// "1: -> FLOCK  ADVISORY  READ 4321 fe:00:10315508 0 EOF"
		if len(fs) >= 7 && fs[1] == "->" && fs[2] == "FLOCK" && strings.HasSuffix(fs[6], inoSuffix) {
			n++
		}
	}
	return n
}
