//go:build !linux && !darwin

package cache

import "time"

// Elsewhere nothing holds the key for the session. On Windows go-keyring's
// read is CredReadW, an in-process call to the Credential Manager with no
// process start and no bus round trip, so an agent would save little
// (README, "Keyring design"); the BSDs have no agent build.
func defaultSessionStore() sessionStore { return nil }

func startAgent(*AgentCommand, string, []byte, time.Duration) error { return ErrSessionKeyUnsupported }
