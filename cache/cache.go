package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// Options configure Open. The zero value is usable: auto backend, default
// directory, 2 s keyring timeout, no warnings, the system clock.
type Options struct {
	// Backend is where entries are kept (Auto when empty; see the package
	// comment for the fallback rules).
	Backend Backend
	// Dir is the cache directory; empty means DefaultDir().
	Dir string
	// KeyringTimeout bounds the keyring calls of one Cache together.
	KeyringTimeout time.Duration
	// Warn receives warnings, each cause at most once an hour across
	// processes, except that a backend chosen explicitly that cannot be used
	// says so on every call; the token command passes stderr, which kubectl
	// shows to the user.
	Warn io.Writer
	// HoldWarnings keeps warnings until FlushWarnings. The front binary
	// prints them only when it answers from the cache; otherwise kubeiam-core
	// opens the same cache, meets the same problems and says them, once.
	HoldWarnings bool
	// Now is the clock for freshness and warning times; nil means time.Now.
	Now func() time.Time
	// NoSessionKey reads the data key from the keyring in every process,
	// never from (or into) the session-held copy: `kubeiam doctor` asks the
	// keyring itself, and KUBEIAM_SESSION_KEY=off opts out.
	NoSessionKey bool
	// Agent starts the kubeiam agent when the session store is the agent
	// and none runs (nil: never start one).
	Agent *AgentCommand

	// ring replaces the OS keyring in tests, and session the session key
	// store (nil: none, unless ring is the OS keyring).
	ring    secretStore
	session sessionStore
}

// Cache is an open cache directory with its backend. It is meant for one
// process's short life and is not safe for concurrent use by goroutines
// (Lock is: it only touches lock files).
type Cache struct {
	opts  Options
	dir   string
	dirOK bool
	ring  secretStore

	resolved bool
	backend  Backend
	key      *dataKey
	st       *state
	held     []warning

	session      sessionStore
	keySource    string // fromSession or fromKeyring once the key is loaded
	sessionErr   error  // why the session store refused, if it did
	sessionStale bool   // a held key did not match; warn when replaced
	reread       bool   // the keyring was asked again after a stale hit
}

