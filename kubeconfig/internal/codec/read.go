package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strconv"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// readLines reads a file in the layout the emitter writes (kubectl's)
// straight into v, with no YAML library and no tree in between: a line
// reader for block mappings, sequences at the key's indent, plain, quoted
// and literal scalars, and "{}"/"[]", storing values by
// encoding/json's rules for the types kubeconfig uses; extensions (which
// minikube writes) are read as any YAML value and kept as JSON. It returns
// false for anything else.
//
// It need not understand YAML: the caller accepts its result only when
// emitting it reproduces the input byte for byte. The emitter writes only
// what YAML reads back as the same value (the codec tests hold it to
// clientcmd), so a file equal to emit(v) is read by kubectl as v — whatever
// shortcuts this reader takes.
func readLines(data []byte, v any) bool {
	p := fastParser{data: data}
	p.node(reflect.ValueOf(v).Elem(), 0)
	return !p.bad && !p.more()
}

type fastParser struct {
	data []byte
	pos  int // start of the current line
	// The current line with "- " markers taken off: its content starts at
	// column col.
	virt bool
	col  int
	text []byte
	bad  bool
}

// line returns the current line's content column and text (after any
// consumed "- " markers).
func (p *fastParser) line() (int, []byte, bool) {
	if p.virt {
		return p.col, p.text, true
	}
	if p.pos >= len(p.data) {
		return 0, nil, false
	}
	end := bytes.IndexByte(p.data[p.pos:], '\n')
	if end < 0 {
		// kubectl ends every line; a last line without one is not its layout.
		p.bad = true
		return 0, nil, false
	}
	l := p.data[p.pos : p.pos+end]
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	if n == len(l) || l[n] == '#' || l[n] == '\t' {
		// Blank lines and comments are not in kubectl's layout.
		p.bad = true
		return 0, nil, false
	}
	p.virt, p.col, p.text = true, n, l[n:]
	return n, l[n:], true
}

func (p *fastParser) next() {
	if !p.virt {
		p.line()
	}
	end := bytes.IndexByte(p.data[p.pos:], '\n')
	p.pos += end + 1
	p.virt = false
}

func (p *fastParser) more() bool {
	_, _, ok := p.line()
	return ok
}

func isDash(t []byte) bool {
	return len(t) >= 2 && t[0] == '-' && t[1] == ' '
}

func (p *fastParser) fail() { p.bad = true }

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	extensionType   = reflect.TypeFor[runtime.RawExtension]()
	anyMapType      = reflect.TypeFor[map[string]any]()
	anySliceType    = reflect.TypeFor[[]any]()
)

// custom says v decodes itself: not for this reader (extensions aside,
// which take asExtension).
func custom(v reflect.Value) bool {
	return reflect.PointerTo(v.Type()).Implements(unmarshalerType)
}

// notScalar fails a Base64 value written as a mapping or sequence; it
// reports whether it did.
func (p *fastParser) notScalar(v reflect.Value) bool {
	if v.Type() == base64Type {
		p.fail()
		return true
	}
	return false
}

// asExtension reads an extension (any YAML value) with read into an
// interface and keeps the JSON of it, as the full path's RawExtension
// holds it (compact, keys sorted, a null kept as nothing).
func (p *fastParser) asExtension(v reflect.Value, read func(reflect.Value)) {
	var x any
	read(reflect.ValueOf(&x).Elem())
	if p.bad {
		return
	}
	js, err := json.Marshal(x)
	if err != nil {
		p.fail()
		return
	}
	if string(js) != "null" {
		v.Set(reflect.ValueOf(runtime.RawExtension{Raw: js}))
	}
}

// deref allocates through pointers to the value to fill.
func deref(v reflect.Value) reflect.Value {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	return v
}

// node reads into v the value whose first line starts at column col: a
// sequence ("- "), a mapping ("key:"), or a lone scalar.
func (p *fastParser) node(v reflect.Value, col int) {
	if v.Type() == extensionType {
		p.asExtension(v, func(x reflect.Value) { p.node(x, col) })
		return
	}
	if custom(v) {
		p.fail()
		return
	}
	c, t, ok := p.line()
	if !ok || c != col || len(t) == 0 {
		p.fail()
		return
	}
	if isDash(t) {
		p.sequence(v, col)
		return
	}
	if _, _, ok := splitKey(t); ok {
		p.mapping(v, col)
		return
	}
	if t[0] == '|' {
		// A sequence item's block: its lines are indented as the item's
		// content ("- " counted).
		if s, ok := p.literal(t, col-2); ok {
			p.setString(v, s)
		}
		return
	}
	p.scalar(v, t)
	p.next()
}

