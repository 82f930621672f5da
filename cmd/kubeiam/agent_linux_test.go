package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/kubeiam/kubeiam/internal/agentproto"
	"github.com/kubeiam/kubeiam/internal/keyringtest"
	"github.com/kubeiam/kubeiam/internal/ststest"
	"github.com/kubeiam/kubeiam/internal/testwait"
)

// TestTokenAgent runs kubeiam with keyctl refused (a seccomp filter, as a
// container runtime's profile has) against a real gnome-keyring in a private
// session bus: after the first call, cached hits get the data key from the
// kubeiam agent without a Secret Service call and print what the keyring
// path prints; each fault of the agent still gives a valid token within
// 50 ms of the keyring path, with nothing plain on disk, and is repaired.
func TestTokenAgent(t *testing.T) {
	requireKeyringTools(t)
	if err := seccompAvailable(); err != nil {
		t.Skip(err)
	}
	home := t.TempDir()
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c",
		`echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$0" -test.run='^TestTokenAgentInside$' -test.v -test.count=1`,
		os.Args[0])
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home, "XDG_DATA_HOME="+home+"/data", "XDG_RUNTIME_DIR="+home, "KUBEIAM_TEST_AGENT_INSIDE=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestTokenAgentInside")) {
		t.Fatalf("private keyring session: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "agent_linux_test.go:") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

// agentCase is the inside of TestTokenAgent: a cache case using the keyring
// with keyctl refused.
type agentCase struct {
	*cacheCase
	env []string
}

type agentRun struct {
	stdout, stderr string
	took           time.Duration
}

// call runs `kubeiam token -v` and checks it printed a token STS accepts.
func (ac *agentCase) call(t *testing.T, extra ...string) agentRun {
	t.Helper()
	cmd := kubeiamCmd(t, append(slices.Clone(ac.env), extra...), "token", "-i", "c1", "-v")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := agentRun{out.String(), errOut.String(), time.Since(start)}
	if err != nil {
		t.Fatalf("kubeiam token: %v\n%s", err, r.stderr)
	}
	var cred execCredential
	if err := json.Unmarshal(out.Bytes(), &cred); err != nil {
		t.Fatalf("not an ExecCredential: %v\n%s", err, r.stdout)
	}
	if got := whoami(t, ac.rig, cred.Status.Token, "c1"); got.ARN != ac.id.ARN {
		t.Fatalf("token of %s", got.ARN)
	}
	return r
}

func (r agentRun) fromAgent() bool {
	return strings.Contains(r.stderr, "data key held for the session")
}

// socket is the agent's socket: the only one in the private runtime dir.
func agentSocket(t *testing.T) string {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "kubeiam", "agent-*.sock"))
	if len(ms) != 1 {
		t.Fatalf("agent sockets: %q", ms)
	}
	return ms[0]
}

// agentStatus asks the agent at sock for its pid and whether it holds a key.
func agentStatus(sock string) (pid int, held bool, err error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return 0, false, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprint(c, agentproto.Request{Verb: agentproto.Status, Desc: agentDesc(sock)}.Line())
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, false, err
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, false, fmt.Errorf("agent said %q", line)
	}
	pid, err = strconv.Atoi(f[1])
	return pid, f[0] == agentproto.Held, err
}

// agentDesc is the name of the key the agent at sock holds.
func agentDesc(sock string) string {
	return "kubeiam:datakey:" + strings.TrimSuffix(strings.TrimPrefix(filepath.Base(sock), "agent-"), ".sock")
}

// alive tells a running process from a gone or zombie one (a killed agent
// is reaped by whoever adopted it, maybe never in a container).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); alive(pid); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("agent %d still running", pid)
		}
	}
}

// runningAgent returns the pid of the agent holding the key, waiting a
// moment for one the front started without waiting.
func runningAgent(t *testing.T) int {
	t.Helper()
	var err error
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		ms, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "kubeiam", "agent-*.sock"))
		if len(ms) != 1 {
			continue
		}
		var pid int
		var held bool
		if pid, held, err = agentStatus(ms[0]); err == nil && held {
			return pid
		}
	}
	t.Fatalf("no agent holds the key: %v", err)
	return 0
}

