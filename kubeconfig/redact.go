package kubeconfig

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/diff"
	yaml "go.yaml.in/yaml/v3"
)

// What a dry run's diff hides, in the file's own text:
//
//   - what `kubectl config view` hides: certificate-authority-data,
//     client-certificate-data and client-key-data as DATA+OMITTED, token and
//     password as REDACTED;
//   - beyond kubectl: the values of exec env entries and auth-provider
//     config keys whose names look secret (SECRET, TOKEN, PASSWORD, PASSWD,
//     KEY, CREDENTIAL, PRIVATE), except names ending in ID, which are
//     identifiers (AWS_ACCESS_KEY_ID, client-id) a reader needs to see.
//
// Each marker carries a short keyed hash of the value (the key is random
// for each diff and then forgotten), so a value that changes shows as a
// changed line and one that does not, does not — and nothing else about
// the value can be learnt from it.

const (
	markSecret = "REDACTED"
	markData   = "DATA+OMITTED"
)

// secretName says whether an env or auth-provider config name looks like
// it holds a secret.
func secretName(name string) bool {
	u := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if u == "ID" || strings.HasSuffix(u, "_ID") {
		return false
	}
	for _, w := range []string{"SECRET", "TOKEN", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "PRIVATE"} {
		if strings.Contains(u, w) {
			return true
		}
	}
	return false
}

// marker makes the replacement text for one value.
type marker struct{ key []byte }

func newMarker() marker {
	k := make([]byte, 32)
	rand.Read(k)
	return marker{key: k}
}

func (m marker) mark(kind, value string) string {
	if kind == markData {
		value = strings.Join(strings.Fields(value), "") // base64 wrapped or not
	}
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(value))
	return kind + "-" + hex.EncodeToString(h.Sum(nil)[:4])
}

// diffRedacted is the dry-run diff from the file's bytes old (nil: no file)
// to after, both redacted.
func diffRedacted(path string, old, after []byte) []byte {
	m := newMarker()
	oldLabel, before := "/dev/null", []byte(nil)
	if old != nil {
		oldLabel, before = path, redactText(old, m)
	}
	return diff.Diff(oldLabel, before, path, redactText(after, m))
}

// Redact returns kubeconfig text with its secrets replaced as a dry run's
// diff shows them, and everything else byte for byte.
func Redact(data []byte) []byte { return redactText(data, newMarker()) }

// redactText replaces each secret value where it stands in data. Text a
// YAML parser cannot read is not shown at all: its secrets cannot be found.
func redactText(data []byte, m marker) []byte {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []byte("# (content not shown: it does not parse as YAML, so its secrets cannot be redacted)\n")
	}
	secrets := findSecrets(&doc)
	if len(secrets) == 0 {
		return data
	}
	t := newText(data, &doc)
	out := t.replace(secrets, m, t.span)
	// Check the result: read again, every secret must now be a marker.
	// Should some scalar's text have been misjudged, fall back to cutting
	// whole lines from the value to the next node.
	var check yaml.Node
	if yaml.Unmarshal(out, &check) == nil {
		left := findSecrets(&check)
		if len(left) == len(secrets) && !slices.ContainsFunc(left, func(s secret) bool {
			return !strings.HasPrefix(s.node.Value, s.kind+"-")
		}) {
			return out
		}
	}
	return t.replace(secrets, m, t.lineSpan)
}

// secret is one value node to hide.
type secret struct {
	node *yaml.Node
	kind string // markSecret or markData
	// indent is the column of the value's key: lines of a multi-line value
	// are indented further.
	indent int
	flow   bool
}

// findSecrets walks the kubeconfig structure for the values to hide.
func findSecrets(doc *yaml.Node) []secret {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	var out []secret
	add := func(parent, key, v *yaml.Node, kind string) {
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if v.Kind == yaml.ScalarNode {
			out = append(out, secret{node: v, kind: kind, indent: key.Column - 1, flow: parent.Style&yaml.FlowStyle != 0})
		}
	}
	root := doc.Content[0]
	for _, item := range items(get(root, "clusters")) {
		if c := get(item, "cluster"); c != nil {
			pairs(c, func(k, v *yaml.Node) {
				if k.Value == "certificate-authority-data" {
					add(c, k, v, markData)
				}
			})
		}
	}
	for _, item := range items(get(root, "users")) {
		u := get(item, "user")
		if u == nil {
			continue
		}
		pairs(u, func(k, v *yaml.Node) {
			switch k.Value {
			case "client-certificate-data", "client-key-data":
				add(u, k, v, markData)
			case "token", "password":
				add(u, k, v, markSecret)
			}
		})
		for _, env := range items(get(get(u, "exec"), "env")) {
			if n := get(env, "name"); n != nil && secretName(n.Value) {
				pairs(env, func(k, v *yaml.Node) {
					if k.Value == "value" {
						add(env, k, v, markSecret)
					}
				})
			}
		}
		if c := get(get(u, "auth-provider"), "config"); c != nil {
			pairs(c, func(k, v *yaml.Node) {
				if secretName(k.Value) {
					add(c, k, v, markSecret)
				}
			})
		}
	}
	return out
}

// yamlDeref follows an alias.
func yamlDeref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

// pairs calls fn for each key and value of mapping n.
func pairs(n *yaml.Node, fn func(k, v *yaml.Node)) {
	n = yamlDeref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		fn(n.Content[i], n.Content[i+1])
	}
}

