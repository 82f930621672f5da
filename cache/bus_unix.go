//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package cache

import (
	"os"
	"strconv"
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
