package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

// The session-held data key.
//
// The keyring protects the data key at rest; it need not be asked on every
// kubectl call of a logged-in session, where a Secret Service read is a
// D-Bus connect, session and lookup (~7 ms, several times a process start).
// After one keyring read the key is also kept where the next process gets it
// in microseconds and that is never a file: on Linux the kernel's user
// keyring (see sessionkey_linux.go). It is a copy, never the only one: the
// keyring stays the source of truth, and anything wrong with the copy —
// missing, damaged, stale, refused — sends the process to the keyring as
// before, which then replaces the copy.

// SessionKeyIdle is how long the session-held copy of the data key lives
// without use; each use starts the period again.
const SessionKeyIdle = time.Hour

// sessionKeyBudget bounds the wait for the session-held key: it is a
// syscall, but a process on kubectl's path never waits on anything unbounded.
const sessionKeyBudget = 20 * time.Millisecond

// errNoSessionKey: nothing is held under this description.
var errNoSessionKey = errors.New("no session-held data key")

// ErrSessionKeyUnsupported: this platform has no place for it (the error
// says why).
var ErrSessionKeyUnsupported = errors.New("no session key store on this platform")

// errAgentDown: no kubeiam agent answers (none started, or it died or
// exited).
var errAgentDown = errors.New("no kubeiam agent is running")

// errAgentRepaired: what sat at the agent's socket was not a socket and was
// removed (it was the user's, in the user's private directory).
type errAgentRepaired struct{ what string }

func (e errAgentRepaired) Error() string {
	return "removed " + e.what + " found in the place of the kubeiam agent's socket"
}
func (e errAgentRepaired) Unwrap() error { return errAgentDown }

// errAgentUnsafe: something about the agent's socket is not the user's own;
// it is neither used nor touched.
type errAgentUnsafe struct{ reason string }

func (e errAgentUnsafe) Error() string { return "not using the kubeiam agent: " + e.reason }

// AgentCommand is how to run `kubeiam-core agent`, which holds the data key
// where the kernel keyring is refused and on macOS. The cache starts it,
// detached, after a keyring read finds none running.
type AgentCommand struct {
	Path string // the executable; empty: Lookup finds it when it is needed
	// Lookup finds the executable only when an agent is started (the front
	// looks for kubeiam-core once an hour, not on every call).
	Lookup func() (string, error)
	// Args is the argv from Args[0] (multi-call binaries dispatch on it) to
	// "agent"; an empty Args[0] is the executable's path.
	Args []string
	// Wait is how long to wait for the new agent to answer, so that the
	// next process finds it; zero starts it and goes on.
	Wait time.Duration
}

// sessionStore holds the data key for the login session. It is the seam
// tests use to deny it, damage it or watch it.
type sessionStore interface {
	// Read returns the bytes held under desc (errNoSessionKey if none) and
	// starts the idle period again.
	Read(desc string) ([]byte, error)
	// Write holds key under desc, replacing what was there, for idle.
	Write(desc string, key []byte, idle time.Duration) error
	// Drop removes what is held under desc; none held is no error.
	Drop(desc string) error
	// Status tells where the key is held and for how long, without
	// reading it.
	Status(desc string) (SessionKey, error)
}

// SessionKey describes the session-held data key for `kubeiam doctor`.
type SessionKey struct {
	Held  bool
	Where string // e.g. "the kernel user keyring (key 2f0e1a3c)"
	// Remaining is the time left before it lapses unless used (the kernel
	// shows it rounded down to its unit); zero when unknown.
	Remaining time.Duration
}

// sessionKeyDesc names the held key after the keyring item it copies: the
// item's service and user, and the Secret Service it lives in (the session
// bus address and runtime directory), so a key from another keyring — a
// test's private bus, another desktop session — is never taken for this one.
func sessionKeyDesc() string {
	h := sha256.Sum256([]byte(keyringService + "\n" + keyringUser + "\n" +
		os.Getenv("DBUS_SESSION_BUS_ADDRESS") + "\n" + os.Getenv("XDG_RUNTIME_DIR")))
	return "kubeiam:datakey:" + hex.EncodeToString(h[:8])
}

