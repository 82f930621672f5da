package kubeconfig

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/internal/testwait"
)

// TestLockHelper is not a test: it is the other process of the tests below,
// started from the test binary with KUBEIAM_LOCK_HELPER set.
func TestLockHelper(t *testing.T) {
	mode, file := os.Getenv("KUBEIAM_LOCK_HELPER"), os.Getenv("KUBEIAM_LOCK_FILE")
	if mode == "" {
		t.Skip("helper process for the lock tests")
	}
	ctx := context.Background()
	switch mode {
	case "hold": // as root.Main runs a command: lock, say so, hold for a moment (a slow write), unlock
		ctx, exit := asRoot()
		unlock, err := Lock(ctx, file, LockOptions{})
		if err != nil {
			fmt.Println(err)
			os.Exit(3)
		}
		fmt.Println("locked")
		// Holding the lock a while is the behaviour under test (a writer
		// busy under the lock), not a wait for something.
		time.Sleep(300 * time.Millisecond)
		if err := unlock(); err != nil {
			fmt.Println(err)
			os.Exit(3)
		}
		fmt.Println("unlocked")
		exit()
	case "await", "await-bare": // wait for the lock, as root.Main runs a command or with no handler at all
		if mode == "await" {
			var exit func()
			ctx, exit = asRoot()
			defer exit()
		}
		_, err := Lock(ctx, file, LockOptions{Timeout: time.Minute})
		fmt.Println(err)
		return
	case "hang": // lock and never let go
		if _, err := Lock(ctx, file, LockOptions{}); err != nil {
			fmt.Println(err)
			os.Exit(3)
		}
		fmt.Println("locked")
		select {}
	case "merge": // one merge, as `kubeconfig write --merge` makes it
		fmt.Println("start")
		start := time.Now()
		res, err := Edit(ctx, file, EditOptions{}, addContext("kill-loop"))
		if err != nil {
			fmt.Println(err)
			os.Exit(3)
		}
		fmt.Println(time.Since(start), res.LockHeld)
	}
	os.Exit(0)
}

// uncontendedLock is the median time of a Lock and unlock of a kubeconfig
// no one else holds, on this machine now: the baseline the "at once"
// limits scale with.
func uncontendedLock(t *testing.T) time.Duration {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config")
	return testwait.Baseline(5, func() {
		unlock, err := Lock(context.Background(), file, LockOptions{})
		if err != nil {
			t.Fatal(err)
		}
		unlock()
	})
}

// atOnce is how long a Lock that must not wait may take: 20 × an
// uncontended one, at least 500 ms (scheduling noise), and under
// YoungLock/2, the shortest wait it rules out.
func atOnce(t *testing.T) time.Duration {
	return testwait.Limit(uncontendedLock(t), 20, 500*time.Millisecond, YoungLock/2)
}

// asRoot gives a helper process the signal handling kubeiam's root.Main
// gives every command, the process's only handler: SIGINT, SIGTERM or
// SIGHUP cancels the context, and exit, called once the command returned,
// ends the process with the shell's code for the signal.
func asRoot() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	var got atomic.Value
	go func() {
		s := <-sigs
		got.Store(s)
		cancel()
	}()
	return ctx, func() {
		if s, ok := got.Load().(syscall.Signal); ok {
			os.Exit(128 + int(s))
		}
		os.Exit(0)
	}
}

func helper(mode, file string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelper$")
	cmd.Env = append(os.Environ(), "KUBEIAM_LOCK_HELPER="+mode, "KUBEIAM_LOCK_FILE="+file)
	return cmd
}

// startLocked starts a helper and waits until it holds the lock.
func startLocked(t *testing.T, mode, file string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := helper(mode, file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	if line, err := r.ReadString('\n'); line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q %v", line, err)
	}
	return cmd, r
}

