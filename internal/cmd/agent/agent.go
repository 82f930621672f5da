// Package agent implements the hidden `kubeiam agent`, which the cache
// starts by itself (see internal/agent); users never run it.
package agent

import (
	"errors"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/agent"
)

// handoffFD is where the starter puts the pipe carrying the first PUT.
const handoffFD = 3

// NewCmd builds `kubeiam agent [--handoff] SOCKET`.
func NewCmd() *cobra.Command {
	var handoff bool
	cmd := &cobra.Command{
		Use:    "agent [--handoff] SOCKET",
		Short:  "Hold the cache's data key for the login session (started by kubeiam itself)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader
			if handoff {
				f := os.NewFile(handoffFD, "handoff")
				defer f.Close()
				r = f
			}
			err := agent.Run(args[0], r)
			if errors.Is(err, agent.ErrRunning) {
				return nil // a second start sees the first and leaves
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&handoff, "handoff", false, "read the first PUT from file descriptor 3")
	return cmd
}
