package installer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/mappings"
)

// deleter is the part of a live client that deletes objects.
type deleter interface {
	Delete(ctx context.Context, kind, namespace, name string) error
}

// planObjects is the IAMIdentityMapping change in the user's terms, and the
// objects kubeiam leaves alone because it did not write them.
func planObjects(c IAMConfig, live []*unstructured.Unstructured) (d MappingDiff, leftAlone []string) {
	have := map[string]mappings.Mapping{}
	for _, o := range live {
		m := mappings.FromObject(o)
		if !m.Managed {
			leftAlone = append(leftAlone, fmt.Sprintf("%s %s (%s)", mappings.CRDKind, o.GetName(), m))
			continue
		}
		have[o.GetName()] = m
	}
	want := map[string]mappings.Mapping{}
	for _, m := range SpecEntries(c, "") {
		if m.Kind != mappings.KindAccount {
			want[mappings.ObjectName(m.ARN)] = m
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		w, h := want[name], have[name]
		switch {
		case h.ARN == "":
			d.Added = append(d.Added, fmt.Sprintf("%s (%s %s)", w, mappings.CRDKind, name))
		case h.Username != w.Username || !slices.Equal(h.Groups, w.Groups) || h.ARN != w.ARN:
			d.Changed = append(d.Changed, fmt.Sprintf("%s (was %s [%s]; %s %s)", w, h.Username, strings.Join(h.Groups, ", "), mappings.CRDKind, name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[name]; !ok {
			d.Removed = append(d.Removed, fmt.Sprintf("%s (%s %s)", have[name], mappings.CRDKind, name))
		}
	}
	slices.Sort(leftAlone)
	return d, leftAlone
}

// deleteStale deletes the IAMIdentityMapping objects kubeiam wrote that
// the spec no longer has; objects made by others are never touched.
func deleteStale(ctx context.Context, c Client, st *state, applied []*unstructured.Unstructured, opts Options, res *Result) error {
	keep := map[string]bool{}
	for _, o := range applied {
		if o.GetKind() == mappings.CRDKind {
			keep[o.GetName()] = true
		}
	}
	for _, o := range st.objects {
		if keep[o.GetName()] || o.GetLabels()[mappings.ManagedByLabel] != mappings.ManagedByValue {
			continue
		}
		res.Objects = append(res.Objects, ObjectChange{Kind: mappings.CRDKind, Name: o.GetName(), Action: "deleted"})
		if opts.DryRun {
			continue
		}
		d, ok := c.(deleter)
		if !ok {
			return fmt.Errorf("could not delete %s %s: the client cannot delete", mappings.CRDKind, o.GetName())
		}
		if err := d.Delete(ctx, mappings.CRDKind, "", o.GetName()); err != nil {
			return err
		}
		progress(opts.Progress, "%s %s deleted", mappings.CRDKind, o.GetName())
	}
	return nil
}

// waitEstablished waits until the API serves IAMIdentityMapping after the
// CRD was created: objects applied before that are refused.
func waitEstablished(ctx context.Context, c Client, opts Options) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		crd, err := c.Get(ctx, "CustomResourceDefinition", "", mappings.CRDName)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if crd == nil {
			return fmt.Errorf("could not find CRD %s after applying it", mappings.CRDName)
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, x := range conds {
			m, _ := x.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return nil
			}
		}
		if crd.Object["status"] == nil {
			return nil // a fake API without controllers
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("could not see CRD %s established within 30s", mappings.CRDName)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// IdentityMappingTimeoutError: the server did not write the status of
// every IAMIdentityMapping in time, so those objects map nobody yet.
type IdentityMappingTimeoutError struct {
	Timeout time.Duration
	Pending []string
}

func (e *IdentityMappingTimeoutError) Error() string {
	return fmt.Sprintf("could not see the server activate %d %s within %s (status.canonicalARN not written): %s",
		len(e.Pending), text.Plural(len(e.Pending), "IAMIdentityMapping", "IAMIdentityMappings"), e.Timeout, strings.Join(e.Pending, ", "))
}

// WaitForIdentityMappings waits until the server has written
// status.canonicalARN for spec.arn on every IAMIdentityMapping among objs:
// before that the server matches nobody with them. The server writes it
// within milliseconds of the apply, so the first polls come 20 ms apart
// (doubling up to 500 ms): the wait adds little to the server's own
// latency, and one List per poll reads every object at once.
func WaitForIdentityMappings(ctx context.Context, c Client, objs []*unstructured.Unstructured, opts Options) error {
	want := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == mappings.CRDKind {
			want[o.GetName()] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start, last, delay := time.Now(), -1, 20*time.Millisecond
	var pending []string
	for {
		live, err := readObjects(ctx, c, want)
		if err != nil && ctx.Err() == nil {
			return err
		}
		pending = pending[:0]
		for _, name := range slices.Sorted(maps.Keys(want)) {
			if o := live[name]; o == nil || mappings.FromObject(o).Inactive != "" {
				pending = append(pending, name)
			}
		}
		if len(pending) != last {
			progress(opts.Progress, "IAMIdentityMapping status: %d of %d active (%s)", len(want)-len(pending), len(want), time.Since(start).Round(time.Millisecond))
			last = len(pending)
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return &IdentityMappingTimeoutError{Timeout: timeout, Pending: pending}
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// readObjects reads the named IAMIdentityMappings: one List where the
// client can, else one Get each.
func readObjects(ctx context.Context, c Client, names map[string]bool) (map[string]*unstructured.Unstructured, error) {
	out := map[string]*unstructured.Unstructured{}
	if l, ok := c.(lister); ok {
		objs, err := l.List(ctx, mappings.CRDKind, "")
		if apierrors.IsNotFound(err) {
			return out, nil // no CRD (yet): nothing is active
		}
		for _, o := range objs {
			if names[o.GetName()] {
				out[o.GetName()] = o
			}
		}
		return out, err
	}
	for name := range names {
		o, err := c.Get(ctx, mappings.CRDKind, "", name)
		if err != nil {
			return out, err
		}
		out[name] = o
	}
	return out, nil
}