// Ctrl-C, SIGTERM or a closed terminal while a write holds the lock: the
// command's context ends (root.Main's handler), the write runs on to the
// unlock, and the process then exits with the signal's code. No lock file
// is left to block kubectl.
func TestSignalWhileLockedLeavesNoLock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX signals")
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "config")
			cmd, out := startLocked(t, "hold", file)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(out)
			err := cmd.Wait()
			if _, err := os.Stat(file + ".lock"); !os.IsNotExist(err) {
				t.Errorf("lock left behind (%v)", err)
			}
			if string(rest) != "unlocked\n" {
				t.Errorf("helper said %q after the signal, want the unlock", rest)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
				t.Errorf("helper ended with %v, want exit %d", err, 128+int(sig))
			}
		})
	}
}

// Ctrl-C while a write waits for the lock ends the wait at once through the
// context (not after the minute's timeout), and the other holder's lock is
// left as it was. Lock itself installs no signal handler: without root's,
// the signal ends the process as it would any program.
func TestSignalWhileWaitingEndsTheWait(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs inotify to see the waiter wait")
	}
	for _, mode := range []string{"await", "await-bare"} {
		t.Run(mode, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "config")
			holder, _ := startLocked(t, "hang", file)
			defer func() { holder.Process.Kill(); holder.Wait() }()
			held, err := os.ReadFile(file + ".lock")
			if err != nil {
				t.Fatal(err)
			}
			looked, _ := testwait.WatchOpen(t, file+".lock") // Linux only, as the skip above says
			cmd := helper(mode, file)
			var out strings.Builder
			cmd.Stdout = &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			looked() // it found the lock held and waits
			start := time.Now()
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("the wait went on for %s after Ctrl-C", d)
			}
			var ee *exec.ExitError
			switch {
			case !errors.As(err, &ee):
				t.Errorf("helper: %v (output %q), want it ended by Ctrl-C", err, out.String())
			case mode == "await" && (ee.ExitCode() != 130 || !strings.Contains(out.String(), "context canceled")):
				t.Errorf("helper: %v, output %q; want exit 130 after the wait ended with the context", err, out.String())
			case mode == "await-bare" && !ee.Sys().(syscall.WaitStatus).Signaled():
				t.Errorf("helper without a handler: %v, output %q; want it ended by the signal", err, out.String())
			}
			if now, err := os.ReadFile(file + ".lock"); err != nil || string(now) != string(held) {
				t.Errorf("the holder's lock changed: %q, %v (was %q)", now, err, held)
			}
		})
	}
}

