package installer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// WaitForRollout polls the DaemonSet until every scheduled pod runs the
// current template and is available.
func WaitForRollout(ctx context.Context, c Client, opts Options) error {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	poll := opts.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	settle := opts.Settle
	if settle <= 0 {
		settle = 5 * time.Second
	}
	last, lastState := "", ""
	seenDone := false
	var stableSince time.Time
	for {
		ds, err := c.Get(ctx, "DaemonSet", Namespace, Name)
		if err != nil && ctx.Err() == nil {
			return err
		}
		var msg string
		if ds != nil {
			// A pod that keeps crashing will not become available
			// however long we wait: say so now, with its own words.
			if pr, ok := c.(podReader); ok {
				if ce := crashLooping(ctx, pr); ce != nil {
					return ce
				}
			}
			var done bool
			done, msg = rolloutStatus(ds)
			// The server has no readiness probe, so a pod that exits
			// right after starting counts as available for a moment:
			// done must hold, with the same containers and no crash
			// loop, for settle (without pod access: two polls).
			if done {
				now := time.Now()
				state := ""
				if pr, ok := c.(podReader); ok {
					state = podState(ctx, pr)
				}
				if !seenDone || state != lastState {
					seenDone, lastState, stableSince = true, state, now
				}
				if _, ok := c.(podReader); (ok && now.Sub(stableSince) >= settle) || (!ok && now.After(stableSince)) {
					if msg != last {
						progress(opts.Progress, "rollout: %s", msg)
					}
					return nil
				}
			} else {
				seenDone = false
			}
			if msg != last {
				progress(opts.Progress, "rollout: %s", msg)
				last = msg
			}
		}
		select {
		case <-ctx.Done():
			return &RolloutTimeoutError{Timeout: timeout, Last: msg}
		case <-time.After(poll):
		}
	}
}

// RolloutTimeoutError: the DaemonSet did not become ready in time.
type RolloutTimeoutError struct {
	Timeout time.Duration
	Last    string
}

func (e *RolloutTimeoutError) Error() string {
	return fmt.Sprintf("could not see the DaemonSet %s/%s roll out within %s: %s", Namespace, Name, e.Timeout, e.Last)
}

// podReader is what tells a crash-looping server from a slow one: the
// server's pods and their logs. The real client has it; fakes need not.
type podReader interface {
	List(ctx context.Context, kind, namespace string) ([]*unstructured.Unstructured, error)
	// PodLog returns the last lines of a container's log, of its previous
	// instance when previous is set.
	PodLog(ctx context.Context, namespace, pod, container string, previous bool) (string, error)
}

// CrashLoopError: a server pod is in CrashLoopBackOff; LastLine is the last
// line its previous instance logged (usually why it exited).
type CrashLoopError struct {
	Pod      string
	Restarts int64
	LastLine string
}

func (e *CrashLoopError) Error() string {
	line := e.LastLine
	if line == "" {
		line = "(it logged nothing)"
	}
	return fmt.Sprintf("could not see the DaemonSet %s/%s roll out: pod %s/%s is crash-looping (%d restarts); its last log line: %s", Namespace, Name, Namespace, e.Pod, e.Restarts, line)
}

// crashLooping returns the first server pod in CrashLoopBackOff, or nil.
// Errors reading pods only cost the early report, so they are dropped.
func crashLooping(ctx context.Context, c podReader) *CrashLoopError {
	pods, err := c.List(ctx, "Pod", Namespace)
	if err != nil {
		return nil
	}
	for _, p := range pods {
		if p.GetLabels()[labelApp] != Name {
			continue
		}
		statuses, _, _ := unstructured.NestedSlice(p.Object, "status", "containerStatuses")
		for _, s := range statuses {
			cs, _ := s.(map[string]any)
			reason, _, _ := unstructured.NestedString(cs, "state", "waiting", "reason")
			if reason != "CrashLoopBackOff" {
				continue
			}
			name, _, _ := unstructured.NestedString(cs, "name")
			restarts, _, _ := unstructured.NestedInt64(cs, "restartCount")
			log, _ := c.PodLog(ctx, Namespace, p.GetName(), name, true)
			return &CrashLoopError{Pod: p.GetName(), Restarts: restarts, LastLine: lastLine(log)}
		}
	}
	return nil
}

// podState sums up the server pods' containers (ID and restart count),
// so a container that crashed and came back between two polls shows.
func podState(ctx context.Context, c podReader) string {
	pods, err := c.List(ctx, "Pod", Namespace)
	if err != nil {
		return "?"
	}
	var b strings.Builder
	for _, p := range pods {
		if p.GetLabels()[labelApp] != Name {
			continue
		}
		statuses, _, _ := unstructured.NestedSlice(p.Object, "status", "containerStatuses")
		for _, s := range statuses {
			cs, _ := s.(map[string]any)
			id, _, _ := unstructured.NestedString(cs, "containerID")
			n, _, _ := unstructured.NestedInt64(cs, "restartCount")
			fmt.Fprintf(&b, "%s/%s/%d ", p.GetName(), id, n)
		}
	}
	return b.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func rolloutStatus(ds *unstructured.Unstructured) (bool, string) {
	gen := ds.GetGeneration()
	obs, _, _ := unstructured.NestedInt64(ds.Object, "status", "observedGeneration")
	desired, _, _ := unstructured.NestedInt64(ds.Object, "status", "desiredNumberScheduled")
	updated, _, _ := unstructured.NestedInt64(ds.Object, "status", "updatedNumberScheduled")
	avail, _, _ := unstructured.NestedInt64(ds.Object, "status", "numberAvailable")
	if obs < gen {
		return false, "waiting for the DaemonSet controller to see the new spec"
	}
	if desired == 0 {
		return false, "no node is scheduled: no node has the label node-role.kubernetes.io/control-plane"
	}
	msg := fmt.Sprintf("%d of %d updated, %d available", updated, desired, avail)
	return updated == desired && avail == desired, msg
}