// killAgent kills the running agent and waits until it is gone.
func killAgent(t *testing.T) string {
	t.Helper()
	pid := runningAgent(t)
	sock := agentSocket(t)
	syscall.Kill(pid, syscall.SIGKILL)
	waitGone(t, pid)
	return sock
}

// removeSocket kills the agent and removes its socket, as a tidy exit
// would, and returns its path.
func removeSocket(t *testing.T) string {
	t.Helper()
	sock := killAgent(t)
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	return sock
}

// slackOver is how much slower than the keyring path (normal, measured in
// the same test) a call that meets a fault may be: timingSlack, the
// issue's bound, where the keyring path takes about as long as it does on
// a quiet machine (~50 ms); on a loaded one, where every process start
// takes longer, the slack grows with it (as much again as normal).
func slackOver(normal time.Duration) time.Duration {
	return testwait.Limit(normal, 1, timingSlack, 0)
}

// agentBack checks that the agent answers again: the fault was repaired.
// A call that finds no agent starts one without waiting for it, so the
// next calls may still miss it; they are repeated until one is answered
// by the agent, for 10 s at most (a fixed number of calls 50 ms apart
// was a guess at how fast a loaded machine starts a process).
func (ac *agentCase) agentBack(t *testing.T) {
	t.Helper()
	calls := 0
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		calls++
		if ac.call(t).fromAgent() {
			if calls > 1 {
				t.Logf("the agent answered again at call %d", calls)
			}
			return
		}
		time.Sleep(20 * time.Millisecond) // a poll's pause, not a guess: the loop ends on the answer
	}
	t.Fatalf("the agent did not come back in %d calls over 10 s", calls)
}

// pendingConnections counts connections to sock not yet accepted, which
// /proc/net/unix lists under the listener's path.
func pendingConnections(sock string) int {
	b, _ := os.ReadFile("/proc/net/unix")
	return strings.Count(string(b), " "+sock+"\n") - 1
}