// deadPid is the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func plantLock(t *testing.T, file string, h holder) {
	t.Helper()
	if err := os.WriteFile(file+".lock", h.line(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLockTakesOverADeadHoldersLockAtOnce(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	file := filepath.Join(t.TempDir(), "config")
	cmd, _ := startLocked(t, "hang", file)
	cmd.Process.Kill()
	cmd.Wait()
	content, err := os.ReadFile(file + ".lock")
	if err != nil {
		t.Fatalf("the killed holder left no lock: %v", err)
	}
	if h, ok := parseHolder(content); !ok || h.pid != cmd.Process.Pid || h.host != self().host {
		t.Fatalf("lock content %q does not name the holder %d", content, cmd.Process.Pid)
	}

	var notes []string
	limit := atOnce(t)
	start := time.Now()
	unlock, err := Lock(context.Background(), file, LockOptions{Notify: func(s string) { notes = append(notes, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > limit {
		t.Errorf("took %s to take over, want it at once (under %s)", d, limit)
	}
	want := fmt.Sprintf("took over %s.lock: kubeiam pid %d on %s, no longer running", file, cmd.Process.Pid, self().host)
	if !slices.Equal(notes, []string{want}) {
		t.Errorf("notes = %q, want %q", notes, want)
	}
	unlock()
}

func TestLockJudgesHolders(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config")
	me := self()
	quick := LockOptions{Timeout: 200 * time.Millisecond}

	// A running holder on this host is waited for, then named.
	plantLock(t, file, me)
	_, err := Lock(context.Background(), file, quick)
	var le *LockError
	if !errors.As(err, &le) || !le.Live || !strings.Contains(le.Error(), fmt.Sprintf("kubeiam pid %d on %s, still running", me.pid, me.host)) {
		t.Fatalf("live holder: %v", err)
	}

	// The same pid with another start time is a reused pid: gone.
	if runtime.GOOS == "linux" {
		reused := me
		reused.start = "1"
		plantLock(t, file, reused)
		unlock, err := Lock(context.Background(), file, quick)
		if err != nil {
			t.Fatalf("reused pid: %v", err)
		}
		unlock()
	}

	// A holder on another host (or in another pid namespace) cannot be
	// checked: young, it is waited for; older, it is reported at once.
	other := holder{pid: deadPid(t), host: me.host + "-elsewhere", start: "1"}
	plantLock(t, file, other)
	_, err = Lock(context.Background(), file, quick)
	if !errors.As(err, &le) || le.Live || !strings.Contains(err.Error(), "cannot be checked from here") {
		t.Fatalf("young lock from another host: %v", err)
	}
	old := time.Now().Add(-5 * time.Minute)
	os.Chtimes(file+".lock", old, old)
	limit := atOnce(t)
	start := time.Now()
	_, err = Lock(context.Background(), file, LockOptions{})
	var se *StaleLockError
	if !errors.As(err, &se) || time.Since(start) > limit {
		t.Fatalf("old lock from another host: %v after %s, want it reported at once (under %s)", err, time.Since(start), limit)
	}
	if _, err := os.Stat(file + ".lock"); err != nil {
		t.Error("a lock that cannot be checked was removed")
	}
}

// kubectl's lock is empty. A young one is a kubectl writing: waited for,
// and reported once it is too old to be that; an old one is reported at
// once, with its age, instead of after the timeout.
func TestLockReportsAnEmptyLockByAge(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config")
	writeFile(t, file+".lock", "", 0o600)
	old := time.Now().Add(-90 * time.Second)
	os.Chtimes(file+".lock", old, old)
	limit := atOnce(t)
	start := time.Now()
	_, err := Lock(context.Background(), file, LockOptions{})
	if d := time.Since(start); d > limit {
		t.Errorf("reported after %s, want it at once (under %s)", d, limit)
	}
	want := fmt.Sprintf("could not lock config: %s.lock was left 1m30s ago (empty, as kubectl leaves it); writers hold it for milliseconds", file)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}

	// Young: waited for while it could be a live kubectl, then reported.
	os.Chtimes(file+".lock", time.Now(), time.Now())
	start = time.Now()
	_, err = Lock(context.Background(), file, LockOptions{})
	d := time.Since(start)
	// Reported once it is YoungLock old (the lower end is the rule, not a
	// speed), and soon after: the slack scales with this machine's speed
	// and stays short of the full timeout it must not wait out.
	var se *StaleLockError
	slack := testwait.Limit(uncontendedLock(t), 20, time.Second, DefaultLockTimeout-YoungLock)
	if !errors.As(err, &se) || d < YoungLock-200*time.Millisecond || d > YoungLock+slack {
		t.Fatalf("young empty lock: %v after %s, want it after %s and under %s", err, d, YoungLock, YoungLock+slack)
	}
}

// Waiters that all find the same dead holder's lock: exactly one removes
// it, and never do two hold the lock at once.
func TestTakeOverIsExclusive(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config")
	dead := self()
	dead.pid = deadPid(t)
	var inside, most, notes atomic.Int32
	for round := range 10 {
		plantLock(t, file, dead)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				unlock, err := Lock(context.Background(), file, LockOptions{Notify: func(string) { notes.Add(1) }})
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				// Staying inside a moment is the behaviour under test:
				// it widens the window in which a second holder would be
				// counted.
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				unlock()
			}()
		}
		wg.Wait()
		if got := notes.Load(); got != int32(round+1) {
			t.Fatalf("round %d: %d take-overs in all, want one per round", round, got)
		}
	}
	if most.Load() != 1 {
		t.Errorf("%d holders at once", most.Load())
	}
}

func TestUnlock(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config")
	res, err := Unlock(file, false)
	if err != nil || res.Removed {
		t.Fatalf("no lock: %+v %v", res, err)
	}
	plantLock(t, file, self())
	var busy *LockInUseError
	if _, err := Unlock(file, true); !errors.As(err, &busy) || busy.Young {
		t.Fatalf("live holder, even with force: %v", err)
	}
	dead := self()
	dead.pid = deadPid(t)
	plantLock(t, file, dead)
	if res, err := Unlock(file, false); err != nil || !res.Removed || !strings.Contains(res.Holder, "no longer running") {
		t.Fatalf("dead holder: %+v %v", res, err)
	}
	writeFile(t, file+".lock", "", 0o600)
	if _, err := Unlock(file, false); !errors.As(err, &busy) || !busy.Young {
		t.Fatalf("young empty lock: %v", err)
	}
	if res, err := Unlock(file, true); err != nil || !res.Removed {
		t.Fatalf("young empty lock, forced: %+v %v", res, err)
	}
	if _, err := os.Stat(file + ".lock"); !os.IsNotExist(err) {
		t.Error("lock still there")
	}
}

// Everything but the rename happens before the lock: when another writer
// changes the file meanwhile, the edit is made again on its content. That
// holds for a write kubectl makes in place, and for one of the same size
// that puts the old mtime back (cp -p) on a file untouched for long, where
// a stat alone is trusted otherwise.
func TestEditRedoesTheEditWhenTheFileChangedBeforeTheLock(t *testing.T) {
	for _, sameSize := range []bool{false, true} {
		t.Run(fmt.Sprintf("same size %v", sameSize), func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "config")
			writeFile(t, file, existingConfig, 0o600)
			old := time.Now().Add(-time.Hour)
			os.Chtimes(file, old, old)
			// Settled: mtime and ctime older than settleTime.
			defer func(d time.Duration) { settleTime = d }(settleTime)
			settleTime = 20 * time.Millisecond
			// The precondition is time itself: the file's ctime (which
			// Chtimes cannot set back) must be older than settleTime, and a
			// sleep never returns early, so nothing here races.
			time.Sleep(2 * settleTime)
			unlock, err := Lock(context.Background(), file, LockOptions{})
			if err != nil {
				t.Fatal(err)
			}
			runs := 0
			done := make(chan error, 1)
			go func() {
				_, err := Edit(context.Background(), file, EditOptions{}, func(c *clientcmdapi.Config) error {
					runs++
					return addContext("mine")(c)
				})
				done <- err
			}()
			// Edit has prepared its content once its temporary file exists.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				if names := dirNames(t, dir); slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, ".config.tmp-") }) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("Edit never staged its content")
				}
			}
			// Another writer, under the lock, writing in place as kubectl does.
			theirs := strings.Replace(existingConfig, "namespace: team-a", "namespace: team-b", 1)
			if !sameSize {
				theirs += "current-context: theirs\n"
				theirs = strings.Replace(theirs, "current-context: other\n", "", 1)
			}
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(theirs)
			f.Close()
			if sameSize {
				os.Chtimes(file, old, old)
			}
			unlock()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Contexts["mine"] == nil || cfg.Contexts["other"] == nil || cfg.Contexts["other"].Namespace != "team-b" {
				t.Errorf("the other writer's change was lost: %+v", cfg.Contexts["other"])
			}
			if runs != 2 {
				t.Errorf("edit ran %d times, want 2", runs)
			}
			if names := dirNames(t, dir); slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, ".tmp-") }) {
				t.Errorf("temporary file left: %v", names)
			}
		})
	}
}

// A write removes what earlier killed writes left: its own temporary
// files, older than a minute, regular, this user's; nothing else.
func TestEditRemovesOldTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config")
	writeFile(t, file, existingConfig, 0o600)
	old := time.Now().Add(-2 * time.Minute)
	for _, n := range []string{".config.tmp-111", "config.bak.tmp-222", ".config.bak.tmp-333", ".config.tmp-young", ".other.tmp-444", "config.tmp-555"} {
		writeFile(t, filepath.Join(dir, n), "x", 0o600)
		if n != ".config.tmp-young" {
			os.Chtimes(filepath.Join(dir, n), old, old)
		}
	}
	if err := os.Symlink(file, filepath.Join(dir, ".config.tmp-link")); err != nil {
		t.Fatal(err)
	}
	if _, err := Edit(context.Background(), file, EditOptions{}, addContext("c1")); err != nil {
		t.Fatal(err)
	}
	want := []string{".config.tmp-link", ".config.tmp-young", ".other.tmp-444", "config", "config.bak", "config.tmp-555"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("left %v\nwant %v", got, want)
	}
}