// Open prepares a cache. It fails only on bad options: a cache directory that
// cannot be created, is a symbolic link or belongs to another user turns the
// cache off with a warning, because a token can still be made without it.
// That warning comes on every call: there is no state file to remember it in. The keyring is asked lazily, on the first Get,
// Put or Backend call, so `cache list`, `clear` and Lock never wait for it.
func Open(opts Options) (*Cache, error) {
	b, err := ParseBackend(string(opts.Backend))
	if err != nil {
		return nil, err
	}
	opts.Backend = b
	if opts.KeyringTimeout <= 0 {
		opts.KeyringTimeout = DefaultKeyringTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Cache{opts: opts, dir: opts.Dir, ring: opts.ring, session: opts.session}
	if c.ring == nil {
		c.ring = osKeyring{}
		c.session = defaultSessionStore()
	}
	if opts.NoSessionKey {
		c.session = nil
	}
	if b == None {
		c.resolved, c.backend = true, None
		return c, nil
	}
	if c.dir == "" {
		if c.dir, err = DefaultDir(); err != nil {
			c.resolved, c.backend = true, None
			c.warn(always, "caching is off: %v", err)
			return c, nil
		}
	}
	if err := ensureDir(c.dir); err != nil {
		c.resolved, c.backend = true, None
		c.warn(always, "caching is off: %v", err)
		return c, nil
	}
	c.dirOK = true
	return c, nil
}

// Dir is the cache directory ("" when there is none).
func (c *Cache) Dir() string { return c.dir }

// Backend is the backend actually in use after auto selection and fallback:
// Keyring, File or None.
func (c *Cache) Backend() Backend {
	c.resolve(context.Background())
	return c.backend
}

func (c *Cache) now() time.Time { return c.opts.Now() }

func (c *Cache) path(name string) string { return filepath.Join(c.dir, name) }

func (c *Cache) entryPath(id string) string { return c.path(id + ".json") }

// resolve picks the backend once per Cache. Plain files are the fallback
// only where no keyring is known to exist: no session bus, nothing behind
// its address, no Secret Service on it, or a keyring that never answered and
// never held this directory's data key. A keyring that exists but refuses
// (locked, prompt dismissed), or one this directory used before, means no
// caching rather than tokens in plain text.
func (c *Cache) resolve(ctx context.Context) {
	if c.resolved {
		return
	}
	c.resolved = true
	if c.opts.Backend == File {
		c.backend = File
		return
	}
	// Auto or Keyring from here on.
	var reason string
	absent := false   // no keyring here at all
	timedOut := false // a keyring that may or may not exist
	switch {
	case c.opts.ring == nil && !sessionBusKnown():
		reason, absent = "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)", true
	case c.useSessionKey(ctx):
		return
	case c.recentKeyringTimeout():
		timedOut = true
		reason = fmt.Sprintf("the keyring did not answer within %s a moment ago", c.opts.KeyringTimeout)
	default:
		k, err := c.loadDataKey(ctx, time.Now().Add(c.opts.KeyringTimeout))
		switch {
		case err == nil:
			c.key, c.backend, c.keySource = k, Keyring, fromKeyring
			c.holdSessionKey(ctx, k)
			if st := c.loadState(); !st.KeyringUsed {
				st.KeyringUsed = true
				c.saveState()
			}
			return
		case errors.Is(err, errKeyringTimeout):
			timedOut = true
			reason = fmt.Sprintf("the keyring did not answer within %s", c.opts.KeyringTimeout)
			st := c.loadState()
			st.KeyringTimeout = c.now().UTC()
			c.saveState()
		default:
			reason, absent = fmt.Sprintf("could not use the keyring: %v", err), keyringAbsent(err)
		}
	}
	st := c.loadState()
	switch {
	case c.opts.Backend == Keyring:
		// Asked for by name: say so every time, or the user cannot tell why
		// nothing is cached.
		c.backend = None
		c.warn(always, "caching is off: %s; the keyring backend never falls back to plain-text files", reason)
	case absent && !st.KeyringUsed:
		// The normal state of servers and CI: no warning.
		c.backend = File
	case timedOut && !st.KeyringUsed:
		c.backend = File
		c.warn("keyring-slow", "%s; caching in private files in %s instead", reason, c.dir)
	default:
		c.backend = None
		cause := "keyring-off:refused"
		if timedOut {
			cause = "keyring-off:timeout"
		}
		c.warn(cause, "caching is off: %s, and tokens are never written in plain text where a keyring exists; unlock the keyring, or set KUBEIAM_CACHE=file to cache in a private file", reason)
	}
}

// useSessionKey takes the session-held data key when there is one. Only a
// process that read the keyring itself stores it, so the keyring was in use.
func (c *Cache) useSessionKey(ctx context.Context) bool {
	k := c.readSessionKey(ctx)
	if k == nil {
		return false
	}
	c.key, c.backend, c.keySource = k, Keyring, fromSession
	return true
}

func (c *Cache) recentKeyringTimeout() bool {
	t := c.loadState().KeyringTimeout
	if t.IsZero() {
		return false
	}
	d := c.now().Sub(t)
	return d >= 0 && d < keyringBackoff
}

// record is the whole entry as stored: in the clear with the file backend,
// sealed with the keyring backend.
type record struct {
	Key         Key          `json:"key"`
	Stored      time.Time    `json:"stored"`
	Token       string       `json:"token"`
	TokenExpiry time.Time    `json:"tokenExpiry"`
	Credentials *Credentials `json:"credentials,omitempty"`
}

// fileEntry is the file format. Key and the expiry times are repeated
// outside the secret part so List and Clear need no keyring; Get trusts only
// the copies inside record (or inside the sealed data).
type fileEntry struct {
	Version           int        `json:"version"`
	Key               Key        `json:"key"`
	Stored            time.Time  `json:"stored"`
	TokenExpiry       time.Time  `json:"tokenExpiry"`
	CredentialsExpiry *time.Time `json:"credentialsExpiry,omitempty"`
	Sealed            *sealed    `json:"sealed,omitempty"`
	Plain             *record    `json:"plain,omitempty"`
}

const fileVersion = 1

// Get returns the entry for k, or (nil, nil) on a miss. Anything that cannot
// be trusted to belong to k is a miss: a corrupt or foreign file, an entry
// sealed under another key, a plain-text entry while the keyring is in use.
// Freshness is the caller's call (TokenValid, CredentialsValid).
func (c *Cache) Get(ctx context.Context, k Key) (*Entry, error) {
	c.resolve(ctx)
	if c.backend == None {
		return nil, nil
	}
	id := k.ID()
	fe, err := c.readEntry(id)
	if err != nil {
		if !isNotExist(err) {
			c.noteBadFile(err)
		}
		return nil, nil
	}
	var rec record
	switch {
	case fe.Sealed != nil && c.backend == Keyring:
		if fe.Sealed.KeyID != c.key.id {
			// Sealed under another key: the session-held copy may be
			// stale. If so, the keyring's key opens it.
			c.refreshFromKeyring(ctx)
		}
		plain, err := c.key.open(id, fe.Sealed)
		if err != nil || json.Unmarshal(plain, &rec) != nil {
			return nil, nil
		}
	case fe.Plain != nil && c.backend == File:
		rec = *fe.Plain
	default:
		return nil, nil
	}
	if rec.Key != k || rec.Key.ID() != id {
		return nil, nil
	}
	return &Entry{
		Key:         rec.Key,
		Token:       rec.Token,
		TokenExpiry: rec.TokenExpiry,
		Credentials: rec.Credentials,
		Stored:      rec.Stored,
		Encrypted:   fe.Sealed != nil,
	}, nil
}

// noteBadFile warns about files the cache refuses to trust because of what
// they are (a link, a FIFO), their owner or their mode: someone or something
// put them there, which is worth telling the user; corrupt ones are not.
// Each kind of refusal has its own hourly limit.
func (c *Cache) noteBadFile(err error) {
	for _, cause := range untrustedCauses {
		if errors.Is(err, cause) {
			c.warn("file:"+cause.Error(), "ignoring %v; it is replaced on the next write", err)
			return
		}
	}
}

func (c *Cache) readEntry(id string) (*fileEntry, error) {
	b, err := readPrivate(c.entryPath(id))
	if err != nil {
		return nil, err
	}
	var fe fileEntry
	if err := json.Unmarshal(b, &fe); err != nil {
		return nil, fmt.Errorf("could not decode cache entry %s: %w", id, err)
	}
	if fe.Version != fileVersion {
		return nil, fmt.Errorf("cache entry %s has unknown version %d", id, fe.Version)
	}
	return &fe, nil
}

// Put stores e under e.Key, replacing what was there — also a link, FIFO or
// foreign file in its place, which is never followed or written through.
// With the keyring backend the token and credentials are sealed; nothing
// secret reaches the disk in the clear. A failed write is also reported on
// Options.Warn (a full disk once an hour), so callers need not print it.
func (c *Cache) Put(ctx context.Context, e *Entry) error {
	c.resolve(ctx)
	if c.backend == None {
		return nil
	}
	if e == nil || e.Token == "" && e.Credentials == nil {
		return errors.New("could not store cache entry: nothing to store")
	}
	id := e.Key.ID()
	rec := record{
		Key:         e.Key,
		Stored:      c.now().UTC().Round(0),
		Token:       e.Token,
		TokenExpiry: e.TokenExpiry.UTC().Round(0),
		Credentials: e.Credentials,
	}
	fe := fileEntry{Version: fileVersion, Key: e.Key, Stored: rec.Stored, TokenExpiry: rec.TokenExpiry}
	if cr := e.Credentials; cr != nil && cr.CanExpire {
		t := cr.Expires.UTC().Round(0)
		fe.CredentialsExpiry = &t
	}
	switch c.backend {
	case Keyring:
		plain, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("could not encode cache entry: %w", err)
		}
		if fe.Sealed, err = c.key.seal(id, plain); err != nil {
			return err
		}
	case File:
		fe.Plain = &rec
	}
	b, err := json.Marshal(fe)
	if err != nil {
		return fmt.Errorf("could not encode cache entry: %w", err)
	}
	// A full disk must be reported once an hour, not on every call: the
	// state file that remembers the warning must exist before space runs
	// out, because then only its own block can still be rewritten.
	c.ensureState()
	if err := writeAtomic(c.entryPath(id), b); err != nil {
		err = fmt.Errorf("could not write cache entry: %w", err)
		cause := "write"
		if fsafe.IsNoSpace(err) {
			cause = "write:no-space"
		}
		c.warn(cause, "%v", err)
		return err
	}
	return nil
}

