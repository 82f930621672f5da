package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

// TestTokenLockedKeyringWarnsEveryCall runs kubeiam against a real
// gnome-keyring in a private session bus, locks the keyring, and calls
// `kubeiam token` with --cache=keyring and the auto backend in turns. Asked
// for by name, the keyring's failure is reported on every call (once: not
// by the front and again by kubeiam-core); auto's warning stays hourly; and
// every call still prints a token.
func TestTokenLockedKeyringWarnsEveryCall(t *testing.T) {
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
	kubeiam := kubeiamCmd(t, nil, "token").Path
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c", script)
	for _, kv := range append(cleanEnv(), cc.env...) {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") && !strings.HasPrefix(kv, "KUBEIAM_CACHE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home, "XDG_DATA_HOME="+home+"/data", "XDG_RUNTIME_DIR="+home, "K="+kubeiam, "OUT="+out)
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
