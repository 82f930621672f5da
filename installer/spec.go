package installer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeiam/kubeiam/internal/text"
)

// EKS Anywhere's API group, kinds and defaults.
const (
	EKSAAPIVersion   = "anywhere.eks.amazonaws.com/v1alpha1"
	KindCluster      = "Cluster"
	KindAWSIamConfig = "AWSIamConfig"
	DefaultPartition = "aws"
)

// Spec is what the installer needs from an EKS Anywhere cluster spec: the
// cluster's name and version and the AWSIamConfig its identityProviderRefs
// name.
type Spec struct {
	// File is where the spec came from, for messages.
	File              string
	ClusterName       string
	KubernetesVersion string
	Config            IAMConfig
	// Warnings are problems that do not stop an install (a role path the
	// server will never match, say); the caller shows them.
	Warnings []Problem
}

// IAMConfig is the spec of an AWSIamConfig. MapAccounts is kubeiam's
// extension: EKS Anywhere's type has no such field, the server does.
type IAMConfig struct {
	Name        string
	AWSRegion   string
	BackendMode []string
	Partition   string
	MapRoles    []Mapping
	MapUsers    []Mapping
	MapAccounts []string
}

// Mapping is one mapRoles or mapUsers entry.
type Mapping struct {
	ARN      string
	Username string
	Groups   []string
	// Line is the entry's line in the spec file (0 when not from a file).
	Line int
}

// Problem is one thing wrong with a spec, located as precisely as the YAML
// allows.
type Problem struct {
	File string
	// Doc is the 1-based index of the YAML document, Line the 1-based line
	// in the file (0 when unknown).
	Doc     int
	Line    int
	Object  string // "AWSIamConfig aws-iam-auth-config"
	Path    string // "spec.mapRoles[0].roleARN"
	Msg     string
	Hint    string
	Warning bool
	// Fix is the value that would make the node at Path right, when one
	// rewrite does (the ARN the server matches); `mappings fix` writes it.
	Fix string
	// Unmatched marks a warning about entries the server can never match
	// (a role path): valid, but `server validate` fails on them unless
	// told otherwise.
	Unmatched bool
	// Note marks a warning that only informs (printed as "note:").
	Note bool
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	switch {
	case p.Note:
		b.WriteString("note: ")
	case p.Warning:
		b.WriteString("warning: ")
	}
	if p.Object != "" {
		fmt.Fprintf(&b, "%s (document %d): ", p.Object, p.Doc)
	} else if p.Doc > 0 {
		fmt.Fprintf(&b, "document %d: ", p.Doc)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	if p.Hint != "" {
		b.WriteString(" (" + p.Hint + ")")
	}
	return b.String()
}

// ValidationError carries every error-level problem of a spec at once, so
// a user fixes them in one round.
type ValidationError struct {
	File     string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	n := 0
	for _, p := range e.Problems {
		if !p.Warning {
			n++
		}
	}
	fmt.Fprintf(&b, "%s is not valid (%d %s):", e.File, n, text.Plural(n, "problem", "problems"))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// LoadSpec reads and validates a spec file ("-" is stdin).
func LoadSpec(path string, stdin io.Reader) (*Spec, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("could not read cluster spec: %w", err)
	}
	return ParseSpec(path, data)
}

// document is one decoded YAML document with its identity.
type document struct {
	index      int // 1-based
	root       *yaml.Node
	apiVersion string
	kind       string
	name       string
}

func (d *document) object() string { return d.kind + " " + d.name }

// splitDocuments decodes every document of a multi-document stream into
// nodes, keeping line numbers.
func splitDocuments(data []byte) ([]*document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*document
	for i := 1; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if err := resolveAliases(&n); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		d := &document{index: i}
		if len(n.Content) > 0 {
			d.root = n.Content[0]
		}
		if d.root != nil && d.root.Kind == yaml.MappingNode {
			d.apiVersion = scalar(get(d.root, "apiVersion"))
			d.kind = scalar(get(d.root, "kind"))
			d.name = scalar(get(get(d.root, "metadata"), "name"))
		}
		docs = append(docs, d)
	}
}

