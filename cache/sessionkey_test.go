package cache

import (
	"bytes"
	"context"
	"encoding/base64"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/testwait"
)

// fakeSession is an in-memory session key store that can refuse or hang,
// standing in for the kernel keyring.
type fakeSession struct {
	mu     sync.Mutex
	held   map[string][]byte
	idle   time.Duration
	reads  int
	writes int
	err    error         // every call fails with it (keyctl denied)
	hang   chan struct{} // every Read blocks until closed
}

func newFakeSession() *fakeSession { return &fakeSession{held: map[string][]byte{}} }

func (s *fakeSession) Read(desc string) ([]byte, error) {
	s.mu.Lock()
	hang := s.hang
	s.mu.Unlock()
	if hang != nil {
		<-hang
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	s.reads++
	k, ok := s.held[desc]
	if !ok {
		return nil, errNoSessionKey
	}
	return bytes.Clone(k), nil
}

func (s *fakeSession) Write(desc string, key []byte, idle time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.writes++
	s.held[desc], s.idle = bytes.Clone(key), idle
	return nil
}

func (s *fakeSession) Drop(desc string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.held, desc)
	return nil
}

func (s *fakeSession) Status(desc string) (SessionKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.held[desc]
	return SessionKey{Held: ok, Where: "fake", Remaining: s.idle}, nil
}

func (s *fakeSession) set(key []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held[sessionKeyDesc()] = key
}

func (s *fakeSession) get() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held[sessionKeyDesc()]
}

