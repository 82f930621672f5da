package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// sample is one timed process.
type sample struct {
	Wall   time.Duration
	CPU    time.Duration // user + system, including children it waited for
	Stdout []byte
	Stderr []byte
}

// timeCmd runs cmd and times it from fork to reaped exit: what kubectl
// waits for.
func timeCmd(cmd *exec.Cmd) (sample, error) {
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	s := sample{Wall: time.Since(start), Stdout: out.Bytes(), Stderr: errOut.Bytes()}
	if ps := cmd.ProcessState; ps != nil {
		s.CPU = ps.UserTime() + ps.SystemTime()
	}
	if err != nil {
		return s, fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, firstLine(errOut.String()))
	}
	return s, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Stats summarise a subject's runs in milliseconds.
type Stats struct {
	N      int     `json:"n"`
	Median float64 `json:"median_ms"`
	P90    float64 `json:"p90_ms"`
	Min    float64 `json:"min_ms"`
}

func summarize(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	slices.Sort(ms)
	return Stats{N: len(ms), Median: quantile(ms, 0.5), P90: quantile(ms, 0.9), Min: ms[0]}
}

// quantile of sorted xs by linear interpolation between closest ranks; for
// an odd count the median is a measured value.
func quantile(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// subject is one command timed in the round-robin.
type subject struct {
	Key   string
	Label string
	// cmd returns a fresh command for one run; per-run set-up (an empty
	// cache directory) happens here, outside the timed region.
	cmd func() (*exec.Cmd, error)
	// check validates one run's output; a subject failing it is not timed.
	check func(s sample) error
	// expectExit is the exit code a run must end with; non-zero for a
	// subject that times a failure (its check reads stderr).
	expectExit int
	// run times one run; nil is timeCmd.
	run func(*exec.Cmd) (sample, error)

	wall, cpu []time.Duration
	failures  int
	lastErr   error
	broken    error
	note      string
}

func (s *subject) time(cmd *exec.Cmd) (sample, error) {
	var smp sample
	var err error
	if s.run != nil {
		smp, err = s.run(cmd)
	} else {
		smp, err = timeCmd(cmd)
	}
	if s.expectExit == 0 {
		return smp, err
	}
	// A subject that times a failure: only its exit code is a success.
	switch {
	case err == nil:
		return smp, fmt.Errorf("%s: succeeded, want exit code %d", strings.Join(cmd.Args, " "), s.expectExit)
	case cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == s.expectExit:
		return smp, nil
	}
	return smp, err
}

// roundRobin runs every subject once per round in a new random order each
// round, so slow drifts and bursts of load from other processes spread
// over all subjects instead of landing on whichever ran at that moment.
func roundRobin(ctx context.Context, subjects []*subject, rounds int, seed uint64, progress func(round int)) error {
	rng := rand.New(rand.NewPCG(seed, 0x6b756265))
	order := slices.Clone(subjects)
	for r := range rounds {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, s := range order {
			if err := ctx.Err(); err != nil {
				return err
			}
			if s.broken != nil {
				continue
			}
			cmd, err := s.cmd()
			if err != nil {
				return fmt.Errorf("%s: %w", s.Label, err)
			}
			smp, err := s.time(cmd)
			if err != nil {
				s.failures++
				s.lastErr = err
				continue
			}
			s.wall = append(s.wall, smp.Wall)
			s.cpu = append(s.cpu, smp.CPU)
		}
		if progress != nil {
			progress(r + 1)
		}
	}
	return nil
}

// sanity runs s once and checks its output; a failure marks it broken.
func sanity(s *subject) {
	cmd, err := s.cmd()
	if err == nil {
		var smp sample
		if smp, err = s.time(cmd); err == nil {
			err = s.check(smp)
		}
	}
	var note noteError
	switch {
	case errors.As(err, &note):
		s.note = string(note)
	case err != nil:
		s.broken = err
	}
}
