package eks

import (
	"fmt"
	"strings"
	"sync"

	"github.com/kubeiam/kubeiam/mappings"
)

// BackendName is what the walk calls the access-entry source.
const BackendName = "EKS access entries"

// AccessEntryBackend is a cluster's access entries as a backend of the
// mapping model: EKS asks it before aws-auth, and an entry wins over an
// aws-auth line for the same principal. An entry names a role with its
// path while a caller's canonical ARN has none; a role name is unique in
// its account whatever the path, so roles are matched by account and name.
func AccessEntryBackend(entries []Entry) mappings.Backend {
	b := &accessBackend{entries: entries}
	for _, e := range entries {
		b.maps = append(b.maps, mappingOf(e))
	}
	return b
}

type accessBackend struct {
	entries []Entry
	maps    []mappings.Mapping
}

func mappingOf(e Entry) mappings.Mapping {
	kind := mappings.KindOfARN(e.PrincipalARN)
	src := "access entry " + e.PrincipalARN
	if e.Type != "" && e.Type != TypeStandard {
		src += " (" + e.Type + ")"
	}
	return mappings.Mapping{Kind: kind, ARN: e.PrincipalARN, Username: e.Username, Groups: e.Groups, Source: src,
		Key: strings.ToLower(canonicalOfEntry(e.PrincipalARN))}
}

// canonicalOfEntry is the caller ARN an entry's principal is met as: a
// role without its path, a user as it is.
func canonicalOfEntry(arn string) string {
	p, err := ParsePrincipal("", arn)
	if err != nil || p.Kind != "role" {
		return arn
	}
	return canonical(p)
}

func (b *accessBackend) Name() string                { return BackendName }
func (b *accessBackend) Entries() []mappings.Mapping { return b.maps }

func (b *accessBackend) Lookup(c mappings.Caller) (*mappings.Mapping, string) {
	key := strings.ToLower(c.CanonicalARN)
	for i := range b.maps {
		if b.maps[i].Key == key {
			m := b.maps[i]
			return &m, fmt.Sprintf("%s maps %s (access entries win over aws-auth)", m.Source, c.CanonicalARN)
		}
	}
	return nil, "no access entry for " + c.CanonicalARN
}

// lazyBackend reads its entries on the first lookup: explain reads aws-auth
// (a Kubernetes call) only when the access entries did not answer.
type lazyBackend struct {
	name string
	load func() ([]mappings.Mapping, error)
	once sync.Once
	b    mappings.Backend
	err  error
}

func (l *lazyBackend) get() mappings.Backend {
	l.once.Do(func() {
		var ms []mappings.Mapping
		ms, l.err = l.load()
		l.b = mappings.NewConfigMap(l.name, ms)
	})
	return l.b
}

func (l *lazyBackend) Name() string                { return l.name }
func (l *lazyBackend) Entries() []mappings.Mapping { return l.get().Entries() }
func (l *lazyBackend) Lookup(c mappings.Caller) (*mappings.Mapping, string) {
	b := l.get()
	if l.err != nil {
		return nil, "could not be read: " + l.err.Error()
	}
	return b.Lookup(c)
}

// AWSAuthName is what the walk calls aws-auth as EKS reads it.
const AWSAuthName = "aws-auth"

// Chain is what EKS walks in a mode: access entries, then (unless the mode
// is API) aws-auth; in CONFIG_MAP only aws-auth.
func Chain(mode string, entries []Entry, awsAuth func() ([]mappings.Mapping, error)) mappings.Chain {
	var ch mappings.Chain
	if mode != ModeConfigMap {
		ch.Backends = append(ch.Backends, AccessEntryBackend(entries))
	}
	if mode != ModeAPI {
		ch.Backends = append(ch.Backends, &lazyBackend{name: AWSAuthName, load: awsAuth})
	}
	return ch
}

// chainErr is the error a lazy backend of ch met, if any.
func chainErr(ch mappings.Chain) error {
	for _, b := range ch.Backends {
		if l, ok := b.(*lazyBackend); ok && l.b != nil && l.err != nil {
			return l.err
		}
	}
	return nil
}
