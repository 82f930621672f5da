// Package iostreams is the three-stream seam every command writes through, so
// tests can capture what a command prints and a command never reaches for
// os.Stdout directly (stdout of `kubeiam token` must carry only the credential).
package iostreams

import (
	"bytes"
	"io"
	"os"
)

// IOStreams holds the streams and the facts about them a command may branch on.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// ErrIsTerminal tells whether stderr is a terminal (progress bars, colour).
	ErrIsTerminal bool
}

// System returns the process's own streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, ErrIsTerminal: isTerminal(os.Stderr)}
}

// Test returns streams backed by buffers: stdin, stdout, stderr.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