// openSession opens the cache as one kubeiam process would, with the fake
// keyring and s as the session key store.
func (e *env) openSession(t *testing.T, s *fakeSession) *Cache {
	t.Helper()
	c, err := Open(Options{Backend: Auto, Dir: e.dir, KeyringTimeout: 300 * time.Millisecond, Warn: e.warn,
		Now: func() time.Time { return e.now }, ring: e.ring, session: s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seeded puts one entry through a first process (which reads the keyring
// and leaves the key with the session store) and returns it.
func seeded(t *testing.T, e *env, s *fakeSession) *Entry {
	t.Helper()
	want := testEntry(testKey())
	if err := e.openSession(t, s).Put(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	return want
}

// hit checks that a new process gets want back, from the named key source,
// and returns how many keyring reads that took.
func hit(t *testing.T, e *env, s *fakeSession, want *Entry, source string) int {
	t.Helper()
	before := e.ring.gets
	c := e.openSession(t, s)
	got, err := c.Get(context.Background(), want.Key)
	if err != nil || got == nil {
		t.Fatalf("Get = %v, %v; want a hit", got, err)
	}
	if got.Token != want.Token || !reflect.DeepEqual(got.Credentials, want.Credentials) || !got.Encrypted {
		t.Fatalf("Get returned another entry: %+v", got)
	}
	if c.KeySource() != source {
		t.Errorf("key source %q, want %q", c.KeySource(), source)
	}
	return e.ring.gets - before
}

func TestSessionKeySparesTheKeyring(t *testing.T) {
	e, s := newEnv(t), newFakeSession()
	want := seeded(t, e, s)
	if e.ring.gets == 0 || s.writes != 1 || s.idle != SessionKeyIdle {
		t.Fatalf("first process: %d keyring reads, %d session writes (idle %s)", e.ring.gets, s.writes, s.idle)
	}
	for range 3 {
		if n := hit(t, e, s, want, fromSession); n != 0 {
			t.Errorf("a hit read the keyring %d times with the key held for the session", n)
		}
	}
	if e.warn.Len() > 0 {
		t.Errorf("warnings: %s", e.warn)
	}
	// What the session holds is the keyring's key, byte for byte.
	ring, _ := e.ring.Get(keyringService, keyringUser)
	if base64.StdEncoding.EncodeToString(s.get()) != ring {
		t.Errorf("the session holds another key than the keyring")
	}
}

// TestSessionKeyFaults: whatever is wrong with the held copy, a hit still
// answers with the entry (from the keyring, as before), the copy is
// repaired, and at most one warning is said.
func TestSessionKeyFaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     func(e *env, s *fakeSession)
		warn      string // "" = no warning
		repaired  bool   // the next process reads the session key again
		keyReads  int    // keyring reads of the faulted call
		sourceNow string
	}{
		{"junk key of the right size", func(e *env, s *fakeSession) { s.set(bytes.Repeat([]byte{7}, dataKeySize)) },
			"did not match the keyring's", true, 1, fromKeyring},
		{"junk of another size", func(e *env, s *fakeSession) { s.set([]byte("not a key")) },
			"did not match the keyring's", true, 1, fromKeyring},
		{"key dropped (timed out)", func(e *env, s *fakeSession) { s.Drop(sessionKeyDesc()) },
			"", true, 1, fromKeyring},
		{"keyctl denied", func(e *env, s *fakeSession) { s.err = syscall.EPERM },
			"", false, 1, fromKeyring},
		{"keyctl missing", func(e *env, s *fakeSession) { s.err = syscall.ENOSYS },
			"", false, 1, fromKeyring},
		{"keyring locked after the key was held", func(e *env, s *fakeSession) { e.ring.err = errLocked },
			"", true, 0, fromSession},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, s := newEnv(t), newFakeSession()
			want := seeded(t, e, s)
			tc.fault(e, s)
			if n := hit(t, e, s, want, tc.sourceNow); n != tc.keyReads {
				t.Errorf("the faulted call read the keyring %d times, want %d", n, tc.keyReads)
			}
			if got := e.warn.String(); tc.warn == "" && got != "" || tc.warn != "" && strings.Count(got, "\n") != 1 ||
				!strings.Contains(got, tc.warn) {
				t.Errorf("warnings %q, want %q once", got, tc.warn)
			}
			e.warn.Reset()
			if tc.repaired {
				if n := hit(t, e, s, want, fromSession); n != 0 {
					t.Errorf("after repair a hit read the keyring %d times", n)
				}
			} else if n := hit(t, e, s, want, fromKeyring); n != 1 {
				t.Errorf("with the store refused a hit read the keyring %d times, want 1", n)
			}
			if e.warn.Len() > 0 {
				t.Errorf("second call warned: %s", e.warn)
			}
		})
	}
}

var errLocked = &lockedErr{}

type lockedErr struct{}

func (*lockedErr) Error() string { return "Cannot unlock the collection: prompt dismissed" }

// TestSessionKeyStaleAfterKeyringChange: the keyring item was replaced (a
// new key) and entries are sealed under it; the held copy of the old key
// must not turn them into misses for an hour.
func TestSessionKeyStaleAfterKeyringChange(t *testing.T) {
	e, s := newEnv(t), newFakeSession()
	seeded(t, e, s)
	e.ring.Delete(keyringService, keyringUser)
	// A process that does not use the session copy makes the new key and
	// seals the entry under it.
	c, err := Open(Options{Dir: e.dir, Warn: e.warn, Now: func() time.Time { return e.now }, ring: e.ring, NoSessionKey: true})
	if err != nil {
		t.Fatal(err)
	}
	want := testEntry(testKey())
	want.Token += "-new"
	if err := c.Put(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	if s.writes != 1 {
		t.Fatalf("NoSessionKey wrote the session copy")
	}
	if n := hit(t, e, s, want, fromKeyring); n != 1 {
		t.Errorf("stale copy: %d keyring reads, want 1", n)
	}
	if n := hit(t, e, s, want, fromSession); n != 0 {
		t.Errorf("repaired copy: %d keyring reads, want 0", n)
	}
	if strings.Count(e.warn.String(), "did not match") != 1 {
		t.Errorf("warnings: %q", e.warn)
	}
}

// TestSessionKeyHangBounded: a session store that never answers costs the
// budget, then the keyring answers as before.
func TestSessionKeyHangBounded(t *testing.T) {
	e, s := newEnv(t), newFakeSession()
	want := seeded(t, e, s)
	// The slack over the budget grows with a healthy hit on this machine
	// now (250 ms at least, as before).
	base := testwait.Baseline(3, func() { hit(t, e, s, want, fromSession) })
	s.hang = make(chan struct{})
	defer close(s.hang)
	start := time.Now()
	hit(t, e, s, want, fromKeyring)
	if d, limit := time.Since(start), sessionKeyBudget+testwait.Limit(base, 20, 250*time.Millisecond, 0); d > limit {
		t.Errorf("took %s with a hung session store, want under %s", d, limit)
	}
}

func TestClearAllDropsSessionKey(t *testing.T) {
	e, s := newEnv(t), newFakeSession()
	seeded(t, e, s)
	if _, err := e.openSession(t, s).Clear(context.Background(), "c1", false); err != nil || s.get() == nil {
		t.Fatalf("clearing one cluster dropped the session key (%v)", err)
	}
	if _, err := e.openSession(t, s).Clear(context.Background(), "", true); err != nil || s.get() != nil {
		t.Fatalf("clear --all kept the session key (%v)", err)
	}
}

func TestParseKeyTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{"59m": 59 * time.Minute, "45s": 45 * time.Second, "1h": time.Hour,
		"2d": 48 * time.Hour, "perm": 0, "expd": 0, "": 0} {
		if got := parseKeyTimeout(in); got != want {
			t.Errorf("parseKeyTimeout(%q) = %s, want %s", in, got, want)
		}
	}
}