// List returns the entries in the directory with their secrets left out
// (Token empty; Credentials, when present, carry only the expiry). Files the
// cache would not trust are skipped.
func (c *Cache) List(ctx context.Context) ([]Entry, error) {
	if !c.dirOK {
		return nil, nil
	}
	ids, err := c.entryIDs()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, id := range ids {
		fe, err := c.readEntry(id)
		if err != nil {
			c.noteBadFile(err)
			continue
		}
		if fe.Key.ID() != id {
			continue
		}
		e := Entry{Key: fe.Key, TokenExpiry: fe.TokenExpiry, Stored: fe.Stored, Encrypted: fe.Sealed != nil}
		if fe.CredentialsExpiry != nil {
			e.Credentials = &Credentials{CanExpire: true, Expires: *fe.CredentialsExpiry}
		}
		out = append(out, e)
	}
	return out, nil
}

// Clear removes the entries of one cluster ID, or all entries (and stray
// temporary files) with all. It returns how many entries it removed. The
// keyring's data key stays: other entries may use it, and it is no secret
// about any one identity. With all, the session-held copy of it is dropped,
// so the next call asks the keyring again.
func (c *Cache) Clear(ctx context.Context, clusterID string, all bool) (int, error) {
	if !all && clusterID == "" {
		return 0, errors.New("could not clear the cache: name a cluster ID or ask for all")
	}
	var errs []error
	if all && c.session != nil {
		if err := c.session.Drop(sessionKeyDesc()); err != nil {
			errs = append(errs, fmt.Errorf("could not drop the session-held data key: %w", err))
		}
	}
	if !c.dirOK {
		return 0, errors.Join(errs...)
	}
	ids, err := c.entryIDs()
	if err != nil {
		return 0, err
	}
	// Files we do not trust are not read; --all removes them.
	n, rerrs := c.removeEntries(ids, func(id string) bool {
		if all {
			return true
		}
		fe, err := c.readEntry(id)
		return err == nil && fe.Key.ClusterID == clusterID
	})
	errs = append(errs, rerrs...)
	if all {
		des, _ := os.ReadDir(c.dir)
		for _, de := range des {
			if strings.Contains(de.Name(), ".tmp-") {
				os.Remove(c.path(de.Name()))
			}
		}
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("could not clear the cache: %w", errors.Join(errs...))
	}
	return n, nil
}

func (c *Cache) entryIDs() ([]string, error) {
	des, err := os.ReadDir(c.dir)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("could not read cache directory: %w", err)
	}
	var ids []string
	for _, de := range des {
		if id, ok := strings.CutSuffix(de.Name(), ".json"); ok && isEntryID(id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
