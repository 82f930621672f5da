package main

import (
	"os/exec"
	"runtime"

	"github.com/kubeiam/kubeiam/internal/seccomptest"
)

// deniedThread starts processes from an OS thread whose seccomp filter
// refuses keyctl, as a container runtime's profile does: they inherit it.
// Only that thread is filtered, so the other subjects keep the kernel
// keyring, and no wrapper process adds its own start-up to the timing.
type deniedThread struct{ work chan func() }

func startDeniedThread() (*deniedThread, error) {
	d := &deniedThread{work: make(chan func())}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the filter stays with the thread, and the thread
		// ends with the goroutine.
		runtime.LockOSThread()
		err := seccomptest.DenyKeyctlThread()
		errc <- err
		if err != nil {
			return
		}
		for f := range d.work {
			f()
		}
	}()
	return d, <-errc
}

// time runs and times cmd, started from the filtered thread.
func (d *deniedThread) time(cmd *exec.Cmd) (sample, error) {
	var s sample
	var err error
	done := make(chan struct{})
	d.work <- func() {
		defer close(done)
		s, err = timeCmd(cmd)
	}
	<-done
	return s, err
}
