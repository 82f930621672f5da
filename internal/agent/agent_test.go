//go:build linux || darwin

package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/agentproto"
)

const desc = "kubeiam:datakey:0123456789abcdef"

var key = bytes.Repeat([]byte{0x5a}, 32)

// TestMain doubles as a client run under another uid (AGENT_TEST_DIAL).
func TestMain(m *testing.M) {
	if sock := os.Getenv("AGENT_TEST_DIAL"); sock != "" {
		line, err := ask(sock, agentproto.Request{Verb: agentproto.Get, Desc: desc})
		fmt.Printf("%q %v\n", line, err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func ask(sock string, r agentproto.Request) (string, error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, r.Line()); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// start runs an agent handed key for idle, as the cache starts one, and
// waits until it answers.
func start(t *testing.T, idle time.Duration) (string, chan error) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "kubeiam", "agent-0123456789abcdef.sock")
	done := make(chan error, 1)
	put := agentproto.Request{Verb: agentproto.Put, Desc: desc, Key: key, Idle: idle}.Line()
	go func() { done <- Run(sock, strings.NewReader(put)) }()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := ask(sock, agentproto.Request{Verb: agentproto.Status, Desc: desc}); err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the agent never answered")
		}
	}
	t.Cleanup(func() { ask(sock, agentproto.Request{Verb: agentproto.Drop, Desc: desc}) })
	return sock, done
}

func exited(t *testing.T, done chan error, within time.Duration) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(within):
		t.Fatalf("the agent did not exit within %s", within)
	}
}

func TestAgentServesOneKeyAndExitsOnDrop(t *testing.T) {
	sock, done := start(t, time.Hour)
	for path, want := range map[string]os.FileMode{filepath.Dir(sock): os.ModeDir | 0o700, sock: os.ModeSocket | 0o600} {
		if fi, err := os.Lstat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v, %v; want %v", path, fi.Mode(), err, want)
		}
	}
	if got, err := ask(sock, agentproto.Request{Verb: agentproto.Get, Desc: desc}); err != nil || got != "KEY "+agentproto.EncodeKey(key) {
		t.Errorf("GET: %q, %v", got, err)
	}
	if got, _ := ask(sock, agentproto.Request{Verb: agentproto.Status, Desc: desc}); !strings.HasPrefix(got, fmt.Sprintf("HELD %d 3", os.Getpid())) {
		t.Errorf("STATUS: %q", got)
	}
	other := agentproto.Request{Verb: agentproto.Get, Desc: "kubeiam:datakey:ffffffffffffffff"}
	if got, _ := ask(sock, other); !strings.HasPrefix(got, "ERR") {
		t.Errorf("GET of another key: %q", got)
	}
	if got, _ := ask(sock, agentproto.Request{Verb: "kubeiam-agent/2"}); !strings.HasPrefix(got, "ERR") {
		t.Errorf("a malformed request: %q", got)
	}
	if err := Run(sock, nil); !errors.Is(err, ErrRunning) {
		t.Errorf("a second agent on the socket: %v, want ErrRunning", err)
	}
	if got, err := ask(sock, agentproto.Request{Verb: agentproto.Drop, Desc: desc}); got != "OK" {
		t.Errorf("DROP: %q, %v", got, err)
	}
	exited(t, done, time.Second)
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after exit: %v", err)
	}
}

func TestAgentExitsWhenIdle(t *testing.T) {
	sock, done := start(t, time.Second)
	exited(t, done, 3*time.Second)
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after exit: %v", err)
	}
}

func TestAgentRefusesForeignDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kubeiam")
	os.Mkdir(dir, 0o755)
	os.Chmod(dir, 0o755)
	if err := Run(filepath.Join(dir, "agent-x.sock"), nil); err == nil || !strings.Contains(err.Error(), "open to other users") {
		t.Errorf("Run in a 0755 directory: %v", err)
	}
}

// TestAgentAnswersOnlyItsUser opens the socket to everyone and connects as
// another uid: the peer check alone must refuse it. Needs root.
func TestAgentAnswersOnlyItsUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	sock, _ := start(t, time.Hour)
	for d := filepath.Dir(sock); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o711)
	}
	os.Chmod(sock, 0o666)
	// The test binary where uid 65534 can run it.
	pub, err := os.MkdirTemp("", "agent-test-bin")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(pub)
	os.Chmod(pub, 0o755)
	self, _ := os.ReadFile(os.Args[0])
	bin := filepath.Join(pub, "agent.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"AGENT_TEST_DIAL=" + sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client as uid 65534: %v\n%s", err, out)
	}
	// It connected (the modes let it) and got nothing: the agent hung up
	// before or after its request.
	if !strings.HasPrefix(string(out), `"" `) || strings.Contains(string(out), "connect:") {
		t.Errorf("uid 65534: %s", out)
	}
	if got, _ := ask(sock, agentproto.Request{Verb: agentproto.Get, Desc: desc}); !strings.HasPrefix(got, "KEY ") {
		t.Errorf("its own user was not: %q", got)
	}
}
