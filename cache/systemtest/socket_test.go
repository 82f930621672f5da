package systemtest

import (
	"io"
	"net"
	"testing"
)

// hangingSocket listens on path and accepts connections without ever
// answering, like a wedged D-Bus daemon.
func hangingSocket(t *testing.T, path string) (stop func()) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go io.Copy(io.Discard, c)
		}
	}()
	return func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	}
}
