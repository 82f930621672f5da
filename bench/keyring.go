package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// keyringSession is a private D-Bus session bus with gnome-keyring's Secret
// Service on it, unlocked, as a desktop login would have. Only the keyring
// subjects get its address, so no other subject can touch a keyring, and
// the user's own keyring (if any) is never used: the daemon's HOME is a
// scratch directory.
type keyringSession struct {
	Address string
	bus     *exec.Cmd
	daemon  *exec.Cmd
	// atClose runs first when the session closes (the agent subject's
	// agent is dropped there).
	atClose []func()
}

func startKeyring(dir string) (*keyringSession, error) {
	for _, tool := range []string{"dbus-daemon", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed (apt-get install -y gnome-keyring dbus-daemon)", tool)
		}
	}
	home := filepath.Join(dir, "keyring-home")
	runtime := filepath.Join(dir, "keyring-run")
	for _, d := range []string{home, runtime} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	k := &keyringSession{}
	k.bus = exec.Command("dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1")
	k.bus.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_RUNTIME_DIR=" + runtime}
	out, err := k.bus.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := k.bus.Start(); err != nil {
		return nil, fmt.Errorf("could not start dbus-daemon: %w", err)
	}
	addr, err := readLine(out, 5*time.Second)
	if err != nil {
		k.close()
		return nil, fmt.Errorf("dbus-daemon printed no address: %w", err)
	}
	k.Address = addr
	// --foreground keeps the daemon our child, so it is stopped by its PID;
	// --unlock reads the login password from stdin, creating the keyring.
	k.daemon = exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	k.daemon.Env = append(k.bus.Env, "DBUS_SESSION_BUS_ADDRESS="+addr)
	k.daemon.Stdin = strings.NewReader("bench-keyring-password")
	if err := k.daemon.Start(); err != nil {
		k.close()
		return nil, fmt.Errorf("could not start gnome-keyring-daemon: %w", err)
	}
	// Until our daemon owns the Secret Service name, a client's call would
	// make the bus activate another gnome-keyring-daemon (from the system's
	// service files), one that is locked and not ours to stop.
	if err := waitForName(addr, "org.freedesktop.secrets", 10*time.Second); err != nil {
		k.close()
		return nil, err
	}
	return k, nil
}

func waitForName(addr, name string, timeout time.Duration) error {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return fmt.Errorf("could not connect to the session bus: %w", err)
	}
	defer conn.Close()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var owned bool
		if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned); err == nil && owned {
			return nil
		}
	}
	return fmt.Errorf("gnome-keyring-daemon did not take %s on the bus", name)
}

// env is what a keyring subject adds to its environment.
func (k *keyringSession) env() []string {
	return []string{"DBUS_SESSION_BUS_ADDRESS=" + k.Address}
}

func (k *keyringSession) close() {
	for _, f := range k.atClose {
		f()
	}
	for _, c := range []*exec.Cmd{k.daemon, k.bus} {
		if c != nil && c.Process != nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
}

func readLine(r interface{ Read([]byte) (int, error) }, timeout time.Duration) (string, error) {
	ch := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		ch <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ch:
		if line == "" {
			return "", errors.New("empty output")
		}
		return line, nil
	case <-time.After(timeout):
		return "", errors.New("timed out")
	}
}
