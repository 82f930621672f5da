package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
)

// UserShell is the shell to run when the user named no command: $SHELL,
// else the system's default.
func UserShell(getenv func(string) string) string { return defaultShell(getenv) }

// Foreground runs cmd as the user's command in kubeiam's place: the
// signals that end a process are passed on to it, and on Linux it gets
// SIGHUP if kubeiam dies first. ended, when set, runs once the command has
// ended and before its status is read. It returns the command's exit code
// (128+N when signal N ended it, as shells report it); err only when it
// could not run.
func Foreground(cmd *exec.Cmd, ended func()) (int, error) {
	cmd.SysProcAttr = childAttr()
	// Linux sends Pdeathsig when the thread that started the child ends,
	// not the process: the runtime ends a thread whose goroutine exits
	// while locked to it, and that thread could have been this one after
	// the goroutine moved. Holding this goroutine on its thread until the
	// child is reaped keeps the thread, so SIGHUP comes only when kubeiam
	// dies (os/exec and syscall document the same pairing).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("could not run %s: %w", cmd.Args[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				if !deliveredByTerminal(sig) {
					cmd.Process.Signal(sig)
				}
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if ended != nil {
		ended()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if n, ok := signalNumber(ee); ok {
			return 128 + n, nil
		}
		return ee.ExitCode(), nil
	}
	return 0, err
}
