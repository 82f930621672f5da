//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package cache

import (
	"errors"

	"github.com/zalando/go-keyring"
)

// sessionBusKnown is true where the keyring is not reached through D-Bus
// (macOS Keychain, Windows Credential Manager); go-keyring answers
// "unsupported" quickly on the rest.
func sessionBusKnown() bool { return true }

// keyringAbsent: the Keychain and the Credential Manager are always there;
// only an unsupported platform has no keyring at all.
func keyringAbsent(err error) bool { return errors.Is(err, keyring.ErrUnsupportedPlatform) }
