// Package kcnames reads the names a kubeconfig file defines (clusters,
// contexts, users) without a YAML library, for the front binary, which must
// not link one (`kubeiam shell CONTEXT` looks the context up here). It says
// when it is unsure, and the caller then asks kubeiam-core. A leaf: the
// standard library only.
package kcnames

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Entries are the names of the entries a kubeconfig file defines, each
// list sorted.
type Entries struct {
	Clusters, Contexts, Users []string
}

// HasContext reports whether name is among the contexts.
func (n *Entries) HasContext(name string) bool {
	i := sort.SearchStrings(n.Contexts, name)
	return i < len(n.Contexts) && n.Contexts[i] == name
}

// Scan reads the entry names of a kubeconfig file without a YAML library,
// for the front binary, which must not link one. It understands block and
// flow (JSON) styles, plain, single- and double-quoted one-line scalars and
// comments, and checks every field kubectl's decoder types (booleans,
// base64 data, lists, maps, names, duplicate names) against what that
// decoder would accept. It returns ok=false for anything it is not sure of
// — anchors, tags, multi-line scalars, tabs, several documents, a plain
// scalar YAML might read as a number, a type kubectl would refuse — and the
// caller then asks kubeiam-core, so a file is never read differently from
// how kubectl and kubeiam-core read it.
func Scan(data []byte) (*Entries, bool) {
	p := &scanner{}
	if !printable(data) {
		return nil, false
	}
	for _, l := range strings.Split(string(data), "\n") {
		t := strings.TrimLeft(l, " ")
		if t == "" || t[0] == '#' {
			continue
		}
		if strings.HasPrefix(l, "---") || strings.HasPrefix(l, "...") || l[0] == '%' {
			return nil, false
		}
		p.lines = append(p.lines, line{col: len(l) - len(t), text: strings.TrimRight(t, " ")})
	}
	top := null
	if len(p.lines) > 0 {
		top = p.block(-1)
		if p.i < len(p.lines) {
			p.bad = true
		}
	}
	names := &Entries{}
	if p.bad || !checkConfig(top, names) {
		return nil, false
	}
	for _, l := range [][]string{names.Clusters, names.Contexts, names.Users} {
		sort.Strings(l)
	}
	return names, true
}

// printable: only what YAML allows in a file (libyaml's is_printable),
// no tabs or carriage returns (left to a real parser), no byte-order mark.
func printable(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	for _, r := range string(data) {
		switch {
		case r == '\n', r >= 0x20 && r <= 0x7e, r == 0x85,
			r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd && r != 0xfeff, r >= 0x10000:
		default:
			return false
		}
	}
	return true
}

// node is a YAML value: a mapping (keys in order), a sequence, a scalar or
// null.
type node struct {
	kind  byte // 'm', 's', 'v' (scalar), 'n' (null)
	keys  []string
	vals  []*node
	items []*node
	str   string
	plain bool // an unquoted scalar, which YAML may read as a non-string
}

var null = &node{kind: 'n'}

type line struct {
	col  int
	text string
}

type scanner struct {
	lines []line
	i     int
	bad   bool
	eof   bool // a flow value ran past its text
}

// block reads the node whose lines are indented more than parent.
func (p *scanner) block(parent int) *node {
	if p.bad || p.i >= len(p.lines) || p.lines[p.i].col <= parent {
		return null
	}
	l := p.lines[p.i]
	if isSeqItem(l.text) {
		return p.seq(l.col)
	}
	if _, _, ok := splitKey(l.text); ok {
		return p.mapping(l.col)
	}
	p.i++
	return p.inline(l.text, parent)
}

func isSeqItem(t string) bool { return t == "-" || strings.HasPrefix(t, "- ") }

