package systemtest

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/cache"
)

// The test binary doubles as the child process of the herd and no-bus tests:
// with KUBEIAM_SYSTEMTEST_CHILD set it runs one role and exits.
func TestMain(m *testing.M) {
	switch os.Getenv("KUBEIAM_SYSTEMTEST_CHILD") {
	case "":
		os.Exit(m.Run())
	case "herd":
		os.Exit(herdChild())
	case "nobus":
		os.Exit(noBusChild())
	default:
		fmt.Fprintln(os.Stderr, "unknown child role")
		os.Exit(3)
	}
}

// requireBus skips without a session bus, or fails when CI demands the
// keyring tests run.
func requireBus(t *testing.T) {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return
	}
	msg := "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is empty); run under dbus-run-session with gnome-keyring unlocked, see doc_test.go"
	if os.Getenv("KUBEIAM_TEST_KEYRING") == "1" {
		t.Fatal(msg + " — KUBEIAM_TEST_KEYRING=1 requires these tests")
	}
	t.Skip(msg)
}

func openCache(t testing.TB, b cache.Backend, dir string) *cache.Cache {
	t.Helper()
	c, err := cache.Open(cache.Options{Backend: b, Dir: dir, Warn: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sampleEntry(k cache.Key, token string) *cache.Entry {
	now := time.Now()
	return &cache.Entry{
		Key:         k,
		Token:       token,
		TokenExpiry: now.Add(14 * time.Minute),
		Credentials: &cache.Credentials{AccessKeyID: "ASIASYSTEMTEST", SecretAccessKey: "SECRET-ACCESS-KEY",
			SessionToken: "SECRET-SESSION-TOKEN", CanExpire: true, Expires: now.Add(time.Hour)},
	}
}