// get returns the value of key in mapping node m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// ParseSpec finds the Cluster and the AWSIamConfig it refers to in a
// multi-document spec and validates the AWSIamConfig. Every problem is
// reported at once in a *ValidationError; warnings ride on the Spec.
func ParseSpec(file string, data []byte) (*Spec, error) {
	v := &validator{file: file}
	docs, err := splitDocuments(data)
	if err != nil {
		// The YAML parser stops at the first syntax error; its message
		// carries the line.
		return nil, &ValidationError{File: file, Problems: []Problem{{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}}
	}
	var clusters, configs []*document
	for _, d := range docs {
		if d.root == nil {
			continue // an empty document, e.g. after a trailing ---
		}
		if d.root.Kind != yaml.MappingNode {
			v.add(Problem{Doc: d.index, Line: d.root.Line, Msg: "a document must be a mapping (an object with apiVersion and kind)"})
			continue
		}
		if d.kind == "" {
			v.add(Problem{Doc: d.index, Line: d.root.Line, Msg: "the document has no kind"})
			continue
		}
		if d.kind != KindCluster && d.kind != KindAWSIamConfig {
			continue // datacenter and machine configs etc.: not ours to judge
		}
		if d.apiVersion != EKSAAPIVersion {
			p := Problem{Doc: d.index, Line: lineOf(get(d.root, "apiVersion"), d.root), Object: d.object(), Path: "apiVersion",
				Msg: fmt.Sprintf("apiVersion %q is not %s", d.apiVersion, EKSAAPIVersion)}
			if strings.HasPrefix(d.apiVersion, "anywhere") {
				p.Hint = "the text was probably copied through a web proxy that rewrote the host name"
			}
			v.add(p)
			continue
		}
		if d.kind == KindCluster {
			clusters = append(clusters, d)
		} else {
			configs = append(configs, d)
		}
	}
	spec := &Spec{File: file}
	switch len(clusters) {
	case 0:
		v.add(Problem{Msg: "no Cluster document (kind: Cluster, apiVersion: " + EKSAAPIVersion + ")"})
		return nil, v.result(spec)
	case 1:
	default:
		v.add(Problem{Doc: clusters[1].index, Line: clusters[1].root.Line, Object: clusters[1].object(),
			Msg:  fmt.Sprintf("more than one Cluster in the file (also %s in document %d)", clusters[0].name, clusters[0].index),
			Hint: "give each cluster a file of its own"})
		return nil, v.result(spec)
	}
	cl := clusters[0]
	spec.ClusterName = cl.name
	if spec.ClusterName == "" {
		v.add(Problem{Doc: cl.index, Line: cl.root.Line, Object: "Cluster", Path: "metadata.name", Msg: "required"})
	}
	spec.KubernetesVersion = scalar(get(get(cl.root, "spec"), "kubernetesVersion"))

	// The AWSIamConfig is the one the Cluster names; any other in the
	// file belongs to nothing and is ignored.
	refs := get(get(cl.root, "spec"), "identityProviderRefs")
	var refName string
	var refNode *yaml.Node
	if refs != nil && refs.Kind == yaml.SequenceNode {
		for _, r := range refs.Content {
			if scalar(get(r, "kind")) == KindAWSIamConfig {
				if refName != "" {
					v.add(Problem{Doc: cl.index, Line: r.Line, Object: cl.object(), Path: "spec.identityProviderRefs",
						Msg: "more than one AWSIamConfig reference"})
					continue
				}
				refName, refNode = scalar(get(r, "name")), r
			}
		}
	}
	if refNode == nil {
		v.add(Problem{Doc: cl.index, Line: cl.root.Line, Object: cl.object(), Path: "spec.identityProviderRefs",
			Msg: "no reference to an AWSIamConfig", Hint: "add {kind: AWSIamConfig, name: NAME} as the seed shows"})
		return nil, v.result(spec)
	}
	var cfg *document
	for _, d := range configs {
		if d.name == refName {
			cfg = d
		}
	}
	if cfg == nil {
		var names []string
		for _, d := range configs {
			names = append(names, d.name)
		}
		p := Problem{Doc: cl.index, Line: refNode.Line, Object: cl.object(), Path: "spec.identityProviderRefs",
			Msg: fmt.Sprintf("AWSIamConfig %q is not in the file", refName)}
		if len(names) > 0 {
			p.Hint = "the file has " + strings.Join(names, ", ")
		}
		v.add(p)
		return nil, v.result(spec)
	}
	spec.Config = v.config(cfg)
	return spec, v.result(spec)
}

func lineOf(n, fallback *yaml.Node) int {
	if n != nil {
		return n.Line
	}
	if fallback != nil {
		return fallback.Line
	}
	return 0
}

// Unmatched are the warnings about entries the server can never match.
func Unmatched(problems []Problem) []Problem {
	var out []Problem
	for _, p := range problems {
		if p.Unmatched {
			out = append(out, p)
		}
	}
	return out
}
