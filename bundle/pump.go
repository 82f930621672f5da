package bundle

import (
	"io"
	"sync"
	"sync/atomic"
)

// Chunks in flight: enough for the reader to stay ahead of the slowest
// consumer (SHA-512) without holding more than a couple of MiB, whatever the
// download's size.
const (
	chunkSize = 256 << 10
	chunks    = 8
)

type chunk struct {
	buf  []byte
	n    int
	refs atomic.Int32
}

// pump copies r to every sink, each sink in its own goroutine, so the
// SHA-256, the SHA-512, the unpacking and the file writes run side by side
// instead of one after another on the download's path. A sink's write error
// stops the copy and is returned; a read error is returned as is.
func pump(r io.Reader, sinks ...io.Writer) (int64, error) {
	free := make(chan *chunk, chunks)
	for range chunks {
		free <- &chunk{buf: make([]byte, chunkSize)}
	}
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		sinkErr  error
		failed   atomic.Bool
		channels = make([]chan *chunk, len(sinks))
	)
	for i, w := range sinks {
		ch := make(chan *chunk, chunks)
		channels[i] = ch
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ch {
				if !failed.Load() {
					if _, err := w.Write(c.buf[:c.n]); err != nil {
						errOnce.Do(func() { sinkErr = err })
						failed.Store(true)
					}
				}
				if c.refs.Add(-1) == 0 {
					free <- c
				}
			}
		}()
	}
	var (
		total int64
		rerr  error
	)
	for rerr == nil && !failed.Load() {
		c := <-free
		c.n = 0
		for c.n < len(c.buf) && rerr == nil {
			var m int
			m, rerr = r.Read(c.buf[c.n:])
			c.n += m
		}
		if c.n == 0 || (rerr != nil && rerr != io.EOF) {
			free <- c
			break
		}
		total += int64(c.n)
		c.refs.Store(int32(len(sinks)))
		for _, ch := range channels {
			ch <- c
		}
	}
	for _, ch := range channels {
		close(ch)
	}
	wg.Wait()
	if sinkErr != nil {
		return total, sinkErr
	}
	if rerr == io.EOF {
		rerr = nil
	}
	return total, rerr
}