// get is the value of key in mapping n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	var out *yaml.Node
	pairs(n, func(k, v *yaml.Node) {
		if k.Value == key {
			out = yamlDeref(v)
		}
	})
	return out
}

// items are the entries of sequence n.
func items(n *yaml.Node) []*yaml.Node {
	n = yamlDeref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []*yaml.Node
	for _, c := range n.Content {
		if c = yamlDeref(c); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// text is data with its line offsets and the lines where nodes start.
type text struct {
	data      []byte
	lineStart []int // byte offset of each line (0-based index)
	nodeLines []int // sorted 1-based lines on which some node starts
}

func newText(data []byte, doc *yaml.Node) *text {
	t := &text{data: data, lineStart: []int{0}}
	for i, c := range data {
		if c == '\n' {
			t.lineStart = append(t.lineStart, i+1)
		}
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		t.nodeLines = append(t.nodeLines, n.Line)
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(doc)
	slices.Sort(t.nodeLines)
	return t
}

// lineEnd is the offset of the end of the line holding off (its '\n', or
// the end of data).
func (t *text) lineEnd(off int) int {
	if i := bytes.IndexByte(t.data[off:], '\n'); i >= 0 {
		return off + i
	}
	return len(t.data)
}

// offset is the byte offset of a node's 1-based line and rune column.
func (t *text) offset(line, col int) int {
	if line < 1 || line > len(t.lineStart) {
		return -1
	}
	off := t.lineStart[line-1]
	for range col - 1 {
		if off >= len(t.data) || t.data[off] == '\n' {
			return -1
		}
		_, w := utf8.DecodeRune(t.data[off:])
		off += w
	}
	return off
}

// indentOf is the number of leading spaces of the line starting at off.
func (t *text) indentOf(off int) int {
	n := 0
	for off+n < len(t.data) && t.data[off+n] == ' ' {
		n++
	}
	return n
}

// more says whether the line at off continues a value whose key is at
// column indent: blank, or indented further (and not a comment).
func (t *text) more(off, indent int) bool {
	end := t.lineEnd(off)
	line := bytes.TrimSpace(t.data[off:end])
	return len(line) == 0 || (t.indentOf(off) > indent && line[0] != '#')
}

// span is the text of a scalar value as written: quoted, plain (to a
// comment or, in a flow collection, to the next indicator), or a block
// scalar with its indented lines; a multi-line plain value takes its
// further-indented lines.
func (t *text) span(s secret) (int, int, bool) {
	start := t.offset(s.node.Line, s.node.Column)
	if start < 0 {
		return 0, 0, false
	}
	d := t.data
	switch s.node.Style {
	case yaml.DoubleQuotedStyle:
		for i := start + 1; i < len(d); i++ {
			switch d[i] {
			case '\\':
				i++
			case '"':
				return start, i + 1, true
			}
		}
		return 0, 0, false
	case yaml.SingleQuotedStyle:
		for i := start + 1; i < len(d); i++ {
			if d[i] == '\'' {
				if i+1 < len(d) && d[i+1] == '\'' {
					i++
					continue
				}
				return start, i + 1, true
			}
		}
		return 0, 0, false
	}
	end := t.lineEnd(start)
	if s.node.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		line := d[start:end]
		if s.flow {
			if i := bytes.IndexAny(line, ",]}"); i >= 0 {
				return start, start + i, true
			}
		}
		if i := bytes.Index(line, []byte(" #")); i >= 0 {
			line = line[:i]
		}
		end = start + len(bytes.TrimRight(line, " \t\r"))
		if s.flow {
			return start, end, true
		}
	}
	// Block scalars and multi-line plain ones go on while lines are
	// indented past the key; trailing blank lines stay.
	for next := t.lineEnd(start) + 1; next < len(d) && t.more(next, s.indent); next = t.lineEnd(next) + 1 {
		if e := t.lineEnd(next); len(bytes.TrimSpace(d[next:e])) > 0 {
			end = e
		}
	}
	return start, end, true
}

// lineSpan is the fallback: from the value to the end of the line before
// the next node starts on a later line.
func (t *text) lineSpan(s secret) (int, int, bool) {
	start := t.offset(s.node.Line, s.node.Column)
	if start < 0 {
		return 0, 0, false
	}
	i, _ := slices.BinarySearch(t.nodeLines, s.node.Line+1)
	last := len(t.lineStart) // 1-based last line
	if i < len(t.nodeLines) {
		last = t.nodeLines[i] - 1
	}
	return start, t.lineEnd(t.lineStart[last-1]), true
}

// replace swaps each secret's text, as spanOf finds it, for its marker. A
// secret whose text cannot be found takes the rest of its line.
func (t *text) replace(secrets []secret, m marker, spanOf func(secret) (int, int, bool)) []byte {
	type cut struct {
		s, e int
		with string
	}
	var cuts []cut
	for _, s := range secrets {
		a, b, ok := spanOf(s)
		if !ok {
			a = t.offset(s.node.Line, 1)
			if a < 0 {
				continue
			}
			b = t.lineEnd(a)
		}
		cuts = append(cuts, cut{a, b, m.mark(s.kind, s.node.Value)})
	}
	slices.SortFunc(cuts, func(x, y cut) int { return x.s - y.s })
	var out bytes.Buffer
	last := 0
	for _, c := range cuts {
		if c.s < last { // overlapping (an alias shared by two keys)
			continue
		}
		out.Write(t.data[last:c.s])
		out.WriteString(c.with)
		last = c.e
	}
	out.Write(t.data[last:])
	return out.Bytes()
}
