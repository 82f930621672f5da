package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWarningsPerCause: each cause has its own hourly limit, so one warning
// does not silence another kind of trouble.
func TestWarningsPerCause(t *testing.T) {
	e := newEnv(t)
	c := e.open(t, File)
	c.warn("a", "first a")
	c.warn("b", "first b")
	c.warn("a", "second a")
	if got := e.warn.String(); !strings.Contains(got, "first a") || !strings.Contains(got, "first b") || strings.Contains(got, "second a") {
		t.Errorf("warnings %q", got)
	}
	// Other processes share the limits through the state file.
	e.warn.Reset()
	e.now = e.now.Add(59 * time.Minute)
	e.open(t, File).warn("b", "b again")
	if e.warn.Len() != 0 {
		t.Errorf("warned within the hour: %q", e.warn)
	}
	e.now = e.now.Add(2 * time.Minute)
	e.open(t, File).warn("b", "b again")
	if !strings.Contains(e.warn.String(), "b again") {
		t.Errorf("no warning after an hour: %q", e.warn)
	}
}

// TestExplicitKeyringAlwaysWarns: with --cache=keyring a failing keyring
// is reported on every call, whatever auto said a moment ago; auto's own
// warning stays hourly.
func TestExplicitKeyringAlwaysWarns(t *testing.T) {
	e := newEnv(t)
	if b := e.open(t, Auto).Backend(); b != Keyring {
		t.Fatalf("Backend() = %s", b)
	}
	e.ring.err = errors.New("org.freedesktop.Secret.Error.IsLocked")
	if b := e.open(t, Auto).Backend(); b != None || !strings.Contains(e.warn.String(), "unlock the keyring") {
		t.Fatalf("auto: Backend() = %s, warning %q", b, e.warn)
	}
	for i := range 5 {
		e.warn.Reset()
		e.now = e.now.Add(time.Minute)
		if b := e.open(t, Keyring).Backend(); b != None {
			t.Fatalf("Backend() = %s", b)
		}
		if !strings.Contains(e.warn.String(), "the keyring backend never falls back") {
			t.Errorf("call %d: no warning: %q", i+1, e.warn)
		}
	}
	e.warn.Reset()
	if e.open(t, Auto).Backend(); e.warn.Len() != 0 {
		t.Errorf("auto warned again within the hour: %q", e.warn)
	}
}

// TestHeldWarnings: the front holds warnings back and prints them only when
// it answers; otherwise kubeiam-core, which opens the same cache, says them,
// and the hourly limit must not have been used up by the front.
func TestHeldWarnings(t *testing.T) {
	e := newEnv(t)
	open := func(hold bool) *Cache {
		c, err := Open(Options{Backend: File, Dir: e.dir, Warn: e.warn, HoldWarnings: hold, Now: func() time.Time { return e.now }, ring: e.ring})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	front := open(true)
	front.warn("cause", "held")
	if e.warn.Len() != 0 {
		t.Fatalf("a held warning was printed: %q", e.warn)
	}
	open(false).warn("cause", "from the core")
	if !strings.Contains(e.warn.String(), "from the core") {
		t.Errorf("the core's warning was rate-limited by the front's held one: %q", e.warn)
	}
	e.warn.Reset()
	e.now = e.now.Add(2 * time.Hour)
	front = open(true)
	front.warn("cause", "held")
	front.FlushWarnings()
	if !strings.Contains(e.warn.String(), "held") {
		t.Errorf("FlushWarnings printed %q", e.warn)
	}
}

// TestWriteFailureWarnsHourly: a Put that cannot write says why, once an
// hour per cause, and leaves the old entry.
func TestWriteFailureWarnsHourly(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only directories; see TestFullDiskWarnsHourly")
	}
	e := newEnv(t)
	c := e.open(t, File)
	ctx := context.Background()
	if err := c.Put(ctx, testEntry(testKey())); err != nil {
		t.Fatal(err)
	}
	os.Chmod(e.dir, 0o500)
	t.Cleanup(func() { os.Chmod(e.dir, 0o700) })
	for range 3 {
		if err := e.open(t, File).Put(ctx, testEntry(testKey())); err == nil {
			t.Fatal("Put into a read-only directory succeeded")
		}
	}
	if n := strings.Count(e.warn.String(), "could not write cache entry"); n != 1 {
		t.Errorf("%d warnings: %q", n, e.warn)
	}
	if _, err := os.Stat(filepath.Join(e.dir, testKey().ID()+".json")); err != nil {
		t.Error(err)
	}
}
