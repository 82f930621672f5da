package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

// TestTokenLockedKeyringWarnsEveryCall runs kubeiam against a real
// gnome-keyring in a private session bus, locks the keyring, and calls
// `kubeiam token` with --cache=keyring and the auto backend in turns. Asked
// for by name, the keyring's failure is reported on every call (once: not
// by the front and again by kubeiam-core); auto's warning stays hourly; and
// every call still prints a token.
func TestTokenLockedKeyringWarnsEveryCall(t *testing.T) {
	requireKeyringTools(t)
	rig := ststest.Start(t, ststest.Options{})
	cc := newCacheCase(t, rig)
	home, out := t.TempDir(), t.TempDir()
	backends := []string{"keyring", "auto", "keyring", "auto", "keyring", "keyring", "keyring"}
	script := `set -e
echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$K" token -i c1 --token-only --cache=keyring >/dev/null 2>"$OUT/first.err"
dbus-send --session --dest=org.freedesktop.secrets --print-reply /org/freedesktop/secrets \
	org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/aliases/default >/dev/null
i=0
for b in ` + strings.Join(backends, " ") + `; do
	"$K" token -i c1 --token-only --cache=$b >"$OUT/$i.out" 2>"$OUT/$i.err"
	i=$((i+1))
done`
	// The key held for the session would keep the cache working after the
	// lock (TestTokenSessionKey); this test is about the keyring itself.
	cmd := privateKeyringScript(t, cc, script, home, out, "KUBEIAM_SESSION_KEY=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		first, _ := os.ReadFile(filepath.Join(out, "first.err"))
		t.Fatalf("%v\n%s\nfirst call: %s", err, b, first)
	}
	autoWarnings := 0
	for i, b := range backends {
		stdout, _ := os.ReadFile(filepath.Join(out, strconv.Itoa(i)+".out"))
		stderr, _ := os.ReadFile(filepath.Join(out, strconv.Itoa(i)+".err"))
		whoami(t, rig, strings.TrimSpace(string(stdout)), "c1")
		warnings := strings.Count(string(stderr), "warning: token cache:")
		switch b {
		case "keyring":
			if warnings != 1 || !strings.Contains(string(stderr), "the keyring backend never falls back") {
				t.Errorf("call %d (--cache=keyring): %d warnings:\n%s", i+1, warnings, stderr)
			}
		case "auto":
			autoWarnings += warnings
		}
	}
	if autoWarnings != 1 {
		t.Errorf("the auto backend warned %d times in 2 calls within the hour, want 1", autoWarnings)
	}
}