func (p *fastParser) sequence(v reflect.Value, col int) {
	if p.notScalar(v) {
		return
	}
	v = deref(v)
	typ := v.Type()
	if v.Kind() == reflect.Interface {
		typ = anySliceType
	}
	if typ.Kind() != reflect.Slice || typ.Elem().Kind() == reflect.Uint8 {
		p.fail()
		return
	}
	// One spare: room for the entry a merge adds, without a copy.
	s := reflect.MakeSlice(typ, 0, p.countItems(col)+1)
	for n := 0; !p.bad; n++ {
		c, t, ok := p.line()
		if !ok || c != col || !isDash(t) {
			break
		}
		if n == s.Cap() {
			grown := reflect.MakeSlice(typ, n, 2*n)
			reflect.Copy(grown, s)
			s = grown
		}
		s = s.Slice(0, n+1)
		p.col, p.text = col+2, t[2:]
		p.node(s.Index(n), col+2)
	}
	v.Set(s)
}

// countItems counts the items of the sequence whose first item is on the
// current line, at column col: the lines from there at that column that
// start with "- ", up to one less indented or one at that column that is
// no item. It sizes the slice for the items at once; a count that is off
// (it does not parse) costs only a larger slice later.
func (p *fastParser) countItems(col int) int {
	n := 0
	for pos := p.pos; pos < len(p.data); {
		end := bytes.IndexByte(p.data[pos:], '\n')
		if end < 0 {
			break
		}
		l := p.data[pos : pos+end]
		pos += end + 1
		i := 0
		for i < len(l) && i <= col && l[i] == ' ' {
			i++
		}
		switch {
		case i > col:
			continue // an item's content
		case i < col || !isDash(l[i:]):
			return n
		}
		n++
	}
	return n
}

func (p *fastParser) mapping(v reflect.Value, col int) {
	if p.notScalar(v) {
		return
	}
	v = deref(v)
	var si *structInfo
	switch {
	case v.Kind() == reflect.Interface:
		m := reflect.MakeMap(anyMapType)
		v.Set(m)
		v = m
	case v.Kind() == reflect.Struct:
		if si = infoOf(v.Type()); !si.ok {
			p.fail()
			return
		}
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
	default:
		p.fail()
		return
	}
	for !p.bad {
		c, t, ok := p.line()
		if !ok || c < col {
			break
		}
		if c > col || isDash(t) {
			if c != col {
				p.fail()
			}
			break // at col: the enclosing sequence's next item
		}
		k, rest, ok := splitKey(t)
		if !ok {
			p.fail()
			break
		}
		var target reflect.Value
		if si != nil {
			i, ok := si.byName[string(k)]
			if !ok {
				p.fail()
				break
			}
			target = v.Field(si.fields[i].index)
		} else {
			target = reflect.New(v.Type().Elem()).Elem()
		}
		p.value(target, rest, col)
		if si == nil {
			v.SetMapIndex(reflect.ValueOf(string(k)).Convert(v.Type().Key()), target)
		}
	}
}

// value reads the value of a key at column col whose text after ": " is
// rest (empty when the value is on the lines that follow).
func (p *fastParser) value(v reflect.Value, rest []byte, col int) {
	if v.Type() == extensionType {
		p.asExtension(v, func(x reflect.Value) { p.value(x, rest, col) })
		return
	}
	if custom(v) {
		p.fail()
		return
	}
	switch {
	case len(rest) == 0:
		p.next()
		c, t, ok := p.line()
		switch {
		case ok && c == col && isDash(t):
			p.sequence(v, col)
		case ok && c > col:
			p.node(v, c)
		default:
			p.fail()
		}
	case rest[0] == '|':
		if s, ok := p.literal(rest, col); ok {
			p.setString(v, s)
		}
	default:
		p.scalar(v, rest)
		p.next()
	}
}

// splitKey splits "key: rest" or "key:" (key plain or double-quoted).
func splitKey(t []byte) ([]byte, []byte, bool) {
	var key []byte
	var i int
	if len(t) > 0 && (t[0] == '"' || t[0] == '\'') {
		end := quotedEnd(t)
		s, ok := unquote(t[:max(end, 0)])
		if end < 0 || !ok {
			return nil, nil, false
		}
		key, i = s, end
	} else {
		i = bytes.IndexByte(t, ':')
		for i >= 0 && i+1 < len(t) && t[i+1] != ' ' {
			j := bytes.IndexByte(t[i+1:], ':')
			if j < 0 {
				i = -1
				break
			}
			i += 1 + j
		}
		if i <= 0 {
			return nil, nil, false
		}
		key = t[:i]
	}
	if i >= len(t) || t[i] != ':' {
		return nil, nil, false
	}
	rest := t[i+1:]
	if len(rest) > 0 {
		if rest[0] != ' ' || len(rest) == 1 {
			return nil, nil, false
		}
		rest = rest[1:]
	}
	return key, rest, true
}

