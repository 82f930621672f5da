package sso

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kubeiam/kubeiam/internal/ctxsleep"
)

// PortalRate is where the limiter starts and the most it goes back up to:
// IAM Identity Center's portal APIs share a throttle of about 20 requests a
// second per user. Starting far below it makes a large organisation's
// listing needlessly slow; going above it only buys 429s.
const PortalRate = 20.0

// Limiter paces every portal call of one run (listing accounts, roles,
// getting role credentials) through one schedule: calls are spaced 1/rate
// apart; a 429 (TooManyRequestsException) halves the rate and pushes the
// next slot out by a jittered pause, and each success creeps the rate back
// up towards the ceiling. One limiter per run, shared by all workers, is
// what keeps many concurrent callers from tripping the shared throttle
// together (the failure of tools that retry each call on its own).
type Limiter struct {
	mu        sync.Mutex
	rate, max float64
	next      time.Time
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
	throttled int
}

// NewLimiter returns a limiter starting at, and never above, rate calls a
// second.
func NewLimiter(rate float64) *Limiter {
	return &Limiter{rate: rate, max: rate, now: time.Now, sleep: ctxsleep.Sleep}
}

// minRate is the floor of the back-off: even a portal that keeps answering
// 429 is asked once every two seconds.
const minRate = 0.5

// Wait takes the next slot, sleeping until it comes or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	now := l.now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(time.Duration(float64(time.Second) / l.rate))
	l.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return l.sleep(ctx, d)
	}
	return ctx.Err()
}

// Throttled records a 429: the rate halves and nobody calls again for a
// jittered pause (so the workers that were throttled together do not come
// back together).
func (l *Limiter) Throttled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.throttled++
	l.rate = max(minRate, l.rate/2)
	pause := time.Duration((0.5 + rand.Float64()) * float64(time.Second) / l.rate)
	if at := l.now().Add(pause); at.After(l.next) {
		l.next = at
	}
}

// OK records a call that was not throttled: the rate creeps back up, a
// twentieth of the ceiling at a time.
func (l *Limiter) OK() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate = min(l.max, l.rate+l.max/20)
}

// ThrottledCount is how many 429s the run met.
func (l *Limiter) ThrottledCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.throttled
}
