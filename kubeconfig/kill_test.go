package kubeconfig

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKillLoop kills a merge into a 2,000-context kubeconfig at random
// moments (SIGKILL: nothing can be cleaned up) and checks what it leaves:
// the file is always the old or the new content, a lock is left only by a
// kill inside the few milliseconds it is held (at most 5% of kills), and
// the next write takes such a lock over. KUBEIAM_KILL_TRIALS sets the count.
func TestKillLoop(t *testing.T) {
	if testing.Short() || raceEnabled || runtime.GOOS == "windows" {
		t.Skip("timing test: run without -short and -race, on a POSIX system")
	}
	trials := 120
	if n, err := strconv.Atoi(os.Getenv("KUBEIAM_KILL_TRIALS")); err == nil {
		trials = n
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "config")
	pristine := bigConfig(t, 2000)
	reset := func() {
		t.Helper()
		if err := os.WriteFile(file, pristine, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Remove(file + ".bak")
	}

	// The merge left alone: what the new content is, and how long Edit
	// takes once the process is up (the helper says "start" just before).
	var want []byte
	var full time.Duration
	for range 3 {
		reset()
		out, err := helper("merge", file).CombinedOutput()
		f := strings.Fields(string(out))
		if err != nil || len(f) != 3 {
			t.Fatalf("merge: %v\n%s", err, out)
		}
		edit, err := time.ParseDuration(f[1])
		if err != nil {
			t.Fatal(err)
		}
		full = max(full, edit)
		want = readBytes(t, file)
	}
	if bytes.Equal(want, pristine) {
		t.Fatal("the merge changed nothing")
	}

	rng := rand.New(rand.NewPCG(13, uint64(time.Now().UnixNano())))
	var kills, finished, locks, broken, temps int
	var notes []string
	for range trials {
		reset()
		cmd := helper("merge", file)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(out).ReadString('\n'); line != "start\n" {
			t.Fatalf("helper: %q %v", line, err)
		}
		// A random point within Edit's measured time is the behaviour
		// under test (a kill at any moment), not a wait for something.
		time.Sleep(time.Duration(rng.Int64N(int64(full))))
		cmd.Process.Kill()
		if err := cmd.Wait(); err == nil {
			finished++
		} else {
			kills++
		}
		if got := readBytes(t, file); !bytes.Equal(got, pristine) && !bytes.Equal(got, want) {
			broken++
			t.Errorf("after a kill the file is neither the old nor the new content (%d bytes)", len(got))
		}
		// Temporary files are cleaned up a minute later by a later write
		// (TestEditRemovesOldTemporaryFiles); count them and clear them.
		for _, n := range dirNames(t, dir) {
			if strings.Contains(n, ".tmp-") {
				temps++
				os.Remove(filepath.Join(dir, n))
			}
		}
		if _, err := os.Stat(file + ".lock"); err != nil {
			continue
		}
		locks++
		// The next write repairs it.
		_, err = Edit(context.Background(), file, EditOptions{Notify: func(s string) { notes = append(notes, s) }}, addContext("next"))
		var se *StaleLockError
		switch {
		case errors.As(err, &se):
			// Killed between creating the lock and writing its holder
			// (microseconds): an empty lock, reported, not taken over.
			t.Logf("an empty lock was left and reported: %v", err)
			os.Remove(file + ".lock")
		case err != nil:
			t.Fatalf("the write after a kill: %v", err)
		}
		if _, err := os.Stat(file + ".lock"); !os.IsNotExist(err) {
			t.Fatalf("the write after a kill left the lock (%v)", err)
		}
	}
	t.Logf("%d trials on a %d-byte file (Edit alone up to %s): %d killed, %d finished first; %d locks left (%.1f%% of kills), %d taken over by the next write; %d broken files; %d temporary files left",
		trials, len(pristine), full.Round(time.Millisecond), kills, finished, locks, 100*float64(locks)/float64(max(kills, 1)), len(notes), broken, temps)
	if broken > 0 {
		t.Errorf("%d broken files", broken)
	}
	if locks*100 > 5*kills {
		t.Errorf("%d of %d kills left a lock, more than 5%%", locks, kills)
	}
	if !slices.ContainsFunc(notes, func(s string) bool { return strings.HasSuffix(s, "no longer running") }) && len(notes) != 0 {
		t.Errorf("take-over notes: %q", notes)
	}
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
