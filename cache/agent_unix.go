//go:build linux || darwin

package cache

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubeiam/kubeiam/internal/agentproto"
)

// agentStore reaches the data key held by `kubeiam agent` (internal/agent)
// over its Unix socket: the session store where the kernel keyring is
// refused (containers) and on macOS.
//
// The front links this, so it uses net and syscall only. Nothing at the
// socket is trusted before it is checked: the directory must be the user's
// own real directory, closed to others, and the socket a socket of the
// user's (lstat, never following links), and on Linux the process answering
// must run as the user (SO_PEERCRED). A dead agent's socket, or a file or
// FIFO in its place, is removed — it is in the user's private directory —
// and the call goes on as if there were no agent; anything of another
// user's is left alone and reported.
type agentStore struct{}

func (agentStore) Read(desc string) ([]byte, error) {
	resp, err := agentCall(agentproto.Request{Verb: agentproto.Get, Desc: desc})
	if errors.Is(err, errAgentDown) {
		// Nothing held; the keyring path then starts an agent (holdSessionKey).
		return nil, fmt.Errorf("%w (%w)", errNoSessionKey, err)
	}
	if err != nil {
		return nil, err
	}
	switch verb, arg, _ := strings.Cut(resp, " "); verb {
	case agentproto.Key:
		k, err := agentproto.DecodeKey(arg)
		if err != nil {
			return []byte{}, nil // junk: stale, replaced from the keyring
		}
		return k, nil
	case agentproto.None:
		return nil, errNoSessionKey
	}
	return nil, fmt.Errorf("kubeiam agent: %s", resp)
}

func (agentStore) Write(desc string, key []byte, idle time.Duration) error {
	resp, err := agentCall(agentproto.Request{Verb: agentproto.Put, Desc: desc, Key: key, Idle: idle})
	if err != nil {
		return err
	}
	if resp != agentproto.OK {
		return fmt.Errorf("kubeiam agent: %s", resp)
	}
	return nil
}

func (agentStore) Drop(desc string) error {
	resp, err := agentCall(agentproto.Request{Verb: agentproto.Drop, Desc: desc})
	if errors.Is(err, errAgentDown) {
		return nil
	}
	if err != nil {
		return err
	}
	if resp != agentproto.OK {
		return fmt.Errorf("kubeiam agent: %s", resp)
	}
	return nil
}

func (agentStore) Status(desc string) (SessionKey, error) {
	sock := agentproto.Socket(desc)
	resp, err := agentCall(agentproto.Request{Verb: agentproto.Status, Desc: desc})
	if errors.Is(err, errAgentDown) {
		return SessionKey{Where: "the kubeiam agent (socket " + sock + ")"}, nil
	}
	if err != nil {
		return SessionKey{}, err
	}
	f := strings.Fields(resp)
	if len(f) < 2 || (f[0] != agentproto.Held && f[0] != agentproto.Empty) {
		return SessionKey{}, fmt.Errorf("kubeiam agent: %s", resp)
	}
	s := SessionKey{Held: f[0] == agentproto.Held, Where: fmt.Sprintf("the kubeiam agent (pid %s, socket %s)", f[1], sock)}
	if s.Held && len(f) == 3 {
		if n, err := strconv.Atoi(f[2]); err == nil {
			s.Remaining = time.Duration(n) * time.Second
		}
	}
	return s, nil
}

