package mappings

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

// configMap is the EKSConfigMap backend: the role entry of the caller's
// canonical ARN wins, then the user entry, then the caller's account in
// mapAccounts (user name the canonical ARN, no groups). ARNs compare
// lower-cased and as written: a role path never meets a caller. When one
// ARN is listed twice the later entry wins, as in the server, which loads
// each list into a map in order.
type configMap struct {
	name    string
	entries []Mapping
	byKey   map[string]int // kind + ":" + key → index
}

// NewConfigMap is an EKSConfigMap backend named name over entries.
func NewConfigMap(name string, entries []Mapping) Backend {
	b := &configMap{name: name, entries: entries, byKey: map[string]int{}}
	for i, e := range entries {
		k := e.Key
		if e.Kind == KindAccount {
			k = e.ARN
		}
		b.byKey[e.Kind+":"+k] = i
	}
	return b
}

func (b *configMap) Name() string       { return b.name }
func (b *configMap) Entries() []Mapping { return b.entries }

func (b *configMap) Lookup(c Caller) (*Mapping, string) {
	canon := strings.ToLower(c.CanonicalARN)
	for _, kind := range []string{KindRole, KindUser} {
		if i, ok := b.byKey[kind+":"+canon]; ok {
			e := b.entries[i]
			return &e, fmt.Sprintf("map%ss entry %s matches %s", strings.ToUpper(kind[:1])+kind[1:], e.Source, c.CanonicalARN)
		}
	}
	if i, ok := b.byKey[KindAccount+":"+c.AccountID]; ok && c.AccountID != "" {
		e := b.entries[i]
		return &e, fmt.Sprintf("no mapRoles or mapUsers entry; account %s is in mapAccounts", c.AccountID)
	}
	return nil, fmt.Sprintf("no mapRoles or mapUsers entry for %s, and account %s is not in mapAccounts", c.CanonicalARN, c.AccountID)
}

// AWSAuthEntry is one aws-auth list entry in the server's own key names.
type AWSAuthEntry struct {
	RoleARN  string   `yaml:"rolearn,omitempty" json:"rolearn,omitempty"`
	UserARN  string   `yaml:"userarn,omitempty" json:"userarn,omitempty"`
	Username string   `yaml:"username" json:"username"`
	Groups   []string `yaml:"groups,omitempty" json:"groups,omitempty"`
}

// OwnedARNsAnnotation records, on aws-auth, the ARNs kubeiam wrote, so a
// sync can tell its own entries from ones others added (node roles).
const OwnedARNsAnnotation = "kubeiam/owned-arns"

// ParseAWSAuth reads ConfigMap kube-system/aws-auth the way the server's
// EKSConfigMap backend does: YAML strings decoded through JSON, so key
// case does not matter. A nil ConfigMap has no entries. Entries whose ARN
// kubeiam wrote (the OwnedARNsAnnotation) are Managed.
func ParseAWSAuth(cm *unstructured.Unstructured) ([]Mapping, error) {
	if cm == nil {
		return nil, nil
	}
	var owned []string
	var ownedErr error
	if a := cm.GetAnnotations()[OwnedARNsAnnotation]; a != "" {
		if err := json.Unmarshal([]byte(a), &owned); err != nil {
			// Read as "kubeiam wrote nothing", a broken record would make
			// every entry look foreign, or let a prune drop entries it
			// wrote as if others had: the entries are returned, with an
			// error a caller that cares about ownership stops on.
			ownedErr = &OwnedARNsError{Value: a, Err: err}
		}
	}
	isOwned := map[string]bool{}
	for _, o := range owned {
		isOwned[o] = true
	}
	var out []Mapping
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	for _, k := range []struct{ key, kind string }{{"mapRoles", KindRole}, {"mapUsers", KindUser}} {
		var list []AWSAuthEntry
		if s := strings.TrimSpace(data[k.key]); s != "" && s != `""` {
			if err := sigsyaml.Unmarshal([]byte(s), &list); err != nil {
				return nil, fmt.Errorf("could not parse aws-auth %s: %w", k.key, err)
			}
		}
		for _, e := range list {
			arn := e.RoleARN
			if k.kind == KindUser {
				arn = e.UserARN
			}
			key := strings.ToLower(arn)
			out = append(out, Mapping{Kind: k.kind, ARN: arn, Username: e.Username, Groups: e.Groups,
				Source: "aws-auth " + k.key, Key: key, Managed: isOwned[key]})
		}
	}
	if s := strings.TrimSpace(data["mapAccounts"]); s != "" {
		var accts []string
		if err := sigsyaml.Unmarshal([]byte(s), &accts); err != nil {
			return nil, fmt.Errorf("could not parse aws-auth mapAccounts: %w", err)
		}
		for _, a := range accts {
			out = append(out, Mapping{Kind: KindAccount, ARN: a, Source: "aws-auth mapAccounts"})
		}
	}
	return out, ownedErr
}

// OwnedARNsError is an OwnedARNsAnnotation on aws-auth that is not the JSON
// list kubeiam writes: which entries kubeiam wrote is then unknown.
// ParseAWSAuth still returns the entries with it.
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