// readSessionKey returns the session-held data key, or nil. A key that is
// there but malformed counts as stale (reported, then repaired from the
// keyring); a store that refuses (containers deny keyctl) is silent and
// remembered for SessionKeyError.
func (c *Cache) readSessionKey(ctx context.Context) *dataKey {
	if c.session == nil {
		return nil
	}
	raw, err := withDeadline(ctx, time.Now().Add(sessionKeyBudget), func() ([]byte, error) {
		return c.session.Read(sessionKeyDesc())
	})
	err = sessionTimeout(err)
	var repaired errAgentRepaired
	var unsafe errAgentUnsafe
	switch {
	// Someone or something put it there: say so, once an hour for each kind.
	case errors.As(err, &repaired):
		c.warn("session-key:agent:"+repaired.what, "%v; the data key is read from the keyring", err)
	case errors.As(err, &unsafe):
		c.warn("session-key:agent:unsafe", "%v; the data key is read from the keyring", err)
	}
	switch {
	case errors.Is(err, errNoSessionKey):
		return nil
	case err != nil:
		c.sessionErr = err
		return nil
	case len(raw) != dataKeySize:
		c.sessionStale = true
		return nil
	}
	return newDataKey(raw)
}

// sessionTimeout names the session store, not the keyring, when it was the
// one that did not answer (a hung agent).
func sessionTimeout(err error) error {
	if errors.Is(err, errKeyringTimeout) {
		return fmt.Errorf("the session-held data key did not come within %s", sessionKeyBudget)
	}
	return err
}

// holdSessionKey keeps k, just read from the keyring, for the session.
func (c *Cache) holdSessionKey(ctx context.Context, k *dataKey) {
	if c.session == nil || c.sessionErr != nil {
		return
	}
	_, err := withDeadline(ctx, time.Now().Add(sessionKeyBudget), func() (struct{}, error) {
		return struct{}{}, c.session.Write(sessionKeyDesc(), k.key, SessionKeyIdle)
	})
	err = sessionTimeout(err)
	if errors.Is(err, errAgentDown) && c.opts.Agent != nil {
		err = startAgent(c.opts.Agent, sessionKeyDesc(), k.key, SessionKeyIdle)
	}
	if err != nil {
		c.sessionErr = err
		return
	}
	if c.sessionStale {
		c.sessionStale = false
		c.warn("session-key:stale", "the data key held for this session did not match the keyring's; replaced it")
	}
}

// refreshFromKeyring is called when an entry was sealed under another key
// than the session-held one: the copy may be stale (the keyring item was
// replaced). It reads the keyring once per Cache and, if the keyring's key
// differs, repairs the copy and uses the keyring's key from then on. A
// keyring that does not answer leaves the session-held key in use.
func (c *Cache) refreshFromKeyring(ctx context.Context) bool {
	if c.keySource != fromSession || c.reread {
		return false
	}
	c.reread = true
	k, err := c.loadDataKey(ctx, time.Now().Add(c.opts.KeyringTimeout))
	if err != nil || k.id == c.key.id {
		return false
	}
	c.sessionStale = true
	c.key, c.keySource = k, fromKeyring
	c.holdSessionKey(ctx, k)
	return true
}

// Key sources, for KeySource.
const (
	fromKeyring = "keyring"
	fromSession = "session"
)

// KeySource tells where this process got the data key: "session" (the
// session-held copy), "keyring", or "" (no keyring backend).
func (c *Cache) KeySource() string {
	c.resolve(context.Background())
	return c.keySource
}

// SessionKeyError is why the session-held key could not be used (e.g. keyctl
// refused in a container), or nil. For -v output; it is never a warning.
func (c *Cache) SessionKeyError() error { return c.sessionErr }

// DropSessionKey forgets the session-held data key (`kubeiam cache clear
// --all`, logout). The keyring keeps the key; the next call reads it again.
func DropSessionKey() error {
	s := defaultSessionStore()
	if s == nil {
		return nil
	}
	if err := s.Drop(sessionKeyDesc()); err != nil {
		return fmt.Errorf("could not drop the session-held data key: %w", err)
	}
	return nil
}

// SessionKeyStatus tells where the data key is held for this session, and
// for how long, without reading it.
func SessionKeyStatus() (SessionKey, error) {
	s := defaultSessionStore()
	if s == nil {
		return SessionKey{}, fmt.Errorf("%w: %s", ErrSessionKeyUnsupported, noSessionStoreReason())
	}
	return s.Status(sessionKeyDesc())
}

// noSessionStoreReason says why a platform has no session store, for
// `kubeiam doctor`.
func noSessionStoreReason() string {
	if runtime.GOOS == "windows" {
		return "the Windows Credential Manager is read in-process (no process start, no bus round trip), so no agent is needed"
	}
	return "no kernel keyring and no kubeiam agent build on " + runtime.GOOS
}

// parseKeyTimeout reads the kernel's rendering of a key's remaining
// lifetime (/proc/keys: "45s", "59m", "2d"; "perm" and "expd" are zero).
func parseKeyTimeout(s string) time.Duration {
	if len(s) < 2 {
		return 0
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil {
		return 0
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	return time.Duration(n) * unit
}
