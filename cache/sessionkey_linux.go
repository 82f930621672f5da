package cache

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"syscall"
)

// kernelKeyring holds the data key as a "user" key in the kernel's user
// keyring (@u) through keyctl(2), no cgo.
//
// Why @u: it is shared by every process of the uid (every terminal, tmux,
// ssh and IDE session of one login) and by no other uid, and lives in the
// kernel's memory only (never swapped to a file by kubeiam). The per-login
// session keyring (@s) would be narrower but differs between a desktop's
// terminals and systemd-started processes, so most calls would miss it.
// The key's permissions are possessor-only for reading (0x3f010000: the
// user may see that it exists, only a possessor — a process of the uid
// reaching it through its keyrings — may read it), and it lapses after an
// hour without use (KEYCTL_SET_TIMEOUT, renewed on every read), so a
// session left alone does not keep it. The description names the keyring
// item it copies (sessionKeyDesc).
//
// Only search and read are used on a hit, never request_key: a search never
// calls out to /sbin/request-key, so it cannot block.
type kernelKeyring struct{}

const keyPerm = 0x3f010000 // possessor: all; user: view

func defaultSessionStore() sessionStore { return kernelOrAgent{} }

func (kernelKeyring) find(desc string) (int, error) {
	id, err := searchKey(userKeyring, desc)
	if errors.Is(err, syscall.ENOKEY) || errors.Is(err, syscall.EKEYEXPIRED) || errors.Is(err, syscall.EKEYREVOKED) {
		return 0, errNoSessionKey
	}
	if err != nil {
		return 0, fmt.Errorf("keyctl search: %w", err)
	}
	return id, nil
}

func (k kernelKeyring) Read(desc string) ([]byte, error) {
	id, err := k.find(desc)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 2*dataKeySize)
	n, err := readKey(id, buf)
	if err != nil {
		if errors.Is(err, syscall.EKEYEXPIRED) || errors.Is(err, syscall.EKEYREVOKED) || errors.Is(err, syscall.ENOKEY) {
			return nil, errNoSessionKey
		}
		return nil, fmt.Errorf("keyctl read: %w", err)
	}
	if n > len(buf) {
		n = 0 // longer than any key of ours: junk, reported as stale
	}
	// Renewing the idle period is best effort: a key someone else put
	// there without setattr permission is still read, and found stale.
	_, _ = keyctl(keyctlSetTimeout, uintptr(id), uintptr(SessionKeyIdle/time.Second), 0, 0)
	return buf[:n], nil
}

func (k kernelKeyring) Write(desc string, key []byte, idle time.Duration) error {
	id, err := addKey(desc, key, userKeyring)
	if errors.Is(err, syscall.EACCES) {
		// A key of that name we may not update: unlink it and add ours.
		if old, ferr := k.find(desc); ferr == nil {
			_, _ = keyctl(keyctlUnlink, uintptr(old), uintptr(userKeyring), 0, 0)
		}
		id, err = addKey(desc, key, userKeyring)
	}
	if err != nil {
		return fmt.Errorf("keyctl add_key: %w", err)
	}
	if _, err := keyctl(keyctlSetperm, uintptr(id), keyPerm, 0, 0); err != nil {
		_, _ = keyctl(keyctlInvalidate, uintptr(id), 0, 0, 0)
		return fmt.Errorf("keyctl setperm: %w", err)
	}
	if _, err := keyctl(keyctlSetTimeout, uintptr(id), uintptr(idle/time.Second), 0, 0); err != nil {
		_, _ = keyctl(keyctlInvalidate, uintptr(id), 0, 0, 0)
		return fmt.Errorf("keyctl set_timeout: %w", err)
	}
	return nil
}

func (k kernelKeyring) Drop(desc string) error {
	id, err := k.find(desc)
	if errors.Is(err, errNoSessionKey) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOSYS) {
		// Where keyctl is refused (containers), nothing can be held.
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := keyctl(keyctlInvalidate, uintptr(id), 0, 0, 0); err != nil {
		if _, uerr := keyctl(keyctlUnlink, uintptr(id), uintptr(userKeyring), 0, 0); uerr != nil {
			return fmt.Errorf("keyctl invalidate: %w", err)
		}
	}
	return nil
}

func (k kernelKeyring) Status(desc string) (SessionKey, error) {
	id, err := k.find(desc)
	if errors.Is(err, errNoSessionKey) {
		return SessionKey{Where: "the kernel user keyring"}, nil
	}
	if err != nil {
		return SessionKey{}, err
	}
	s := SessionKey{Held: true, Where: fmt.Sprintf("the kernel user keyring (key %08x)", id)}
	s.Remaining = procKeysTimeout(id)
	return s, nil
}

// procKeysTimeout reads the key's remaining lifetime from /proc/keys, where
// the kernel shows it as e.g. "59m" or "45s"; zero when it cannot tell.
func procKeysTimeout(id int) time.Duration {
	f, err := os.Open("/proc/keys")
	if err != nil {
		return 0
	}
	defer f.Close()
	prefix := fmt.Sprintf("%08x ", id)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), prefix) {
			continue
		}
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 {
			return 0
		}
		return parseKeyTimeout(fs[3])
	}
	return 0
}

// kernelOrAgent is the session store on Linux: the kernel keyring, or the
// kubeiam agent where keyctl is refused (container runtimes' seccomp
// profiles deny it with EPERM; some kernels lack it).
type kernelOrAgent struct {
	kernel kernelKeyring
	agent  agentStore
}

func keyctlRefused(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOSYS)
}

func (s kernelOrAgent) Read(desc string) ([]byte, error) {
	k, err := s.kernel.Read(desc)
	if keyctlRefused(err) {
		return s.agent.Read(desc)
	}
	return k, err
}

func (s kernelOrAgent) Write(desc string, key []byte, idle time.Duration) error {
	err := s.kernel.Write(desc, key, idle)
	if keyctlRefused(err) {
		return s.agent.Write(desc, key, idle)
	}
	return err
}

// Drop drops both: a host process and a container process of one user may
// each have held the key in its own place.
func (s kernelOrAgent) Drop(desc string) error {
	return errors.Join(s.kernel.Drop(desc), s.agent.Drop(desc))
}

func (s kernelOrAgent) Status(desc string) (SessionKey, error) {
	st, err := s.kernel.Status(desc)
	if keyctlRefused(err) {
		return s.agent.Status(desc)
	}
	return st, err
}
