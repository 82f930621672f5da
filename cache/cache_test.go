package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/kubeiam/kubeiam/internal/testwait"
)

// fakeRing is an in-memory keyring that can be made to hang or fail.
type fakeRing struct {
	mu    sync.Mutex
	items map[string]string
	gets  int
	sets  int
	hang  chan struct{} // when non-nil, every call blocks until it is closed
	err   error         // when non-nil, every call fails with it
}

func newFakeRing() *fakeRing { return &fakeRing{items: map[string]string{}} }

func (r *fakeRing) wait() error {
	r.mu.Lock()
	hang, err := r.hang, r.err
	r.mu.Unlock()
	if hang != nil {
		<-hang
	}
	return err
}

func (r *fakeRing) Get(service, user string) (string, error) {
	if err := r.wait(); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gets++
	v, ok := r.items[service+"/"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (r *fakeRing) Set(service, user, secret string) error {
	if err := r.wait(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sets++
	r.items[service+"/"+user] = secret
	return nil
}

func (r *fakeRing) Delete(service, user string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.items, service+"/"+user)
	return nil
}

// keyIDGolden is testKey().ID(); testdata/script/cache_*.txtar use the IDs too.
const keyIDGolden = "84bf6098cd7a0b7626ebd56fe843b43b0ea873db15ce9e43e4b9d059405ebfef"

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testKey() Key {
	return Key{ClusterID: "c1", Partition: "aws", Region: "eu-west-1", Endpoint: "sts.eu-west-1.amazonaws.com",
		Profile: "dev", RoleARN: "arn:aws:iam::111122223333:role/admin", SessionName: "kubeiam", Source: "env:AKIAEXAMPLE"}
}

func testEntry(k Key) *Entry {
	return &Entry{
		Key:         k,
		Token:       "k8s-aws-v1.SECRET-TOKEN-" + k.ClusterID + strings.Repeat("x", 2500),
		TokenExpiry: t0.Add(14 * time.Minute),
		Credentials: &Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "SECRET-ACCESS-KEY", SessionToken: "SECRET-SESSION-TOKEN",
			Source: "AssumeRole", CanExpire: true, Expires: t0.Add(time.Hour)},
	}
}

type env struct {
	dir  string
	ring *fakeRing
	warn *bytes.Buffer
	now  time.Time
}

func newEnv(t *testing.T) *env {
	return &env{dir: filepath.Join(t.TempDir(), "kubeiam"), ring: newFakeRing(), warn: &bytes.Buffer{}, now: t0}
}

func (e *env) open(t *testing.T, b Backend) *Cache {
	t.Helper()
	c, err := Open(Options{Backend: b, Dir: e.dir, KeyringTimeout: 300 * time.Millisecond, Warn: e.warn,
		Now: func() time.Time { return e.now }, ring: e.ring})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseBackend(t *testing.T) {
	for in, want := range map[string]Backend{"": Auto, "auto": Auto, "KEYRING": Keyring, " file ": File, "none": None} {
		got, err := ParseBackend(in)
		if err != nil || got != want {
			t.Errorf("ParseBackend(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseBackend("disk")
	if err == nil || !strings.Contains(err.Error(), "auto, keyring, file or none") {
		t.Errorf("ParseBackend(disk) error = %v, want one naming the valid values", err)
	}
}

// TestKeyIDGolden pins the ID derivation: changing it silently turns every
// cached entry into a miss, so it should be a deliberate change.
func TestKeyIDGolden(t *testing.T) {
	got := testKey().ID()
	if !isEntryID(got) {
		t.Fatalf("ID %q is not 64 hex digits", got)
	}
	if got != keyIDGolden {
		t.Errorf("testKey().ID() = %s, want %s (update keyIDGolden and testdata only on purpose)", got, keyIDGolden)
	}
}

// TestKeyIDEveryField: every field of Key must change the ID, or switching
// profile (say) could return another profile's token.
func TestKeyIDEveryField(t *testing.T) {
	base := testKey()
	seen := map[string]string{base.ID(): "base"}
	v := reflect.ValueOf(&base).Elem()
	for i := 0; i < v.NumField(); i++ {
		k := base
		f := reflect.ValueOf(&k).Elem().Field(i)
		f.SetString(f.String() + "x")
		id := k.ID()
		if prev, dup := seen[id]; dup {
			t.Errorf("changing %s gives the same ID as %s", v.Type().Field(i).Name, prev)
		}
		seen[id] = v.Type().Field(i).Name
	}
	// Moving text between fields must not collide either.
	a, b := Key{ClusterID: "ab", Region: "c"}, Key{ClusterID: "a", Region: "bc"}
	if a.ID() == b.ID() {
		t.Error("field boundaries are not part of the ID")
	}
}

func TestFileBackendRoundTrip(t *testing.T) {
	e := newEnv(t)
	c := e.open(t, File)
	if c.Backend() != File {
		t.Fatalf("Backend() = %s", c.Backend())
	}
	ctx := context.Background()
	k := testKey()
	if got, err := c.Get(ctx, k); got != nil || err != nil {
		t.Fatalf("Get on empty cache = %v, %v; want a miss", got, err)
	}
	want := testEntry(k)
	if err := c.Put(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, k)
	if err != nil || got == nil {
		t.Fatalf("Get after Put = %v, %v", got, err)
	}
	if got.Token != want.Token || !got.TokenExpiry.Equal(want.TokenExpiry) || *got.Credentials != *want.Credentials || got.Encrypted {
		t.Errorf("Get = %+v, want %+v", got, want)
	}
	if !got.Stored.Equal(t0) {
		t.Errorf("Stored = %v, want %v", got.Stored, t0)
	}
	assertMode(t, e.dir, 0o700)
	assertMode(t, filepath.Join(e.dir, k.ID()+".json"), 0o600)
	if e.ring.gets+e.ring.sets != 0 {
		t.Errorf("file backend touched the keyring %d times", e.ring.gets+e.ring.sets)
	}
	// Another key misses.
	other := k
	other.Profile = "prod"
	if got, _ := c.Get(ctx, other); got != nil {
		t.Error("another profile's Get returned an entry")
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
	}
}

func TestKeyringBackendSealsEntries(t *testing.T) {
	e := newEnv(t)
	c := e.open(t, Auto)
	if c.Backend() != Keyring {
		t.Fatalf("Backend() = %s, want keyring; warnings: %s", c.Backend(), e.warn)
	}
	ctx := context.Background()
	k := testKey()
	want := testEntry(k)
	if err := c.Put(ctx, want); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(e.dir, k.ID()+".json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"SECRET-TOKEN", "SECRET-ACCESS-KEY", "SECRET-SESSION-TOKEN", "ASIAEXAMPLE"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("entry file holds %s in the clear", secret)
		}
	}
	// A second process (Cache) reads it back through the same data key.
	c2 := e.open(t, Auto)
	got, err := c2.Get(ctx, k)
	if err != nil || got == nil {
		t.Fatalf("Get = %v, %v; warnings: %s", got, err, e.warn)
	}
	if got.Token != want.Token || *got.Credentials != *want.Credentials || !got.Encrypted {
		t.Errorf("Get = %+v", got)
	}
	if e.ring.sets != 1 {
		t.Errorf("data key stored %d times, want once", e.ring.sets)
	}
	if e.warn.Len() != 0 {
		t.Errorf("unexpected warnings: %s", e.warn)
	}
	// The state remembers that a keyring was used here.
	if !c2.loadState().KeyringUsed {
		t.Error("state does not record keyring use")
	}
}

// TestKeyringMockInit runs the keyring backend through go-keyring's own mock
// provider, i.e. through the adapter the real keyring uses.
func TestKeyringMockInit(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	c, err := Open(Options{Dir: dir, ring: osKeyring{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Backend() != Keyring {
		t.Fatalf("Backend() = %s", c.Backend())
	}
	ctx := context.Background()
	k := testKey()
	ent := testEntry(k)
	ent.TokenExpiry = time.Now().Add(14 * time.Minute)
	if err := c.Put(ctx, ent); err != nil {
		t.Fatal(err)
	}
	stored, err := keyring.Get("kubeiam", "cache-data-key")
	if err != nil || len(stored) < 40 {
		t.Fatalf("data key in mock keyring = %q, %v", stored, err)
	}
	got, _ := c.Get(ctx, k)
	if got == nil || got.Token != ent.Token {
		t.Fatalf("Get = %+v", got)
	}
	// Losing the data key (another machine, keyring reset) turns entries
	// into misses, never errors.
	if err := keyring.Delete("kubeiam", "cache-data-key"); err != nil {
		t.Fatal(err)
	}
	c2, _ := Open(Options{Dir: dir, ring: osKeyring{}})
	if got, err := c2.Get(ctx, k); got != nil || err != nil {
		t.Errorf("Get under a new data key = %v, %v; want a miss", got, err)
	}
}

// TestSwappedEntryIsMiss: an entry copied to another key's file name must
// not answer for that key, sealed or plain.
func TestSwappedEntryIsMiss(t *testing.T) {
	for _, b := range []Backend{File, Keyring} {
		t.Run(string(b), func(t *testing.T) {
			e := newEnv(t)
			c := e.open(t, b)
			ctx := context.Background()
			a, other := testKey(), testKey()
			other.Profile = "prod"
			if err := c.Put(ctx, testEntry(a)); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(filepath.Join(e.dir, a.ID()+".json"))
			if err := os.WriteFile(filepath.Join(e.dir, other.ID()+".json"), data, 0o600); err != nil {
				t.Fatal(err)
			}
			if got, _ := c.Get(ctx, other); got != nil {
				t.Errorf("Get(prod) returned dev's entry")
			}
			// Also with the visible key rewritten to claim the other identity.
			var fe map[string]any
			json.Unmarshal(data, &fe)
			fe["key"] = other
			data, _ = json.Marshal(fe)
			os.WriteFile(filepath.Join(e.dir, other.ID()+".json"), data, 0o600)
			if got, _ := c.Get(ctx, other); got != nil {
				t.Errorf("Get(prod) returned dev's entry behind a rewritten key")
			}
		})
	}
}

func TestCorruptEntryIsMissAndReplaced(t *testing.T) {
	for _, b := range []Backend{File, Keyring} {
		t.Run(string(b), func(t *testing.T) {
			e := newEnv(t)
			c := e.open(t, b)
			ctx := context.Background()
			k := testKey()
			path := filepath.Join(e.dir, k.ID()+".json")
			if err := c.Put(ctx, testEntry(k)); err != nil {
				t.Fatal(err)
			}
			good, _ := os.ReadFile(path)
			for name, data := range map[string][]byte{
				"truncated": good[:len(good)/2],
				"empty":     {},
				"garbage":   []byte("\x00\x01 not json"),
				"flipped":   bytes.Replace(good, []byte(`"data":"`), []byte(`"data":"AAAA`), 1),
				"version":   bytes.Replace(good, []byte(`"version":1`), []byte(`"version":7`), 1),
			} {
				if bytes.Equal(data, good) {
					continue // nothing sealed to flip in a plain entry
				}
				os.WriteFile(path, data, 0o600)
				if got, err := c.Get(ctx, k); got != nil || err != nil {
					t.Errorf("%s: Get = %+v, %v; want a miss", name, got != nil, err)
				}
			}
			if err := c.Put(ctx, testEntry(k)); err != nil {
				t.Fatal(err)
			}
			if got, _ := c.Get(ctx, k); got == nil {
				t.Error("Put did not replace the corrupt entry")
			}
		})
	}
}

func TestPlainAndSealedDoNotMix(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := testKey()
	if err := e.open(t, File).Put(ctx, testEntry(k)); err != nil {
		t.Fatal(err)
	}
	// A plain entry left from a fallback is not served once the keyring works.
	if got, _ := e.open(t, Keyring).Get(ctx, k); got != nil {
		t.Error("keyring backend served a plain-text entry")
	}
	if err := e.open(t, Keyring).Put(ctx, testEntry(k)); err != nil {
		t.Fatal(err)
	}
	// A sealed entry cannot be read without the keyring.
	if got, _ := e.open(t, File).Get(ctx, k); got != nil {
		t.Error("file backend served a sealed entry")
	}
}

func TestUntrustedFilesAreIgnored(t *testing.T) {
	e := newEnv(t)
	c := e.open(t, File)
	ctx := context.Background()
	k := testKey()
	if err := c.Put(ctx, testEntry(k)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.dir, k.ID()+".json")
	os.Chmod(path, 0o644)
	if got, _ := c.Get(ctx, k); got != nil {
		t.Error("Get read a world-readable entry")
	}
	if !strings.Contains(e.warn.String(), "readable or writable by others") {
		t.Errorf("no warning about the mode; got %q", e.warn)
	}
	if l, _ := c.List(ctx); len(l) != 0 {
		t.Errorf("List shows a world-readable entry")
	}
	// The warning is rate-limited across processes, and comes back after an hour.
	e.warn.Reset()
	e.open(t, File).Get(ctx, k)
	if e.warn.Len() != 0 {
		t.Errorf("warning repeated within the hour: %q", e.warn)
	}
	e.now = e.now.Add(61 * time.Minute)
	e.open(t, File).Get(ctx, k)
	if e.warn.Len() == 0 {
		t.Error("no warning after an hour")
	}
	// Put makes it private again.
	os.Chmod(path, 0o600)
	if os.Geteuid() == 0 {
		if err := os.Chown(path, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Get(ctx, k); got != nil {
			t.Error("Get read a file owned by another user")
		}
	}
	// A symlink to some other file we own is no entry either.
	os.Remove(path)
	target := filepath.Join(t.TempDir(), "id_rsa")
	os.WriteFile(target, []byte("-----BEGIN KEY-----"), 0o600)
	os.Symlink(target, path)
	if got, _ := c.Get(ctx, k); got != nil {
		t.Error("Get followed a symlink to a foreign file")
	}
	if err := c.Put(ctx, testEntry(k)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "-----BEGIN KEY-----" {
		t.Error("Put wrote through a symlink")
	}
}

// TestHangingKeyringFallsBack: a keyring that never answers costs one
// timeout, then the cache works from files and does not ask again for a while.
func TestHangingKeyringFallsBack(t *testing.T) {
	// Baselines on this machine now: opening with a keyring that answers,
	// and that plus a read. The limits below are the keyring timeout plus
	// a slack that grows with them on a slow machine (the floors are the
	// fixed slacks this test had).
	healthy := newEnv(t)
	openBase := testwait.Baseline(3, func() { healthy.open(t, Auto) })
	getBase := testwait.Baseline(3, func() { healthy.open(t, Auto).Get(context.Background(), testKey()) })
	e := newEnv(t)
	e.ring.hang = make(chan struct{})
	defer close(e.ring.hang)
	start := time.Now()
	c := e.open(t, Auto)
	if c.Backend() != File {
		t.Fatalf("Backend() = %s, want file", c.Backend())
	}
	if d, limit := time.Since(start), 300*time.Millisecond+testwait.Limit(openBase, 20, 700*time.Millisecond, 0); d > limit {
		t.Errorf("fallback took %s with a 300ms keyring timeout, want under %s", d, limit)
	}
	if !strings.Contains(e.warn.String(), "did not answer within 300ms") {
		t.Errorf("warning = %q", e.warn)
	}
	ctx := context.Background()
	k := testKey()
	if err := c.Put(ctx, testEntry(k)); err != nil {
		t.Fatal(err)
	}
	// The next process does not wait for the keyring again, nor warn.
	e.warn.Reset()
	start = time.Now()
	c2 := e.open(t, Auto)
	if got, _ := c2.Get(ctx, k); got == nil {
		t.Error("miss after fallback Put")
	}
	// Ruled out: waiting the 300ms timeout again.
	if d, limit := time.Since(start), testwait.Limit(getBase, 20, 100*time.Millisecond, 250*time.Millisecond); d > limit {
		t.Errorf("second process waited %s for a keyring known to hang (limit %s)", d, limit)
	}
	if e.warn.Len() != 0 {
		t.Errorf("warned again within the hour: %q", e.warn)
	}
}

// TestKeyringUsedNeverFallsBackToPlainText: once a keyring held the data key
// here, its failure turns caching off rather than writing plain files.
func TestKeyringUsedNeverFallsBackToPlainText(t *testing.T) {
	e := newEnv(t)
	if b := e.open(t, Auto).Backend(); b != Keyring {
		t.Fatalf("Backend() = %s", b)
	}
	e.ring.err = errors.New("org.freedesktop.Secret.Error.IsLocked")
	c := e.open(t, Auto)
	if c.Backend() != None {
		t.Fatalf("Backend() = %s, want none", c.Backend())
	}
	if !strings.Contains(e.warn.String(), "KUBEIAM_CACHE=file") || !strings.Contains(e.warn.String(), "IsLocked") {
		t.Errorf("warning = %q", e.warn)
	}
	ctx := context.Background()
	if err := c.Put(ctx, testEntry(testKey())); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, testKey().ID()+".json")); !os.IsNotExist(err) {
		t.Error("an entry was written with the keyring failing")
	}
	// Explicit keyring behaves the same even in a fresh directory.
	e2 := newEnv(t)
	e2.ring.err = errors.New("no such interface")
	if b := e2.open(t, Keyring).Backend(); b != None {
		t.Errorf("explicit keyring fell back to %s", b)
	}
	// Asked for explicitly, plain files still work.
	if b := e.open(t, File).Backend(); b != File {
		t.Errorf("explicit file backend = %s", b)
	}
}

func TestUnwritableDirTurnsCacheOff(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	warn := &bytes.Buffer{}
	c, err := Open(Options{Dir: filepath.Join(blocker, "kubeiam"), Warn: warn, ring: newFakeRing()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Backend() != None || !strings.Contains(warn.String(), "could not create cache directory") {
		t.Errorf("Backend() = %s, warning %q", c.Backend(), warn)
	}
	ctx := context.Background()
	if err := c.Put(ctx, testEntry(testKey())); err != nil {
		t.Error(err)
	}
	if e, err := c.Get(ctx, testKey()); e != nil || err != nil {
		t.Error(e, err)
	}
	unlock, err := c.Lock(ctx, testKey(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}

func TestListAndClear(t *testing.T) {
	e := newEnv(t)
	c := e.open(t, Keyring)
	ctx := context.Background()
	keys := []Key{testKey(), testKey(), testKey()}
	keys[1].Profile = "prod"
	keys[2].ClusterID = "c2"
	for _, k := range keys {
		if err := c.Put(ctx, testEntry(k)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(e.dir, "notes.json"), []byte("{}"), 0o600)
	l, err := c.List(ctx)
	if err != nil || len(l) != 3 {
		t.Fatalf("List = %d entries, %v", len(l), err)
	}
	for _, en := range l {
		if en.Token != "" || en.Credentials.SecretAccessKey != "" || en.Credentials.SessionToken != "" || en.Credentials.AccessKeyID != "" {
			t.Errorf("List leaks a secret: %+v", en)
		}
		if !en.Encrypted || !en.Credentials.Expires.Equal(t0.Add(time.Hour)) {
			t.Errorf("List entry = %+v", en)
		}
	}
	if _, err := c.Clear(ctx, "", false); err == nil {
		t.Error("Clear with no cluster ID and not all did not fail")
	}
	n, err := c.Clear(ctx, "c1", false)
	if err != nil || n != 2 {
		t.Errorf("Clear(c1) = %d, %v; want 2", n, err)
	}
	if got, _ := c.Get(ctx, keys[2]); got == nil {
		t.Error("Clear(c1) removed c2")
	}
	n, err = c.Clear(ctx, "", true)
	if err != nil || n != 1 {
		t.Errorf("Clear(all) = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "notes.json")); err != nil {
		t.Error("Clear(all) removed a file that is not an entry")
	}
}

func TestFreshness(t *testing.T) {
	k := testKey()
	min := 60 * time.Second
	mk := func(f func(*Entry)) *Entry { e := testEntry(k); e.Stored = t0; f(e); return e }
	cases := []struct {
		name        string
		e           *Entry
		now         time.Time
		token, cred bool
	}{
		{"fresh", mk(func(*Entry) {}), t0, true, true},
		{"nil", nil, t0, false, false},
		{"token nearly expired", mk(func(*Entry) {}), t0.Add(13*time.Minute + 1), false, true},
		{"token exactly 60s left", mk(func(*Entry) {}), t0.Add(13 * time.Minute), true, true},
		{"credentials expire first", mk(func(e *Entry) { e.Credentials.Expires = t0.Add(5 * time.Minute) }), t0.Add(4*time.Minute + 30*time.Second), false, false},
		{"static credentials", mk(func(e *Entry) { e.Credentials.CanExpire = false; e.Credentials.Expires = time.Time{} }), t0.Add(10 * time.Minute), true, true},
		{"no credentials", mk(func(e *Entry) { e.Credentials = nil }), t0, true, false},
		{"no token", mk(func(e *Entry) { e.Token = "" }), t0, false, true},
		{"clock jumped back an hour", mk(func(*Entry) {}), t0.Add(-time.Hour), false, false},
		{"clock jumped back 30s", mk(func(*Entry) {}), t0.Add(-30 * time.Second), true, true},
		{"token expiry beyond 15 min", mk(func(e *Entry) { e.TokenExpiry = t0.Add(20 * time.Minute) }), t0, false, true},
		{"clock jumped forward", mk(func(*Entry) {}), t0.Add(2 * time.Hour), false, false},
	}
	for _, tc := range cases {
		if got := tc.e.TokenValid(tc.now, min); got != tc.token {
			t.Errorf("%s: TokenValid = %v, want %v", tc.name, got, tc.token)
		}
		if got := tc.e.CredentialsValid(tc.now, min); got != tc.cred {
			t.Errorf("%s: CredentialsValid = %v, want %v", tc.name, got, tc.cred)
		}
	}
}

func TestLockExcludesAndTimesOut(t *testing.T) {
	e := newEnv(t)
	c := e.open(t, File)
	ctx := context.Background()
	k := testKey()
	unlock, err := c.Lock(ctx, k, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file, so a second Cache (as another
	// process would) is excluded even inside this process. It gives up at
	// its timeout (the lower end is the rule), and soon after: the slack
	// grows with an uncontended Lock of another key on this machine now.
	spare := k
	spare.ClusterID = "baseline"
	base := testwait.Baseline(3, func() {
		u, err := e.open(t, File).Lock(ctx, spare, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		u()
	})
	start := time.Now()
	if _, err := e.open(t, File).Lock(ctx, k, 150*time.Millisecond); err == nil || !strings.Contains(err.Error(), "held it for 150ms") {
		t.Errorf("second Lock = %v, want a timeout", err)
	}
	if d, limit := time.Since(start), 150*time.Millisecond+testwait.Limit(base, 20, 850*time.Millisecond, 0); d < 140*time.Millisecond || d > limit {
		t.Errorf("second Lock gave up after %s, want after 150ms and under %s", d, limit)
	}
	// Other keys are not blocked.
	other := k
	other.ClusterID = "c2"
	u2, err := e.open(t, File).Lock(ctx, other, 100*time.Millisecond)
	if err != nil {
		t.Errorf("Lock of another key: %v", err)
	} else {
		u2()
	}
	unlock()
	u3, err := e.open(t, File).Lock(ctx, k, 100*time.Millisecond)
	if err != nil {
		t.Errorf("Lock after unlock: %v", err)
	} else {
		u3()
	}
	assertMode(t, filepath.Join(e.dir, k.ID()+".lock"), 0o600)
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if d, _ := DefaultDir(); d != filepath.Join("/x/cache", "kubeiam") {
		t.Errorf("DefaultDir = %s", d)
	}
	t.Setenv("XDG_CACHE_HOME", "relative")
	t.Setenv("HOME", "/home/u")
	if d, _ := DefaultDir(); d != filepath.Join("/home/u", ".cache", "kubeiam") {
		t.Errorf("DefaultDir = %s", d)
	}
}

// Key.ID hashes what encoding/json makes of the key's fields as an untagged
// struct of strings (the IDs of entries written by earlier versions), though
// it no longer calls encoding/json.
func TestKeyIDIsTheJSONOfItsFields(t *testing.T) {
	type keyForID struct {
		ClusterID, Partition, Region, Endpoint, Profile, RoleARN, ExternalID, SessionName, Source string
	}
	for _, k := range []Key{
		{},
		{ClusterID: "c1"},
		{ClusterID: "prod<&>", Partition: "aws", Region: "us-east-1", Endpoint: "regional", Profile: "dev \"x\"",
			RoleARN: "arn:aws:iam::111122223333:role/Kube+Admin", ExternalID: "e\u2028\xff", SessionName: "s\n", Source: "env:AKIA/0123abcd"},
	} {
		b, err := json.Marshal(keyForID(k))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(append([]byte(keyIDVersion), b...))
		if got, want := k.ID(), hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%+v: ID %s, want %s", k, got, want)
		}
	}
}
