package mappings

import (
	"fmt"
	"slices"
	"strings"
)

// Backend is one place a server reads mappings from. The server asks its
// backends in order; the first that maps a caller decides, and a miss
// falls through to the next (aws-iam-authenticator v0.7.2,
// server.doMapping). A new source (EKS access entries, say) plugs in by
// implementing these three methods; the verbs see only a Chain.
type Backend interface {
	// Name is the server's backend mode ("EKSConfigMap", "CRD") or, for a
	// source outside the server, what users call it.
	Name() string
	// Entries are every entry the backend holds, active or not, in a
	// stable order (list, lockout).
	Entries() []Mapping
	// Lookup returns the entry that maps c, or nil to fall through, and a
	// line for the walk's trace saying what the backend found.
	Lookup(c Caller) (*Mapping, string)
}

// Chain is a server's backends in its order.
type Chain struct {
	Backends []Backend
	// Assumed, when set, says why the order is a guess (no DaemonSet to
	// read it from); the walk shows it first.
	Assumed string
}

// Modes are the backends' names in order.
func (ch Chain) Modes() []string {
	out := make([]string, len(ch.Backends))
	for i, b := range ch.Backends {
		out[i] = b.Name()
	}
	return out
}

// Backend returns the backend of that name, or nil.
func (ch Chain) Backend(name string) Backend {
	for _, b := range ch.Backends {
		if b.Name() == name {
			return b
		}
	}
	return nil
}

// Entries are every backend's entries, in the chain's order.
func (ch Chain) Entries() []Mapping {
	var out []Mapping
	for _, b := range ch.Backends {
		out = append(out, b.Entries()...)
	}
	return out
}

// Len is the number of entries in every backend.
func (ch Chain) Len() int { return len(ch.Entries()) }

// Explain walks the chain for c as the server does and says what each
// backend found; the Match is nil when no backend maps c (the server
// answers Unauthorized).
func (ch Chain) Explain(c Caller) (*Match, []string) {
	var trace []string
	if ch.Assumed != "" {
		trace = append(trace, ch.Assumed)
	}
	for _, b := range ch.Backends {
		e, note := b.Lookup(c)
		if note != "" {
			trace = append(trace, b.Name()+": "+note)
		}
		if e != nil {
			m := render(*e, c)
			m.Backend, m.Source = b.Name(), e.Source
			return m, trace
		}
	}
	return nil, trace
}

// Match finds the mapping the server applies to c; see Explain.
func (ch Chain) Match(c Caller) (*Match, bool) {
	m, _ := ch.Explain(c)
	return m, m != nil
}

// Near lists entries that look meant for c but that the server never
// matches: role ARNs with a path whose account and role name are c's (the
// canonical form has no path). They make the hint of a denial.
func (ch Chain) Near(c Caller) []string {
	parts := strings.SplitN(c.CanonicalARN, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "role/") {
		return nil
	}
	name := strings.ToLower(strings.TrimPrefix(parts[5], "role/"))
	prefix := strings.ToLower(strings.Join(parts[:5], ":")) + ":role/"
	var out []string
	for _, e := range ch.Entries() {
		a := strings.ToLower(e.ARN)
		if e.Kind == KindRole && strings.HasPrefix(a, prefix) && strings.HasSuffix(a, "/"+name) && strings.Count(a[len(prefix):], "/") > 0 && !slices.Contains(out, e.ARN) {
			out = append(out, e.ARN)
		}
	}
	return out
}

// NotRead is a backend whose entries live where kubeiam cannot read them
// (files on the control-plane hosts); the walk names it and moves on.
func NotRead(name string) Backend { return notRead(name) }

type notRead string

func (n notRead) Name() string       { return string(n) }
func (n notRead) Entries() []Mapping { return nil }
func (n notRead) Lookup(c Caller) (*Mapping, string) {
	return nil, fmt.Sprintf("not read by kubeiam; an entry there for %s would decide before the backends after it", c.CanonicalARN)
}

// Server backend modes (aws-iam-authenticator v0.7.2, pkg/mapper). File and
// ConfigMap are deprecated spellings of MountedFile and EKSConfigMap.
const (
	ModeEKSConfigMap = "EKSConfigMap"
	ModeCRD          = "CRD"
	ModeMountedFile  = "MountedFile"
	ModeDynamicFile  = "DynamicFile"
	ModeFile         = "File"
	ModeConfigMap    = "ConfigMap"
)

// Modes the server knows, and the replacement of each deprecated one.
var (
	ServerModes     = []string{ModeMountedFile, ModeEKSConfigMap, ModeCRD, ModeDynamicFile, ModeFile, ModeConfigMap}
	DeprecatedModes = map[string]string{ModeFile: ModeMountedFile, ModeConfigMap: ModeEKSConfigMap}
)

// Sources are what a chain can be built from, per backend mode.
type Sources struct {
	// ConfigMap is the EKSConfigMap backend's entries (aws-auth, or a
	// spec's that sync writes there).
	ConfigMap []Mapping
	// CRD is the CRD backend's IAMIdentityMapping entries.
	CRD []Mapping
}

// ChainOf builds the chain for the server's backend modes in order. No
// modes: the order is unknown, and EKSConfigMap (what EKS Anywhere always
// writes) is assumed.
func ChainOf(modes []string, src Sources) Chain {
	var ch Chain
	if len(modes) == 0 {
		modes = []string{ModeEKSConfigMap}
		ch.Assumed = "backend modes unknown (no DaemonSet): EKSConfigMap assumed"
	}
	for _, m := range modes {
		switch m {
		case ModeEKSConfigMap, ModeConfigMap:
			ch.Backends = append(ch.Backends, NewConfigMap(m, src.ConfigMap))
		case ModeCRD:
			ch.Backends = append(ch.Backends, NewCRD(src.CRD))
		default:
			ch.Backends = append(ch.Backends, NotRead(m))
		}
	}
	return ch
}

// Reads tells whether the server reads the given mode.
func Reads(modes []string, mode string) bool {
	for _, m := range modes {
		if m == mode || DeprecatedModes[m] == mode {
			return true
		}
	}
	return false
}