func TestTokenAgentInside(t *testing.T) {
	if os.Getenv("KUBEIAM_TEST_AGENT_INSIDE") != "1" {
		t.Skip("runs inside TestTokenAgent's private keyring session")
	}
	rig := ststest.Start(t, ststest.Options{})
	cc := newCacheCase(t, rig)
	ac := &agentCase{cc, append(slices.Clone(cc.env), "KUBEIAM_CACHE=keyring", "KUBEIAM_TEST_DENY_KEYCTL=1",
		"DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"), "XDG_RUNTIME_DIR="+os.Getenv("XDG_RUNTIME_DIR"))}
	t.Cleanup(func() {
		if ms, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "kubeiam", "agent-*.sock")); len(ms) == 1 {
			if pid, _, err := agentStatus(ms[0]); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	offEnv := "KUBEIAM_SESSION_KEY=off"

	// The first call signs (kubeiam-core), reads the keyring and starts the
	// agent, handing it the key: not in argv, not in the environment.
	first := ac.call(t)
	pid := runningAgent(t)
	key, err := keyring.Get("kubeiam", "cache-data-key")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cmdline", "environ"} {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f)); err != nil || bytes.Contains(b, []byte(key)) {
			t.Errorf("agent's %s: %v, or holds the data key", f, err)
		}
	}
	sock := agentSocket(t)
	for path, want := range map[string]os.FileMode{filepath.Dir(sock): os.ModeDir | 0o700, sock: os.ModeSocket | 0o600} {
		if fi, err := os.Lstat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want mode %v", path, fi.Mode(), err, want)
		}
	}

	// Secret Service calls: a keyring-path call as a marker, agent hits, the
	// marker again. Only the markers may have called.
	w := keyringtest.Watch(t)
	var viaDBus, viaAgent []time.Duration
	marker := ac.call(t, offEnv)
	viaDBus = append(viaDBus, marker.took)
	perRead := w.Settle(t, 1)
	if perRead == 0 {
		t.Fatal("the monitor saw no Secret Service call of a keyring read")
	}
	for range 5 {
		r := ac.call(t)
		if !r.fromAgent() || r.stdout != marker.stdout || r.stdout != first.stdout {
			t.Errorf("hit from the agent %v; stdout %q, keyring path's %q", r.fromAgent(), r.stdout, marker.stdout)
		}
		viaAgent = append(viaAgent, r.took)
	}
	viaDBus = append(viaDBus, ac.call(t, offEnv).took)
	if got := w.Settle(t, 2*perRead); got != 2*perRead {
		t.Errorf("%d Secret Service calls; the two keyring reads make %d, so 5 agent hits made %d", got, 2*perRead, got-2*perRead)
	}
	for range 3 {
		viaDBus = append(viaDBus, ac.call(t, offEnv).took)
		viaAgent = append(viaAgent, ac.call(t).took)
	}
	// Logged, not asserted: the saving (one D-Bus round trip, ~7 ms) is
	// lost in this test binary's start-up on a busy machine; the Secret
	// Service count above shows it is made, and `make bench`
	// (cached-keyring-agent) and BenchmarkAgentRead measure it.
	t.Logf("one call, median: keyctl refused, key from the agent %s; from the Secret Service %s", medianOf(viaAgent), medianOf(viaDBus))

	// Faults: each call still prints the same valid token within 50 ms of
	// the keyring path, says at most one warning, and the agent is back
	// within a few calls.
	// A stopped agent accepts connections (the kernel queues them) and
	// never answers.
	var stoppedPID int
	stopped := func(t *testing.T) {
		stoppedPID = runningAgent(t)
		syscall.Kill(stoppedPID, syscall.SIGSTOP)
	}
	killStopped := func(*testing.T) { syscall.Kill(stoppedPID, syscall.SIGKILL) }
	for _, tc := range []struct {
		name  string
		fault func(t *testing.T)
		// during runs while the call is under way; after, once it ended.
		during, after func(t *testing.T)
		warn          string
	}{
		{name: "agent killed between calls", fault: func(t *testing.T) { killAgent(t) }},
		{name: "agent killed while a call waits on it", fault: stopped, during: func(t *testing.T) {
			sock := agentSocket(t)
			for end := time.Now().Add(15 * time.Second); pendingConnections(sock) < 1 && time.Now().Before(end); {
				time.Sleep(200 * time.Microsecond)
			}
			if pendingConnections(sock) < 1 {
				// Seen once in CI under -race and heavy load: the round
				// still checks the call's answer and time, but not that
				// the kill met it mid-call.
				t.Log("the call was not seen connecting within 15 s; the agent is killed anyway")
			}
			killStopped(t)
		}},
		{name: "agent hung", fault: stopped, after: killStopped},
		{name: "socket replaced by a regular file", fault: func(t *testing.T) {
			if err := os.WriteFile(removeSocket(t), []byte("junk"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, warn: "removed a regular file found in the place of the kubeiam agent's socket"},
		{name: "socket replaced by a FIFO", fault: func(t *testing.T) {
			if err := syscall.Mkfifo(removeSocket(t), 0o600); err != nil {
				t.Fatal(err)
			}
		}, warn: "removed a FIFO found in the place of the kubeiam agent's socket"},
		{name: "socket directory of another user", fault: func(t *testing.T) {
			sock := killAgent(t)
			if err := os.Chown(filepath.Dir(sock), 65534, 65534); err != nil {
				t.Skipf("cannot give the directory away: %v", err)
			}
		}, after: func(t *testing.T) {
			dir := filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "kubeiam")
			fi, err := os.Lstat(dir)
			if err != nil || fi.Sys().(*syscall.Stat_t).Uid != 65534 {
				t.Errorf("the foreign directory was changed: %v", err)
			}
			if ms, _ := filepath.Glob(filepath.Join(dir, "agent-*.sock")); len(ms) != 1 {
				t.Errorf("the stale socket in the foreign directory was touched: %q", ms)
			}
			os.Chown(dir, os.Getuid(), os.Getgid())
		}, warn: "belongs to another user (uid 65534)"},
		{name: "agent holding another key", fault: func(t *testing.T) {
			sock := agentSocket(t)
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprint(c, agentproto.Request{Verb: agentproto.Put, Desc: agentDesc(sock), Key: bytes.Repeat([]byte{1}, 32), Idle: time.Hour}.Line())
			if line, _ := bufio.NewReader(c).ReadString('\n'); line != "OK\n" {
				t.Fatalf("PUT: %q", line)
			}
		}, warn: "the data key held for this session did not match the keyring's; replaced it"},
		{name: "keyring locked after the key was cached", fault: func(t *testing.T) {
			out, err := exec.Command("dbus-send", "--session", "--dest=org.freedesktop.secrets", "--print-reply", "/org/freedesktop/secrets",
				"org.freedesktop.Secret.Service.Lock", "array:objpath:/org/freedesktop/secrets/aliases/default").CombinedOutput()
			if err != nil {
				t.Fatalf("lock: %v\n%s", err, out)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Three rounds, the fastest of each compared: single process starts
			// vary too much on a shared machine.
			var took, keyringPath []time.Duration
			for round := range 3 {
				ac.agentBack(t)
				// The keyring path right before, as the machine is now.
				keyringPath = append(keyringPath, ac.call(t, offEnv).took)
				tc.fault(t)
				done := make(chan struct{})
				if tc.during != nil {
					go func() { defer close(done); tc.during(t) }()
				} else {
					close(done)
				}
				r := ac.call(t)
				<-done
				if tc.after != nil {
					tc.after(t)
				}
				if stoppedPID != 0 {
					waitGone(t, stoppedPID)
					stoppedPID = 0
				}
				if r.stdout != first.stdout {
					t.Errorf("stdout %q, want %q", r.stdout, first.stdout)
				}
				// Warnings are said once an hour for each cause.
				want := tc.warn
				if round > 0 {
					want = ""
				}
				if n := strings.Count(r.stderr, "warning"); n > 1 || (want == "") != (n == 0) || !strings.Contains(r.stderr, want) {
					t.Errorf("round %d: stderr %q, want %d warning %q", round+1, r.stderr, min(len(want), 1), want)
				}
				took = append(took, r.took)
				noPlainEntries(t, cc.dir())
			}
			// The fastest of each, compared: a fault that makes the call
			// wait (a timeout) slows every round, while three process
			// starts on a busy machine can each be delayed by anything,
			// which moved the medians of three by more than the slack.
			if normal := slices.Min(keyringPath); slices.Min(took) > normal+slackOver(normal) {
				t.Errorf("took %s (fastest of 3), more than %s over the keyring path's %s", slices.Min(took), slackOver(normal), normal)
			}
			t.Logf("took %v; the keyring path %v", took, keyringPath)
			ac.agentBack(t)
		})
	}

	// doctor names the agent; cache clear --all makes it exit.
	pid = runningAgent(t)
	doctor := kubeiamCmd(t, ac.env, "doctor")
	out, _ := doctor.CombinedOutput()
	if want := fmt.Sprintf("the kubeiam agent (pid %d, socket %s)", pid, agentSocket(t)); !bytes.Contains(out, []byte(want)) {
		t.Errorf("doctor does not say %q:\n%s", want, out)
	}
	if out, err := kubeiamCmd(t, ac.env, "cache", "clear", "--all").CombinedOutput(); err != nil {
		t.Fatalf("cache clear --all: %v\n%s", err, out)
	}
	waitGone(t, pid)
	if ms, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "kubeiam", "agent-*.sock")); len(ms) != 0 {
		t.Errorf("sockets left after the agent exited: %q", ms)
	}
}

func noPlainEntries(t *testing.T, dir string) {
	t.Helper()
	entries, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, e := range entries {
		if b, _ := os.ReadFile(e); bytes.Contains(b, []byte("k8s-aws-v1.")) {
			t.Errorf("%s holds a token in the clear", e)
		}
	}
}

func medianOf(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
