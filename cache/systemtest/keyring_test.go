package systemtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/seccomptest"
)

// TestSecretService stores an entry through the real Secret Service and
// reads it back from a second Cache, as the next kubectl call would.
func TestSecretService(t *testing.T) {
	requireBus(t)
	dir := t.TempDir()
	ctx := context.Background()
	k := cache.Key{ClusterID: "systemtest", Region: "eu-west-1", Source: "env:AKIABASEKEY"}
	// A 2.7 KB token: too big for an item in the macOS or Windows keyring,
	// fine here because only the data key lives in the keyring.
	token := "k8s-aws-v1." + strings.Repeat("t", 2700)

	c := openCache(t, cache.Keyring, dir)
	if c.Backend() != cache.Keyring {
		t.Fatalf("Backend() = %s, want keyring: is gnome-keyring running and unlocked? (a login keyring left in $XDG_DATA_HOME/keyrings by an earlier run with another password stays locked)", c.Backend())
	}
	if err := c.Put(ctx, sampleEntry(k, token)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, k.ID()+".json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{token[:40], "SECRET-ACCESS-KEY", "SECRET-SESSION-TOKEN", "ASIASYSTEMTEST\""} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("entry file holds %q in the clear", s)
		}
	}

	start := time.Now()
	c2 := openCache(t, cache.Auto, dir)
	got, err := c2.Get(ctx, k)
	took := time.Since(start)
	if err != nil || got == nil {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if got.Token != token || !got.Encrypted || got.Credentials.SessionToken != "SECRET-SESSION-TOKEN" {
		t.Errorf("Get = %+v", got)
	}
	t.Logf("open + Get through Secret Service (bus connection already open): %s", took)

	// Another client of the Secret Service sees the data key item.
	if path, err := exec.LookPath("secret-tool"); err == nil {
		out, err := exec.Command(path, "lookup", "service", "kubeiam", "username", "cache-data-key").Output()
		if err != nil || len(bytes.TrimSpace(out)) != 44 {
			t.Errorf("secret-tool lookup = %q, %v; want the base64 data key", out, err)
		}
	}
}

// TestSecretServiceRoundTripTime measures a whole cached call's keyring part
// in a fresh process: bus connect, auth, one item lookup and read.
func TestSecretServiceRoundTripTime(t *testing.T) {
	requireBus(t)
	dir := t.TempDir()
	ctx := context.Background()
	k := cache.Key{ClusterID: "systemtest-rtt"}
	if err := openCache(t, cache.Keyring, dir).Put(ctx, sampleEntry(k, "k8s-aws-v1.rtt")); err != nil {
		t.Fatal(err)
	}
	const runs = 10
	var total time.Duration
	for i := 0; i < runs; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "KUBEIAM_SYSTEMTEST_CHILD=nobus", "CHILD_DIR="+dir, "CHILD_BACKEND=keyring", "CHILD_CLUSTER=systemtest-rtt",
			"CHILD_NO_SESSION_KEY=1") // the keyring itself, not the copy held for the session
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		d, err := time.ParseDuration(strings.Fields(string(out))[2])
		if err != nil || !strings.HasPrefix(string(out), "keyring hit ") {
			t.Fatalf("child said %q", out)
		}
		total += d
	}
	t.Logf("keyring round trip in a fresh process (open + Get, mean of %d): %s", runs, total/runs)
}