// quotedEnd returns the index just past the closing quote of the quoted
// string t starts with, or -1.
func quotedEnd(t []byte) int {
	if t[0] == '\'' {
		for i := 1; i < len(t); i++ {
			if t[i] == '\'' {
				if i+1 < len(t) && t[i+1] == '\'' {
					i++ // '' is a quote
					continue
				}
				return i + 1
			}
		}
		return -1
	}
	for i := 1; i < len(t); i++ {
		switch t[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// unquote reads a 'single' or "double" quoted scalar (double quotes by
// JSON's rules: a file where YAML's differ fails the byte check).
func unquote(t []byte) ([]byte, bool) {
	if len(t) < 2 {
		return nil, false
	}
	if t[0] == '\'' {
		return bytes.ReplaceAll(t[1:len(t)-1], []byte("''"), []byte("'")), true
	}
	var s string
	if json.Unmarshal(t, &s) != nil {
		// Escapes YAML has and JSON has not (go-yaml writes \x01, \N,
		// \e...): the YAML reader for this one scalar.
		if yaml.Unmarshal(t, &s) != nil {
			return nil, false
		}
	}
	return []byte(s), true
}

// scalar reads a one-line value into v.
func (p *fastParser) scalar(v reflect.Value, t []byte) {
	switch {
	case v.Type() == base64Type && string(t) == "null":
		v.SetZero()
	case (string(t) == "{}" || string(t) == "[]") && p.notScalar(v):
	case string(t) == "{}":
		v = deref(v)
		switch {
		case v.Kind() == reflect.Struct:
		case v.Kind() == reflect.Map:
			v.Set(reflect.MakeMap(v.Type()))
		case v.Kind() == reflect.Interface:
			v.Set(reflect.MakeMap(anyMapType))
		default:
			p.fail()
		}
	case string(t) == "[]":
		v = deref(v)
		switch v.Kind() {
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		case reflect.Interface:
			v.Set(reflect.MakeSlice(anySliceType, 0, 0))
		default:
			p.fail()
		}
	case t[0] == '"' || t[0] == '\'':
		s, ok := unquote(t)
		if quotedEnd(t) != len(t) || !ok {
			p.fail()
			return
		}
		p.setString(v, s)
	case string(t) == "null":
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			v.SetZero()
		default:
			p.setPlain(v, t)
		}
	default:
		p.setPlain(v, t)
	}
}

// setPlain stores a plain scalar: text, or true/false, or an integer.
func (p *fastParser) setPlain(v reflect.Value, t []byte) {
	v = deref(v)
	switch v.Kind() {
	case reflect.Interface:
		// Inside an extension: the type is YAML's to say (a number, a
		// bool, a date...), as the full path would convert it.
		js, err := yaml.YAMLToJSON(t)
		if err != nil || !json.Valid(js) {
			p.fail()
			return
		}
		v.Set(reflect.ValueOf(json.RawMessage(js)))
	case reflect.Bool:
		switch string(t) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			p.fail()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(string(t), 10, v.Type().Bits())
		if err != nil {
			p.fail()
			return
		}
		v.SetInt(i)
	default:
		p.setString(v, t)
	}
}

// setString stores text in a string, or base64 text in a Base64 (as it
// is: in the input's memory, when it is canonical) or decoded in a []byte.
func (p *fastParser) setString(v reflect.Value, t []byte) {
	v = deref(v)
	switch {
	case v.Type() == base64Type:
		b, ok := parseBase64(t)
		if !ok {
			p.fail()
			return
		}
		*v.Addr().Interface().(*Base64) = b // no boxing: no allocation
	case v.Kind() == reflect.String:
		v.SetString(string(t))
	case v.Kind() == reflect.Interface:
		v.Set(reflect.ValueOf(string(t)))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		b := make([]byte, base64.StdEncoding.DecodedLen(len(t)))
		n, err := base64.StdEncoding.Decode(b, t)
		if err != nil {
			p.fail()
			return
		}
		v.SetBytes(b[:n])
	default:
		p.fail()
	}
}

// literal reads a "|" or "|-" block whose lines are indented col+2.
func (p *fastParser) literal(head []byte, col int) ([]byte, bool) {
	keep := string(head) == "|"
	if !keep && string(head) != "|-" {
		p.fail()
		return nil, false
	}
	p.next()
	pad := col + 2
	var b bytes.Buffer
	first := true
	for p.pos < len(p.data) {
		end := bytes.IndexByte(p.data[p.pos:], '\n')
		if end < 0 {
			p.fail()
			return nil, false
		}
		l := p.data[p.pos : p.pos+end]
		if len(l) > 0 {
			n := 0
			for n < len(l) && n < pad && l[n] == ' ' {
				n++
			}
			if n < pad {
				break
			}
			l = l[pad:]
		}
		if !first {
			b.WriteByte('\n')
		}
		b.Write(l)
		first = false
		p.pos += end + 1
	}
	if first || bytes.HasSuffix(b.Bytes(), []byte("\n")) {
		// Empty or ending in a blank line: not what the emitter writes.
		p.fail()
		return nil, false
	}
	if keep {
		b.WriteByte('\n')
	}
	return b.Bytes(), true
}