// seq reads "- item" lines at column col. An item's content is read as a
// line of its own, at the column it starts in.
func (p *scanner) seq(col int) *node {
	n := &node{kind: 's'}
	for !p.bad && p.i < len(p.lines) && p.lines[p.i].col == col && isSeqItem(p.lines[p.i].text) {
		rest := strings.TrimLeft(p.lines[p.i].text[1:], " ")
		if rest == "" {
			p.i++
			n.items = append(n.items, p.block(col))
			continue
		}
		p.lines[p.i] = line{col: col + len(p.lines[p.i].text) - len(rest), text: rest}
		n.items = append(n.items, p.block(col))
	}
	return n
}

// mapping reads "key: value" lines at column col.
func (p *scanner) mapping(col int) *node {
	n := &node{kind: 'm'}
	for !p.bad && p.i < len(p.lines) && p.lines[p.i].col == col {
		key, rest, ok := splitKey(p.lines[p.i].text)
		if !ok {
			p.bad = true
			break
		}
		for _, k := range n.keys {
			if k == key {
				p.bad = true // duplicate keys: decoders differ
			}
		}
		p.i++
		var v *node
		switch {
		case rest != "":
			v = p.inline(rest, col)
		case p.i < len(p.lines) && p.lines[p.i].col == col && isSeqItem(p.lines[p.i].text):
			v = p.seq(col) // a sequence may sit at its key's indent
		default:
			v = p.block(col)
		}
		n.keys, n.vals = append(n.keys, key), append(n.vals, v)
	}
	if p.i < len(p.lines) && p.lines[p.i].col > col {
		p.bad = true // a continuation line: a multi-line scalar or worse
	}
	return n
}

// splitKey splits "key: rest" (or "key:"); the key is plain or quoted.
func splitKey(t string) (key, rest string, ok bool) {
	if t == "" || strings.ContainsRune("-?:,[]{}#&*!|>%@`", rune(t[0])) {
		return "", "", false
	}
	var after string
	if t[0] == '"' || t[0] == '\'' {
		k, n, ok := quoted(t)
		if !ok {
			return "", "", false
		}
		key, after = k, t[n:]
		if !strings.HasPrefix(after, ":") {
			return "", "", false
		}
		after = after[1:]
	} else {
		i := strings.Index(t, ": ")
		if i < 0 {
			if !strings.HasSuffix(t, ":") {
				return "", "", false
			}
			i = len(t) - 1
		}
		key, after = t[:i], t[i+1:]
		if strings.Contains(key, " #") || strings.HasSuffix(key, " ") {
			return "", "", false
		}
	}
	if after != "" && after[0] != ' ' {
		return "", "", false
	}
	rest = strings.TrimLeft(after, " ")
	if strings.HasPrefix(rest, "#") {
		rest = ""
	}
	return key, rest, true
}

// inline reads a value that starts on the line already taken: a one-line
// plain or quoted scalar, or a flow value, which may go on over the lines
// that follow while they are indented more than parent (pretty-printed
// JSON).
func (p *scanner) inline(t string, parent int) *node {
	var n *node
	var used int
	switch t[0] {
	case '[', '{', '"', '\'':
		n, used = p.flow(t, 0)
		if p.bad && p.eof && t[0] != '"' && t[0] != '\'' {
			// Not closed on its line: read on, lines joined by "\n", which
			// only flow whitespace may span.
			p.bad, p.eof = false, false
			var b strings.Builder
			b.WriteString(t)
			for k := p.i; k < len(p.lines) && p.lines[k].col > parent; k++ {
				b.WriteByte('\n')
				b.WriteString(p.lines[k].text)
			}
			t = b.String()
			n, used = p.flow(t, 0)
			lines := strings.Count(t[:used], "\n")
			p.i += lines
			if end := strings.IndexByte(t[used:], '\n'); end >= 0 {
				t = t[:used+end]
			}
		}
	default:
		end := strings.Index(t, " #")
		if end < 0 {
			end = len(t)
		}
		s := strings.TrimRight(t[:end], " ")
		if strings.ContainsRune("&*!|>%@`?,]}", rune(s[0])) || strings.Contains(s, ": ") || strings.HasSuffix(s, ":") || isSeqItem(s) {
			p.bad = true
			return null
		}
		return scalarNode(s)
	}
	rest := strings.TrimLeft(t[used:], " ")
	if rest != "" && rest[0] != '#' {
		p.bad = true
	}
	return n
}

