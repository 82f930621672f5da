//go:build !unix

package front

import (
	"errors"
	"os"
	"os/exec"
)

// execve runs the core as a child where exec(2) does not exist (Windows)
// and exits with its code.
func execve(path string, args []string) error {
	cmd := exec.Command(path, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		return err
	}
	os.Exit(0)
	return nil
}
