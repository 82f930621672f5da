package systemtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"

	"github.com/kubeiam/kubeiam/cache"
)

// TestLockedSecretService locks the real keyring's default collection. With
// no display the unlock prompt fails at once; on a desktop it would wait for
// the user, which the keyring timeout bounds. Either way the cache must not
// write tokens in plain text while the keyring exists, and must not hang.
//
// Locking the keyring of the session the tests run in would break other
// packages' keyring tests running in parallel, so this test starts a private
// session bus and gnome-keyring (with its own HOME, so its login keyring is a
// fresh file) and runs the real checks, lockedSecretService, inside it.
func TestLockedSecretService(t *testing.T) {
	inPrivateKeyring(t, "TestLockedSecretServiceInside")
}

// inPrivateKeyring runs the test named inside in a private session bus with
// its own unlocked gnome-keyring (its own HOME, so the login keyring is a
// fresh file), where it may lock the keyring or watch the bus without
// disturbing tests running in parallel.
func inPrivateKeyring(t *testing.T, inside string) {
	t.Helper()
	requireBus(t)
	var missing []string
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("%s not installed (Debian: apt-get install dbus gnome-keyring)", strings.Join(missing, ", "))
		if os.Getenv("KUBEIAM_TEST_KEYRING") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	home := t.TempDir()
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c",
		`echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$0" -test.run="^$1\$" -test.v -test.count=1`,
		os.Args[0], inside)
	cmd.Env = append(withoutBus(os.Environ()), "HOME="+home, "XDG_DATA_HOME="+home+"/data", "XDG_RUNTIME_DIR="+home,
		"KUBEIAM_SYSTEMTEST_PRIVATE_KEYRING=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+inside)) {
		t.Fatalf("private keyring session: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, ".go:") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

// insidePrivateKeyring skips a test meant to run only in inPrivateKeyring.
func insidePrivateKeyring(t *testing.T) {
	if os.Getenv("KUBEIAM_SYSTEMTEST_PRIVATE_KEYRING") != "1" {
		t.Skip("runs inside a private keyring session (inPrivateKeyring)")
	}
}

// TestLockedSecretServiceInside runs only inside the private session.
func TestLockedSecretServiceInside(t *testing.T) {
	insidePrivateKeyring(t)
	ctx := context.Background()
	used := t.TempDir()
	if err := openCache(t, cache.Keyring, used).Put(ctx, sampleEntry(cache.Key{ClusterID: "locked"}, "k8s-aws-v1.locked")); err != nil {
		t.Fatal(err)
	}

	lockKeyring(t)

	// The data key was read before the keyring was locked, and is held for
	// the session: hits go on, sealed, with no warning, until it lapses.
	out, stderr := runChild(t, "CHILD_DIR="+used, "CHILD_BACKEND=keyring", "CHILD_CLUSTER=locked")
	if !strings.HasPrefix(out, "keyring hit ") || !strings.HasSuffix(out, " session\n") || stderr != "" {
		t.Errorf("with the key held for the session, the child said %q, stderr %q; want a keyring hit with the session key", out, stderr)
	}
	// Once it lapses (dropped here), the locked keyring is what counts.
	if err := cache.DropSessionKey(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, dir, backend, want, warn string
	}{
		{"dir that used the keyring", used, "auto", "none miss", "unlock the keyring"},
		{"fresh dir", t.TempDir(), "auto", "none miss", "unlock the keyring"},
		{"explicit keyring", t.TempDir(), "keyring", "none miss", "never falls back"},
		{"explicit file", t.TempDir(), "file", "file miss", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "KUBEIAM_SYSTEMTEST_CHILD=nobus", "CHILD_DIR="+tc.dir, "CHILD_BACKEND="+tc.backend,
				"CHILD_CLUSTER=locked", "CHILD_PUT=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v\n%s", err, &stderr)
			}
			if f := strings.Fields(string(out)); len(f) >= 3 {
				if d, err := time.ParseDuration(f[2]); err != nil || d > 2500*time.Millisecond {
					t.Errorf("open + Get took %s (%v)", f[2], err)
				}
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("child ran %s", took)
			}
			if !strings.HasPrefix(string(out), tc.want) {
				t.Errorf("child said %q, want %q; stderr %s", out, tc.want, &stderr)
			}
			if tc.warn != "" && !strings.Contains(stderr.String(), tc.warn) {
				t.Errorf("stderr %q, want a warning with %q", &stderr, tc.warn)
			}
			if tc.backend != "file" {
				if b, _ := os.ReadFile(tc.dir + "/" + cache.Key{ClusterID: "locked"}.ID() + ".json"); bytes.Contains(b, []byte("k8s-aws-v1.child")) {
					t.Error("a token was written in plain text while the keyring was locked")
				}
			}
		})
	}
}

// unlockCollection unlocks without a prompt through gnome-keyring's own
// interface, with the password the test setup unlocked it with.
func unlockCollection(t *testing.T, svc dbus.BusObject, coll dbus.ObjectPath) {
	const pw = "pw" // what TestLockedSecretService unlocked it with
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		t.Errorf("could not open a session to unlock %s: %v", coll, err)
		return
	}
	secret := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(pw), "text/plain"}
	if err := svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0, coll, secret).Err; err != nil {
		t.Errorf("could not unlock %s again: %v", coll, err)
	}
}
