// Command pause holds a pod's namespaces open, as registry.k8s.io/pause
// does: it sleeps until SIGINT or SIGTERM and reaps any child that is
// re-parented to it (it is PID 1 of the sandbox). It uses no cgo, so the
// binary is static and the image needs nothing else.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
