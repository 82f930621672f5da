//go:build !(linux || darwin)

package agent

import (
	"errors"
	"io"
)

// ErrRunning: another agent already serves this socket.
var ErrRunning = errors.New("another kubeiam agent serves this socket")

// Run: the agent is built for Linux and macOS only. On Windows the
// Credential Manager read is an in-process call, so there is nothing for an
// agent to save (README, "Keyring design").
func Run(socket string, handoff io.Reader) error {
	return errors.New("the kubeiam agent is not built for this platform")
}
