//go:build !linux

package cache

// Outside Linux there is no kernel keyring: the data key is read from the
// OS keyring by every process (on macOS go-keyring runs /usr/bin/security,
// a process start plus a Keychain lookup, per read; see README). A per-user
// agent holding it in memory is the planned alternative.
func defaultSessionStore() sessionStore { return nil }
