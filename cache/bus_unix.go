//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package cache

import (
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"

	dbus "github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// sessionBusKnown tells whether go-keyring can find a D-Bus session bus
// without autolaunching one. With no address, godbus runs dbus-launch, which
// starts a bus daemon that outlives the process: one leaked daemon per kubectl
// call on a headless host. The checks mirror godbus's own discovery.
func sessionBusKnown() bool {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return true
	}
	run := "/run/user/" + strconv.Itoa(os.Getuid())
	for _, p := range []string{run + "/bus", run + "/dbus-session"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// keyringAbsent tells errors meaning "there is no keyring here" — the bus
// address leads nowhere, or no Secret Service is on the bus — from errors of
// a keyring that exists but refuses (locked, prompt dismissed). Only the
// former may fall back to plain files.
func keyringAbsent(err error) bool {
	var de dbus.Error
	if errors.As(err, &de) {
		switch de.Name {
		case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
			return true
		}
		return false
	}
	var ne *net.OpError
	return errors.As(err, &ne) || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, keyring.ErrUnsupportedPlatform)
}
