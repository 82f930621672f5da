package systemtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/cache"
)

// TestHerd starts N processes at once against a cold cache, each doing what
// `kubeiam token` does: Get, and on a miss Lock, Get again, refresh, Put.
// Exactly one may refresh, and all must print the same token.
func TestHerd(t *testing.T) {
	backends := []cache.Backend{cache.File}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" || os.Getenv("KUBEIAM_TEST_KEYRING") == "1" {
		backends = append(backends, cache.Keyring)
	}
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			if b == cache.Keyring {
				requireBus(t)
			}
			const n = 16
			dir := t.TempDir()
			refreshes := filepath.Join(t.TempDir(), "refreshes")
			gate := filepath.Join(t.TempDir(), "go")
			ready := t.TempDir()
			outs := make([]bytes.Buffer, n)
			errs := make([]bytes.Buffer, n)
			cmds := make([]*exec.Cmd, n)
			for i := range cmds {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), "KUBEIAM_SYSTEMTEST_CHILD=herd", "CHILD_DIR="+dir, "CHILD_BACKEND="+string(b),
					"CHILD_REFRESHES="+refreshes, "CHILD_GATE="+gate, "CHILD_READY="+ready)
				cmd.Stdout, cmd.Stderr = &outs[i], &errs[i]
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds[i] = cmd
			}
			// Let all children get ready (each says so with a file in ready/)
			// before any looks at the cache, so they really race instead of
			// finding a warm cache one by one.
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				names, _ := os.ReadDir(ready)
				if len(names) == n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d children ready after 30s", len(names), n)
				}
			}
			os.WriteFile(gate, nil, 0o600)
			var wg sync.WaitGroup
			for i, cmd := range cmds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := cmd.Wait(); err != nil {
						t.Errorf("child %d: %v\n%s", i, err, &errs[i])
					}
				}()
			}
			wg.Wait()
			got, _ := os.ReadFile(refreshes)
			if c := strings.Count(string(got), "refresh\n"); c != 1 {
				t.Errorf("%d refreshes for %d cold processes, want exactly 1", c, n)
			}
			first := strings.TrimSpace(outs[0].String())
			if !strings.HasPrefix(first, "k8s-aws-v1.herd-") {
				t.Fatalf("child 0 printed %q", first)
			}
			for i := range outs {
				if s := strings.TrimSpace(outs[i].String()); s != first {
					t.Errorf("child %d printed %q, child 0 %q", i, s, first)
				}
			}
		})
	}
}

func herdChild() int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, err); return 3 }
	if err := os.WriteFile(filepath.Join(os.Getenv("CHILD_READY"), strconv.Itoa(os.Getpid())), nil, 0o600); err != nil {
		return fail(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := os.Stat(os.Getenv("CHILD_GATE")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("gate never opened"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx := context.Background()
	b, _ := cache.ParseBackend(os.Getenv("CHILD_BACKEND"))
	c, err := cache.Open(cache.Options{Backend: b, Dir: os.Getenv("CHILD_DIR"), Warn: os.Stderr})
	if err != nil {
		return fail(err)
	}
	if c.Backend() != b {
		return fail(fmt.Errorf("backend %s, want %s", c.Backend(), b))
	}
	k := cache.Key{ClusterID: "herd", Region: "eu-west-1"}
	const minLeft = time.Minute
	e, _ := c.Get(ctx, k)
	if !e.TokenValid(time.Now(), minLeft) {
		unlock, err := c.Lock(ctx, k, 20*time.Second)
		if err != nil {
			return fail(err)
		}
		defer unlock()
		e, _ = c.Get(ctx, k)
		if !e.TokenValid(time.Now(), minLeft) {
			// The "STS call": counted, and slow enough for the herd to pile up.
			f, err := os.OpenFile(os.Getenv("CHILD_REFRESHES"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			if err != nil {
				return fail(err)
			}
			f.WriteString("refresh\n")
			f.Close()
			time.Sleep(300 * time.Millisecond)
			e = sampleEntry(k, "k8s-aws-v1.herd-"+strconv.Itoa(os.Getpid()))
			if err := c.Put(ctx, e); err != nil {
				return fail(err)
			}
		}
	}
	fmt.Println(e.Token)
	return 0
}