// agentCall sends one request and reads the one-line answer, all within
// sessionKeyBudget.
func agentCall(req agentproto.Request) (string, error) {
	sock := agentproto.Socket(req.Desc)
	if err := checkAgentSocket(sock); err != nil {
		return "", err
	}
	deadline := time.Now().Add(sessionKeyBudget)
	d := net.Dialer{Deadline: deadline}
	conn, err := d.Dial("unix", sock)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			// Nobody listens: the agent died. The socket is ours (checked).
			os.Remove(sock)
			return "", errAgentDown
		}
		if errors.Is(err, syscall.ENOENT) {
			return "", errAgentDown
		}
		return "", fmt.Errorf("could not reach the kubeiam agent: %w", err)
	}
	defer conn.Close()
	uc := conn.(*net.UnixConn)
	if err := checkAgentPeer(uc); err != nil {
		return "", err
	}
	conn.SetDeadline(deadline)
	if _, err := conn.Write([]byte(req.Line())); err != nil {
		return "", fmt.Errorf("kubeiam agent: %w", err)
	}
	line, err := bufio.NewReaderSize(conn, agentproto.MaxLine).ReadString('\n')
	if err != nil {
		// Killed mid-call, or too slow: the caller falls back. A killed
		// agent's socket is removed by the next call's connect.
		return "", fmt.Errorf("kubeiam agent did not answer: %w", err)
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// checkAgentSocket accepts the socket path only in a private directory of
// the user's and only as a socket of the user's. Something of the user's
// that is not a socket is removed (errAgentRepaired).
func checkAgentSocket(sock string) error {
	dir := filepath.Dir(sock)
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return errAgentDown
	}
	if err != nil {
		return errAgentUnsafe{err.Error()}
	}
	if err := ownPrivate(dir, fi, fs.ModeDir); err != nil {
		return err
	}
	fi, err = os.Lstat(sock)
	if errors.Is(err, fs.ErrNotExist) {
		return errAgentDown
	}
	if err != nil {
		return errAgentUnsafe{err.Error()}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
		return errAgentUnsafe{sock + " belongs to another user"}
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm()&0o077 != 0 {
		if err := os.Remove(sock); err != nil {
			return errAgentUnsafe{err.Error()}
		}
		return errAgentRepaired{describeFile(fi)}
	}
	return nil
}

// ownPrivate checks that fi (from lstat) is of type typ, the user's, and
// closed to others.
func ownPrivate(path string, fi fs.FileInfo, typ fs.FileMode) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode().Type() != typ:
		return errAgentUnsafe{path + " is " + describeFile(fi)}
	case !ok:
		return errAgentUnsafe{"cannot tell who owns " + path}
	case int(st.Uid) != os.Getuid():
		return errAgentUnsafe{fmt.Sprintf("%s belongs to another user (uid %d)", path, st.Uid)}
	case fi.Mode().Perm()&0o077 != 0:
		return errAgentUnsafe{fmt.Sprintf("%s is open to other users (mode %o)", path, fi.Mode().Perm())}
	}
	return nil
}

func describeFile(fi fs.FileInfo) string {
	switch t := fi.Mode().Type(); {
	case t == 0:
		return "a regular file"
	case t&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeSocket != 0:
		return "a socket open to other users"
	}
	return "not a socket"
}

// startAgent runs cmd (`kubeiam-core agent`) detached — its own session,
// stdio on /dev/null, not waited for — and hands it the key through a pipe
// on its fd 3: never argv, the environment or a file. With cmd.Wait it
// waits that long for the agent to answer, so the next process finds it.
func startAgent(ac *AgentCommand, desc string, key []byte, idle time.Duration) error {
	sock := agentproto.Socket(desc)
	dir := filepath.Dir(sock)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("could not create %s: %w", dir, err)
	}
	path, args := ac.Path, append([]string(nil), ac.Args...)
	if path == "" && ac.Lookup != nil {
		p, err := ac.Lookup()
		if err != nil {
			return fmt.Errorf("could not start the kubeiam agent: %w", err)
		}
		path = p
	}
	if len(args) > 0 && args[0] == "" {
		args[0] = path
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	line := []byte(agentproto.Request{Verb: agentproto.Put, Desc: desc, Key: key, Idle: idle}.Line())
	_, err = w.Write(line) // far below the pipe's buffer: never blocks
	clear(line)
	w.Close()
	if err != nil {
		r.Close()
		return err
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        append(args, "--handoff", sock),
		Env:         agentEnv(),
		ExtraFiles:  []*os.File{r},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	r.Close()
	if err != nil {
		return fmt.Errorf("could not start the kubeiam agent: %w", err)
	}
	_ = cmd.Process.Release()
	for end := time.Now().Add(ac.Wait); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if st, err := (agentStore{}).Status(desc); err == nil && st.Held {
			return nil
		}
	}
	return nil
}

// agentEnv is the little of the environment the agent needs: it outlives
// the call, and the call's environment may carry AWS credentials.
func agentEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "XDG_RUNTIME_DIR", "GOCOVERDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