func scalarNode(s string) *node {
	switch s {
	case "~", "null", "Null", "NULL":
		return null
	}
	return &node{kind: 'v', str: s, plain: true}
}

// flow reads a flow value starting at t[i] and returns it with the index
// after it.
func (p *scanner) flow(t string, i int) (*node, int) {
	i = skipSpace(t, i)
	if p.bad || i >= len(t) {
		p.bad, p.eof = true, i >= len(t)
		return null, i
	}
	switch t[i] {
	case '"', '\'':
		s, n, ok := quoted(t[i:])
		if !ok {
			p.bad = true
		}
		return &node{kind: 'v', str: s}, i + n
	case '[':
		n := &node{kind: 's'}
		i = skipSpace(t, i+1)
		for !p.bad && i < len(t) && t[i] != ']' {
			var v *node
			v, i = p.flow(t, i)
			n.items = append(n.items, v)
			i = p.flowNext(t, i, ']')
		}
		return n, p.close(t, i, ']')
	case '{':
		n := &node{kind: 'm'}
		i = skipSpace(t, i+1)
		for !p.bad && i < len(t) && t[i] != '}' {
			k, j := p.flow(t, i)
			if k.kind != 'v' || j >= len(t) || t[j] != ':' {
				p.bad = true
				break
			}
			i = skipSpace(t, j+1)
			v := null
			if i < len(t) && t[i] != ',' && t[i] != '}' {
				v, i = p.flow(t, i)
			}
			for _, have := range n.keys {
				if have == k.str {
					p.bad = true
				}
			}
			n.keys, n.vals = append(n.keys, k.str), append(n.vals, v)
			i = p.flowNext(t, i, '}')
		}
		return n, p.close(t, i, '}')
	}
	// A plain scalar ends at a flow indicator or ": ".
	j := i
	for j < len(t) && !strings.ContainsRune(",[]{}#\n", rune(t[j])) {
		if t[j] == ':' {
			if j+1 < len(t) && t[j+1] != ' ' && t[j+1] != ',' && t[j+1] != '}' && t[j+1] != ']' {
				p.bad = true // "a:b" in flow: YAML parsers disagree
			}
			break
		}
		j++
	}
	s := strings.TrimRight(t[i:j], " ")
	if s == "" || strings.ContainsRune("&*!|>%@`?", rune(s[0])) || s == "-" || isSeqItem(s) {
		p.bad = true
		return null, j
	}
	return scalarNode(s), j
}

// flowNext moves past the "," after an element, or stops at end.
func (p *scanner) flowNext(t string, i int, end byte) int {
	i = skipSpace(t, i)
	switch {
	case i < len(t) && t[i] == ',':
		return skipSpace(t, i+1)
	case i < len(t) && t[i] == end:
		return i
	}
	p.bad, p.eof = true, i >= len(t)
	return i
}

func (p *scanner) close(t string, i int, end byte) int {
	if i >= len(t) || t[i] != end {
		p.bad, p.eof = true, i >= len(t)
		return i
	}
	return i + 1
}

// skipSpace skips blanks, line ends and comments (a "#" after a blank).
func skipSpace(t string, i int) int {
	for i < len(t) {
		switch {
		case t[i] == ' ' || t[i] == '\n':
			i++
		case t[i] == '#' && (i == 0 || t[i-1] == ' ' || t[i-1] == '\n'):
			end := strings.IndexByte(t[i:], '\n')
			if end < 0 {
				return len(t)
			}
			i += end
		default:
			return i
		}
	}
	return i
}

