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

// Signals holds the signals that end a process, from Catch until Stop, for
// Foreground to pass on. A caller that makes something to clean up before
// the command starts (kubeiam shell's session file) catches first: a
// signal that arrives in between no longer ends kubeiam with the file left
// behind; it waits and is passed on as soon as the command has started.
type Signals struct {
	c       chan os.Signal
	started bool // Foreground started the command: it had the signals
}

// Catch starts holding the signals Foreground passes on.
func Catch() *Signals {
	s := &Signals{c: make(chan os.Signal, 4)}
	signal.Notify(s.c, forwarded...)
	return s
}

// Stop ends the catch: the signals act as before Catch. When no command
// was started (the session could not be made, the command could not
// run), a signal held meanwhile is raised again, so it acts now as it
// would have without the catch instead of being lost.
func (s *Signals) Stop() {
	signal.Stop(s.c)
	if s.started {
		return
	}
	for {
		select {
		case sig := <-s.c:
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				p.Signal(sig)
			}
		default:
			return
		}
	}
}

// Foreground runs cmd as the user's command in kubeiam's place: the
// signals that end a process are passed on to it (those held by sigs since
// its Catch included; nil catches from here), and on Linux it gets SIGHUP
// if kubeiam dies first. ended, when set, runs once the command has ended
// and before its status is read. It returns the command's exit code
// (128+N when signal N ended it, as shells report it); err only when it
// could not run.
func Foreground(cmd *exec.Cmd, sigs *Signals, ended func()) (int, error) {
	cmd.SysProcAttr = childAttr()
	// Linux sends Pdeathsig when the thread that started the child ends,
	// not the process: the runtime ends a thread whose goroutine exits
	// while locked to it, and that thread could have been this one after
	// the goroutine moved. Holding this goroutine on its thread until the
	// child is reaped keeps the thread, so SIGHUP comes only when kubeiam
	// dies (os/exec and syscall document the same pairing).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if sigs == nil {
		sigs = Catch()
		defer sigs.Stop()
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("could not run %s: %w", cmd.Args[0], err)
	}
	sigs.started = true
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs.c:
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
