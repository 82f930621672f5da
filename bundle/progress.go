package bundle

import "io"

// Progress reports downloads to whoever watches them; Install calls it
// from the goroutine that downloads. The kubeiam command draws a bar on a
// terminal and writes a line per download elsewhere; a library caller
// implements its own, or leaves InstallOptions.Progress nil for none.
type Progress interface {
	// Start begins reporting a download of size bytes (-1: unknown).
	Start(name, loc string, size int64) ProgressBar
}

// ProgressBar counts the bytes written to it.
type ProgressBar interface {
	io.Writer
	Finish(ok bool)
}
