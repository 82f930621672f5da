package installer

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/mappings"
)

// MappingDiff is a backend's change in the user's terms.
type MappingDiff struct {
	Added, Removed, Changed []string
	// Foreign are entries kubeiam did not write that the spec drops;
	// removed only with Prune.
	Foreign []string
}

// Empty tells whether the mappings stay as they are.
func (d MappingDiff) Empty() bool {
	return len(d.Added)+len(d.Removed)+len(d.Changed) == 0
}

// ForeignEntriesError refuses to drop aws-auth entries kubeiam did not
// write (node roles, entries added by hand) without --prune.
type ForeignEntriesError struct{ Entries []string }

func (e *ForeignEntriesError) Error() string {
	return fmt.Sprintf("aws-auth has %d %s kubeiam did not write and the spec does not have:\n  %s",
		len(e.Entries), text.Plural(len(e.Entries), "entry", "entries"), strings.Join(e.Entries, "\n  "))
}

// keyed indexes entries as the EKSConfigMap backend keys them: kind and
// lower-cased ARN (account ID for an account). The first entry of a key
// wins, as in the server.
func keyed(ms []mappings.Mapping) map[string]mappings.Mapping {
	out := map[string]mappings.Mapping{}
	for _, m := range ms {
		k := m.Kind + ":" + strings.ToLower(m.ARN)
		if _, dup := out[k]; !dup {
			out[k] = m
		}
	}
	return out
}

func planMappings(c IAMConfig, current *unstructured.Unstructured, prune bool) (MappingDiff, error) {
	var d MappingDiff
	live, err := mappings.ParseAWSAuth(current)
	if err != nil {
		return d, err
	}
	have, want := keyed(live), keyed(SpecEntries(c, ""))
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w := want[k]
		h, ok := have[k]
		switch {
		case !ok:
			d.Added = append(d.Added, w.String())
		case h.Username != w.Username || !slices.Equal(h.Groups, w.Groups) || h.ARN != w.ARN:
			d.Changed = append(d.Changed, fmt.Sprintf("%s (was %s [%s])", w, h.Username, strings.Join(h.Groups, ", ")))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[k]; ok {
			continue
		}
		h := have[k]
		d.Removed = append(d.Removed, h.String())
		if h.Kind != mappings.KindAccount && !h.Managed {
			d.Foreign = append(d.Foreign, h.String())
		}
	}
	if len(d.Foreign) > 0 && !prune {
		return d, &ForeignEntriesError{Entries: d.Foreign}
	}
	return d, nil
}
