package cache

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzEntryFile writes arbitrary bytes where an entry belongs: Get and List
// must not panic, and anything they return must belong to the requested key.
// (That Put replaces any such file is TestCorruptEntryIsMissAndReplaced's.)
func FuzzEntryFile(f *testing.F) {
	k := testKey()
	good, _ := json.Marshal(fileEntry{Version: fileVersion, Key: k, Stored: t0, TokenExpiry: t0.Add(14 * time.Minute),
		Plain: &record{Key: k, Stored: t0, Token: "k8s-aws-v1.x", TokenExpiry: t0.Add(14 * time.Minute)}})
	f.Add(good)
	f.Add([]byte(`{"version":1,"plain":{"key":{"clusterID":"c1"},"token":"k8s-aws-v1.x"}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"sealed":{"keyID":"","nonce":"","data":""}}`))
	f.Add([]byte("\x00\xff"))
	f.Add([]byte{})
	dir := filepath.Join(f.TempDir(), "kubeiam")
	c, err := Open(Options{Backend: File, Dir: dir, Now: func() time.Time { return t0 }, ring: newFakeRing()})
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(dir, k.ID()+".json")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if e, _ := c.Get(ctx, k); e != nil && e.Key != k {
			t.Fatalf("Get returned an entry for %+v", e.Key)
		}
		if l, _ := c.List(ctx); len(l) > 1 || len(l) == 1 && l[0].Key != k {
			t.Fatalf("List shows %+v for one file", l)
		}
	})
}
