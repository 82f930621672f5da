package installer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubeiam/kubeiam/internal/text"
)

// MappingDiff is the aws-auth change in the user's terms.
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

type entry struct {
	kind, arn, username string
	groups              []string
	// line is the entry's line in a spec (0 for aws-auth).
	line int
}

func (e entry) String() string {
	return fmt.Sprintf("%s %s → %s [%s]", e.kind, e.arn, e.username, strings.Join(e.groups, ", "))
}

// parseAWSAuth reads aws-auth the way the server does: YAML strings
// decoded through JSON, so key case does not matter.
func parseAWSAuth(cm *unstructured.Unstructured) (map[string]entry, []string, error) {
	out := map[string]entry{}
	var owned []string
	if cm == nil {
		return out, nil, nil
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	for _, k := range []struct{ key, kind string }{{"mapRoles", "role"}, {"mapUsers", "user"}} {
		var list []awsAuthEntry
		if s := strings.TrimSpace(data[k.key]); s != "" && s != `""` {
			if err := sigsyaml.Unmarshal([]byte(s), &list); err != nil {
				return nil, nil, fmt.Errorf("could not parse aws-auth %s: %w", k.key, err)
			}
		}
		for _, e := range list {
			arn := e.RoleARN
			if k.kind == "user" {
				arn = e.UserARN
			}
			out[k.kind+":"+strings.ToLower(arn)] = entry{kind: k.kind, arn: arn, username: e.Username, groups: e.Groups}
		}
	}
	if s := strings.TrimSpace(data["mapAccounts"]); s != "" {
		var accts []string
		if err := sigsyaml.Unmarshal([]byte(s), &accts); err != nil {
			return nil, nil, fmt.Errorf("could not parse aws-auth mapAccounts: %w", err)
		}
		for _, a := range accts {
			out["account:"+a] = entry{kind: "account", arn: a}
		}
	}
	if a := cm.GetAnnotations()[OwnedARNsAnnotation]; a != "" {
		if err := json.Unmarshal([]byte(a), &owned); err != nil {
			// Read as "kubeiam wrote nothing", a broken record would make
			// every entry look foreign, or let a prune drop entries it
			// wrote as if others had: say so instead.
			return out, nil, &OwnedARNsError{Value: a, Err: err}
		}
	}
	return out, owned, nil
}

// OwnedARNsError is an OwnedARNsAnnotation on aws-auth that is not the JSON
// list kubeiam writes: which entries kubeiam wrote is then unknown.
type OwnedARNsError struct {
	Value string
	Err   error
}

func (e *OwnedARNsError) Error() string {
	return fmt.Sprintf("could not read aws-auth annotation %s: %v", OwnedARNsAnnotation, e.Err)
}

func (e *OwnedARNsError) Unwrap() error { return e.Err }

// Hint says the way out: without the record every entry counts as foreign,
// so sync lists them and --prune is a decision made on that list.
func (e *OwnedARNsError) Hint() string {
	return "remove it (kubectl annotate configmap -n kube-system aws-auth " + OwnedARNsAnnotation + "-) and run sync again: it then lists the entries it would drop"
}

func planMappings(c IAMConfig, current *unstructured.Unstructured, prune bool) (MappingDiff, error) {
	var d MappingDiff
	have, owned, err := parseAWSAuth(current)
	if err != nil {
		return d, err
	}
	want := entriesOf(c)
	for _, k := range sortedKeys(want) {
		w := want[k]
		h, ok := have[k]
		switch {
		case !ok:
			d.Added = append(d.Added, w.String())
		case h.username != w.username || !slices.Equal(h.groups, w.groups) || h.arn != w.arn:
			d.Changed = append(d.Changed, fmt.Sprintf("%s (was %s [%s])", w, h.username, strings.Join(h.groups, ", ")))
		}
	}
	for _, k := range sortedKeys(have) {
		if _, ok := want[k]; ok {
			continue
		}
		h := have[k]
		d.Removed = append(d.Removed, h.String())
		if h.kind != "account" && !slices.Contains(owned, strings.ToLower(h.arn)) {
			d.Foreign = append(d.Foreign, h.String())
		}
	}
	if len(d.Foreign) > 0 && !prune {
		return d, &ForeignEntriesError{Entries: d.Foreign}
	}
	return d, nil
}

// entriesOf keys a spec's mappings as parseAWSAuth keys aws-auth's.
func entriesOf(c IAMConfig) map[string]entry {
	out := map[string]entry{}
	for _, m := range c.MapRoles {
		out["role:"+strings.ToLower(m.ARN)] = entry{"role", m.ARN, m.Username, m.Groups, m.Line}
	}
	for _, m := range c.MapUsers {
		out["user:"+strings.ToLower(m.ARN)] = entry{"user", m.ARN, m.Username, m.Groups, m.Line}
	}
	for _, a := range c.MapAccounts {
		out["account:"+a] = entry{kind: "account", arn: a}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