// TestNoBusFallsBack: with the bus address pointing at a dead socket, or at
// a socket that accepts and never answers, the auto backend ends up on files
// within the keyring timeout, and caching still works.
func TestNoBusFallsBack(t *testing.T) {
	hung := filepath.Join(t.TempDir(), "hung.sock")
	stop := hangingSocket(t, hung)
	defer stop()
	for _, tc := range []struct{ name, addr, wantWarn string }{
		{"dead socket", "unix:path=" + filepath.Join(t.TempDir(), "nobody-listens"), ""},
		{"hanging bus", "unix:path=" + hung, "did not answer within"},
		{"no address", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for round, wantHit := range []bool{false, true} {
				start := time.Now()
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(withoutBus(os.Environ()), "KUBEIAM_SYSTEMTEST_CHILD=nobus", "CHILD_DIR="+dir, "CHILD_BACKEND=auto",
					"CHILD_CLUSTER=nobus", "CHILD_PUT=1", "DBUS_SESSION_BUS_ADDRESS="+tc.addr,
					// An empty runtime dir keeps godbus from finding a real bus.
					"XDG_RUNTIME_DIR="+t.TempDir())
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				took := time.Since(start)
				if err != nil {
					t.Fatalf("round %d: %v\n%s%s", round, err, out, &stderr)
				}
				// The child's own Open + Get is bounded by the 2 s keyring
				// timeout; the process as a whole gets slack for slow CI.
				if f := strings.Fields(string(out)); len(f) == 3 {
					if d, err := time.ParseDuration(f[2]); err != nil || d > 2500*time.Millisecond {
						t.Errorf("round %d: open + Get took %s (%v)", round, f[2], err)
					}
				}
				if took > 15*time.Second {
					t.Errorf("round %d: child ran %s", round, took)
				}
				want := "file miss"
				if wantHit {
					want = "file hit"
				}
				if !strings.HasPrefix(string(out), want) {
					t.Errorf("round %d: child said %q, want %q; stderr %s", round, out, want, &stderr)
				}
				if round == 0 && tc.wantWarn != "" && !strings.Contains(stderr.String(), tc.wantWarn) {
					t.Errorf("round %d: stderr %q, want a warning with %q", round, &stderr, tc.wantWarn)
				}
				if round == 0 && tc.wantWarn == "" && stderr.Len() != 0 {
					t.Errorf("warned without any keyring: %q", &stderr)
				}
				if round == 1 && stderr.Len() != 0 {
					t.Errorf("warned again within the hour: %q", &stderr)
				}
				t.Logf("%s, round %d: %s in %s", tc.name, round, strings.TrimSpace(string(out)), took)
			}
		})
	}
}

func withoutBus(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "DBUS_SESSION_BUS_ADDRESS=") && !strings.HasPrefix(e, "XDG_RUNTIME_DIR=") {
			out = append(out, e)
		}
	}
	return out
}

// noBusChild opens the cache, reports the backend, hit or miss, the time
// it took and where the data key came from, and stores an entry on a miss
// when CHILD_PUT is set. CHILD_NO_SESSION_KEY=1 reads the key from the
// keyring; CHILD_DENY_KEYCTL=1 runs with keyctl refused, as in a container.
func noBusChild() int {
	ctx := context.Background()
	b, err := cache.ParseBackend(os.Getenv("CHILD_BACKEND"))
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 3
	}
	if os.Getenv("CHILD_DENY_KEYCTL") == "1" {
		if err := seccomptest.DenyKeyctl(); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			return 3
		}
	}
	start := time.Now()
	c, err := cache.Open(cache.Options{Backend: b, Dir: os.Getenv("CHILD_DIR"), Warn: os.Stderr,
		NoSessionKey: os.Getenv("CHILD_NO_SESSION_KEY") == "1"})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 3
	}
	k := cache.Key{ClusterID: os.Getenv("CHILD_CLUSTER")}
	e, err := c.Get(ctx, k)
	took := time.Since(start)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 3
	}
	result := "miss"
	if e != nil {
		result = "hit"
	} else if os.Getenv("CHILD_PUT") != "" {
		if err := c.Put(ctx, sampleEntry(k, "k8s-aws-v1.child")); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			return 3
		}
	}
	src := c.KeySource()
	if src == "" {
		src = "-"
	}
	os.Stdout.WriteString(string(c.Backend()) + " " + result + " " + took.String() + " " + src + "\n")
	return 0
}
