package bundle

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/kubeiam/kubeiam/bundle"
)

// newProgress reports to w: a redrawn bar on a terminal, and otherwise (CI
// logs, pipes) a line at the start and one at the end, since a bar's
// carriage returns make a log unreadable.
func newProgress(w io.Writer, terminal bool) bundle.Progress {
	return &progress{w: w, terminal: terminal}
}

type progress struct {
	w        io.Writer
	terminal bool
}

func (p *progress) Start(name, loc string, size int64) bundle.ProgressBar {
	if p.terminal {
		bar := progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSpinnerType(14),
		)
		return &termBar{bar: bar}
	}
	if size >= 0 {
		fmt.Fprintf(p.w, "downloading %s (%s)\n", loc, humanBytes(size))
	} else {
		fmt.Fprintf(p.w, "downloading %s\n", loc)
	}
	return &lineBar{w: p.w, start: time.Now()}
}

type termBar struct{ bar *progressbar.ProgressBar }

func (t *termBar) Write(b []byte) (int, error) {
	// A bar that cannot draw must not fail the download.
	_ = t.bar.Add(len(b))
	return len(b), nil
}

func (t *termBar) Finish(ok bool) {
	if ok {
		_ = t.bar.Finish()
	} else {
		_ = t.bar.Exit()
	}
}

type lineBar struct {
	w     io.Writer
	start time.Time
	n     int64
}

func (l *lineBar) Write(b []byte) (int, error) {
	l.n += int64(len(b))
	return len(b), nil
}

func (l *lineBar) Finish(ok bool) {
	if !ok {
		return
	}
	d := time.Since(l.start)
	rate := float64(l.n) / d.Seconds()
	fmt.Fprintf(l.w, "downloaded %s in %s (%s/s)\n", humanBytes(l.n), d.Round(time.Millisecond), humanBytes(int64(rate)))
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
