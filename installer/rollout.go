package installer

import (
	"context"
	"fmt"
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
	last := ""
	for {
		ds, err := c.Get(ctx, "DaemonSet", Namespace, Name)
		if err != nil && ctx.Err() == nil {
			return err
		}
		var msg string
		if ds != nil {
			var done bool
			done, msg = rolloutStatus(ds)
			if done {
				progress(opts.Progress, "rollout: %s", msg)
				return nil
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