// privateKeyringScript is a shell script run in a private session bus, with
// $K the kubeiam front, $OUT a directory for its results, the cache case's
// environment (its bus and cache backend left out) and extra.
func privateKeyringScript(t *testing.T, cc *cacheCase, script, home, out string, extra ...string) *exec.Cmd {
	t.Helper()
	kubeiam := kubeiamCmd(t, nil, "token").Path
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c", script)
	for _, kv := range append(cleanEnv(), cc.env...) {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") && !strings.HasPrefix(kv, "KUBEIAM_CACHE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home, "XDG_DATA_HOME="+home+"/data", "XDG_RUNTIME_DIR="+home, "K="+kubeiam, "OUT="+out)
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

// requireKeyringTools skips without the tools of a private keyring session,
// or fails when CI demands the keyring tests (KUBEIAM_TEST_KEYRING=1).
func requireKeyringTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon", "dbus-send"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := strings.Join(missing, ", ") + " not installed (Debian: apt-get install dbus gnome-keyring)"
		if os.Getenv("KUBEIAM_TEST_KEYRING") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// TestTokenSessionKey runs kubeiam against a real gnome-keyring in a private
// session bus. After the first call read the data key, a hit is answered
// with the key held in the kernel keyring, byte for byte what the keyring
// path answers; with keyctl refused (seccomp, as in a container) the keyring
// path or the kubeiam agent answers; after the keyring is locked the held key still answers,
// without a warning. Each within 50 ms of the keyring path.
func TestTokenSessionKey(t *testing.T) {
	requireKeyringTools(t)
	if err := seccompAvailable(); err != nil {
		t.Skip(err)
	}
	rig := ststest.Start(t, ststest.Options{})
	cc := newCacheCase(t, rig)
	home, out := t.TempDir(), t.TempDir()
	calls := []string{"dbus", "session", "denied", "locked"}
	script := `set -e
echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
call() { name=$1; shift; s=$(date +%s%N); "$@" "$K" token -i c1 -v >"$OUT/$name.out" 2>"$OUT/$name.err"; echo $(( ($(date +%s%N)-s)/1000 )) >"$OUT/$name.us"; }
call first env
for i in 1 2 3 4 5; do
	call dbus$i env KUBEIAM_SESSION_KEY=off
	call session$i env
	call denied$i env KUBEIAM_TEST_DENY_KEYCTL=1
done
dbus-send --session --dest=org.freedesktop.secrets --print-reply /org/freedesktop/secrets \
	org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/aliases/default >/dev/null
for i in 1 2 3 4 5; do call locked$i env; done
"$K" cache clear --all >/dev/null # leaves no key in the kernel keyring`
	cmd := privateKeyringScript(t, cc, script, home, out, "KUBEIAM_CACHE=keyring")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	read := func(name, ext string) string {
		b, _ := os.ReadFile(filepath.Join(out, name+"."+ext))
		return string(b)
	}
	// Five calls of each kind (interleaved, but for the locked keyring's);
	// their medians are compared, as single process starts vary too much.
	took := func(kind string) time.Duration {
		var ds []time.Duration
		for i := 1; i <= 5; i++ {
			us, _ := strconv.Atoi(strings.TrimSpace(read(kind+strconv.Itoa(i), "us")))
			ds = append(ds, time.Duration(us)*time.Microsecond)
		}
		slices.Sort(ds)
		return ds[2]
	}
	var cred execCredential
	if err := json.Unmarshal([]byte(read("first", "out")), &cred); err != nil {
		t.Fatalf("first call: %v\n%s", err, read("first", "err"))
	}
	whoami(t, rig, cred.Status.Token, "c1")
	wantErr := map[string][]string{
		"dbus":    {"cached token (keyring backend, data key read from the keyring)"},
		"session": {"cached token (keyring backend, data key held for the session)"},
		// keyctl refused: the first such call reads the keyring and starts
		// the kubeiam agent, later ones get the key from it (TestTokenAgent).
		"denied": {"cached token (keyring backend, data key "},
		"locked": {"cached token (keyring backend, data key held for the session)"},
	}
	for _, c := range calls {
		for i := 1; i <= 5; i++ {
			name := c + strconv.Itoa(i)
			if read(name, "out") != read("first", "out") {
				t.Errorf("%s: output differs from the first call's:\n%s\n%s", name, read(name, "out"), read("first", "out"))
			}
			for _, w := range wantErr[c] {
				if !strings.Contains(read(name, "err"), w) {
					t.Errorf("%s: stderr %q, want %q", name, read(name, "err"), w)
				}
			}
			if strings.Contains(read(name, "err"), "warning") {
				t.Errorf("%s: %s", name, read(name, "err"))
			}
		}
		if c != "dbus" && took(c) > took("dbus")+slackOver(took("dbus")) {
			t.Errorf("%s took %s (median), more than %s over the keyring path's %s", c, took(c), slackOver(took("dbus")), took("dbus"))
		}
	}
	t.Logf("one call, median of 5: keyring path %s, session-held key %s, keyctl denied %s, keyring locked %s",
		took("dbus"), took("session"), took("denied"), took("locked"))
	entries, _ := filepath.Glob(filepath.Join(cc.dir(), "*.json"))
	for _, e := range entries {
		if b, _ := os.ReadFile(e); strings.Contains(string(b), "k8s-aws-v1.") {
			t.Errorf("%s holds a token in the clear", e)
		}
	}
}

// seccompAvailable tells whether a child can be run with keyctl denied.
func seccompAvailable() error {
	if runtime.GOARCH != "amd64" {
		return errors.New("the keyctl seccomp filter is written for amd64")
	}
	return nil
}