// quoted reads a single- or double-quoted scalar at the start of t and
// returns it with its length; escapes other than the common ones are
// left to a real YAML parser.
func quoted(t string) (string, int, bool) {
	q := t[0]
	var b strings.Builder
	for i := 1; i < len(t); i++ {
		c := t[i]
		switch {
		case c == q && q == '\'' && i+1 < len(t) && t[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == q:
			return b.String(), i + 1, true
		case c == '\n':
			return "", 0, false // YAML folds it: left to a real parser
		case c == '\\' && q == '"':
			if i+1 >= len(t) {
				return "", 0, false
			}
			i++
			switch e := t[i]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if i+4 >= len(t) {
					return "", 0, false
				}
				r, err := strconv.ParseUint(t[i+1:i+5], 16, 32)
				if err != nil || (r >= 0xd800 && r < 0xe000) {
					return "", 0, false
				}
				b.WriteRune(rune(r))
				i += 4
			default:
				return "", 0, false
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

// The fields kubectl's decoder (clientcmd v1 through JSON) types. A field
// not listed is ignored by it, whatever its value.
type kind int

const (
	anyValue kind = iota
	str
	boolean
	b64
	strList
	strMap
	strListMap
	envList
	extensions
	// objects, whose fields fieldKind knows
	clusterObj
	userObj
	contextObj
	execObj
	authProviderObj
	envVarObj
	preferencesObj
	extensionObj
)

// fieldKind is the kind of field key of an object of kind obj: a switch,
// not map literals, which would cost every start of the front their
// building at init.
func fieldKind(obj kind, key string) kind {
	switch obj {
	case clusterObj:
		switch key {
		case "server", "tls-server-name", "certificate-authority", "proxy-url":
			return str
		case "insecure-skip-tls-verify", "disable-compression":
			return boolean
		case "certificate-authority-data":
			return b64
		}
	case userObj:
		switch key {
		case "client-certificate", "client-key", "token", "tokenFile", "as", "as-uid", "username", "password":
			return str
		case "client-certificate-data", "client-key-data":
			return b64
		case "as-groups":
			return strList
		case "as-user-extra":
			return strListMap
		case "auth-provider":
			return authProviderObj
		case "exec":
			return execObj
		}
	case contextObj:
		switch key {
		case "cluster", "user", "namespace":
			return str
		}
	case execObj:
		switch key {
		case "command", "apiVersion", "installHint", "interactiveMode":
			return str
		case "args":
			return strList
		case "env":
			return envList
		case "provideClusterInfo":
			return boolean
		}
	case authProviderObj:
		switch key {
		case "name":
			return str
		case "config":
			return strMap
		}
	case envVarObj:
		if key == "name" || key == "value" {
			return str
		}
	case preferencesObj:
		if key == "colors" {
			return boolean
		}
	}
	if key == "extensions" && obj != execObj && obj != authProviderObj && obj != envVarObj && obj != extensionObj {
		return extensions
	}
	return anyValue
}

// checkConfig checks the top level and collects the names.
func checkConfig(top *node, names *Entries) bool {
	if top.kind == 'n' {
		return true
	}
	if top.kind != 'm' {
		return false
	}
	for i, k := range top.keys {
		v := top.vals[i]
		var ok bool
		switch k {
		case "apiVersion", "current-context":
			ok = isStr(v)
		case "kind":
			ok = isStr(v) && (v.kind == 'n' || v.str == "" || v.str == "Config")
		case "preferences":
			ok = check(v, preferencesObj)
		case "extensions":
			ok = check(v, extensions)
		case "clusters":
			names.Clusters, ok = named(v, "cluster", clusterObj)
		case "users":
			names.Users, ok = named(v, "user", userObj)
		case "contexts":
			names.Contexts, ok = named(v, "context", contextObj)
		default:
			ok = check(v, anyValue)
		}
		if !ok {
			return false
		}
	}
	return true
}

// named checks a list of {name, <inner>: {...}} entries and returns the
// names; a duplicate name is refused by kubectl's decoder.
func named(v *node, inner string, obj kind) ([]string, bool) {
	if v.kind == 'n' {
		return nil, true
	}
	if v.kind != 's' {
		return nil, false
	}
	var names []string
	seen := map[string]bool{}
	for _, it := range v.items {
		if it.kind != 'm' {
			return nil, false
		}
		name := ""
		for i, k := range it.keys {
			var ok bool
			switch k {
			case "name":
				ok = isStr(it.vals[i])
				name = it.vals[i].str
			case inner:
				ok = check(it.vals[i], obj)
			default:
				ok = check(it.vals[i], anyValue)
			}
			if !ok {
				return nil, false
			}
		}
		if seen[name] {
			return nil, false
		}
		seen[name] = true
		names = append(names, name)
	}
	return names, true
}

// check reports whether kubectl's decoder takes v as a k.
func check(v *node, k kind) bool {
	if v.kind == 'n' {
		return true // null is the zero value of every field
	}
	switch k {
	case str:
		return isStr(v)
	case boolean:
		return v.kind == 'v' && v.plain && (v.str == "true" || v.str == "false")
	case b64:
		if !isStr(v) {
			return false
		}
		_, err := base64.StdEncoding.DecodeString(v.str)
		return err == nil
	case strList:
		return each(v, 's', func(e *node) bool { return isStr(e) })
	case strMap:
		return each(v, 'm', func(e *node) bool { return isStr(e) })
	case strListMap:
		return each(v, 'm', func(e *node) bool { return check(e, strList) })
	case envList:
		return each(v, 's', func(e *node) bool { return e.kind == 'm' && check(e, envVarObj) })
	case extensions:
		_, ok := named(v, "extension", extensionObj)
		return ok
	case clusterObj, userObj, contextObj, execObj, authProviderObj, envVarObj, preferencesObj:
		if v.kind != 'm' {
			return false
		}
		for i, key := range v.keys {
			if !check(v.vals[i], fieldKind(k, key)) {
				return false
			}
		}
		return true
	}
	// anyValue: whatever it is, it must convert to JSON the same way for
	// every reader.
	switch v.kind {
	case 'v':
		return !v.plain || isPlainString(v.str) || isBoolWord(v.str) || isInt(v.str)
	case 's':
		return each(v, 's', func(e *node) bool { return check(e, anyValue) })
	}
	return each(v, 'm', func(e *node) bool { return check(e, anyValue) })
}

// each checks every element of a sequence or the values of a mapping.
func each(v *node, k byte, ok func(*node) bool) bool {
	if v.kind != k {
		return false
	}
	for _, e := range v.items {
		if !ok(e) {
			return false
		}
	}
	for _, e := range v.vals {
		if !ok(e) {
			return false
		}
	}
	return true
}

func isStr(v *node) bool {
	return v.kind == 'n' || v.kind == 'v' && (!v.plain || isPlainString(v.str))
}

// isPlainString: an unquoted scalar that YAML 1.1 and 1.2 both read as a
// string — not a boolean, null, number, timestamp or special float.
func isPlainString(s string) bool {
	if s == "" || isBoolWord(s) || strings.ContainsRune("0123456789+~=<", rune(s[0])) {
		return false
	}
	switch strings.ToLower(s) {
	case "null", ".inf", "-.inf", ".nan":
		return false
	}
	// "-x", "./x" are strings; "-1", ".5", "-.5" are numbers.
	if s[0] == '-' || s[0] == '.' {
		return len(s) > 1 && !strings.ContainsRune("0123456789. ", rune(s[1]))
	}
	return true
}

func isBoolWord(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF":
		return true
	}
	return false
}

func isInt(s string) bool {
	if s == "0" {
		return true
	}
	s = strings.TrimPrefix(s, "-")
	if s == "" || s[0] == '0' || len(s) > 15 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
