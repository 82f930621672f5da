//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package cache

import (
	"errors"
	"net"
	"syscall"
	"testing"

	dbus "github.com/godbus/dbus/v5"
)

// TestFallbackClasses: plain files only where there is no keyring at all.
func TestFallbackClasses(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Backend
		warn bool
	}{
		{"nothing behind the bus address", &net.OpError{Op: "dial", Net: "unix", Err: syscall.ENOENT}, File, false},
		{"no Secret Service on the bus", dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}, File, false},
		{"locked keyring", errors.New("failed to unlock correct collection '/org/freedesktop/secrets/collection/login'"), None, true},
		{"prompt dismissed", dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked"}, None, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.ring.err = tc.err
			if got := e.open(t, Auto).Backend(); got != tc.want {
				t.Errorf("Backend() = %s, want %s", got, tc.want)
			}
			if got := e.warn.Len() != 0; got != tc.warn {
				t.Errorf("warned = %v, want %v: %q", got, tc.warn, e.warn)
			}
		})
	}
}
