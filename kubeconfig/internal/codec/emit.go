package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// The emitter writes a value the way kubectl's Write does — json.Marshal
// semantics (field names from json tags, omitempty, omitzero, []byte as
// base64, MarshalJSON), then go-yaml v2's block layout (keys in its order,
// sequences at the parent key's indent, its quoting of strings that cannot
// be plain) — but straight from the typed structs, without building JSON
// and a tree of interfaces in between. Where go-yaml's output would not
// read back as written (U+2028 and friends) it escapes instead.

// field is one JSON-visible struct field.
type field struct {
	name      string
	index     int
	omitEmpty bool
	omitZero  bool
}

// structInfo is a struct type's JSON fields, in emit order and by name.
type structInfo struct {
	fields []field // sorted in go-yaml's key order
	byName map[string]int
	// ok is false for shapes the fast codec does not handle (embedded
	// structs): the callers fall back to the full path.
	ok bool
}

var structInfos sync.Map // reflect.Type → *structInfo

func infoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string]int{}, ok: true}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			si.ok = false
			continue
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		fd := field{name: name, index: i}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "omitempty":
				fd.omitEmpty = true
			case "omitzero":
				fd.omitZero = true
			case "string", "inline":
				si.ok = false
			}
		}
		si.fields = append(si.fields, fd)
	}
	slices.SortFunc(si.fields, func(a, b field) int { return keyCompare(a.name, b.name) })
	for i, f := range si.fields {
		si.byName[f.name] = i
	}
	structInfos.Store(t, si)
	return si
}

// keyCompare orders map keys as go-yaml v2 does (kubectl's encoder): runes
// compared one by one, except that runs of digits compare as numbers and a
// non-letter sorts before a letter.
func keyCompare(a, b string) int {
	if yamlKeyLess(a, b) {
		return -1
	}
	if yamlKeyLess(b, a) {
		return 1
	}
	return 0
}

func yamlKeyLess(a, b string) bool {
	ar, br := []rune(a), []rune(b)
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		al, bl := unicode.IsLetter(ar[i]), unicode.IsLetter(br[i])
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}

var (
	marshalerType = reflect.TypeFor[json.Marshaler]()
	numberType    = reflect.TypeFor[json.Number]()
)

// emitter writes block YAML. Values it cannot write itself (a MarshalJSON
// of its own) go through encoding/json and come back as a tree of
// interfaces, which it writes the same way.
type emitter struct {
	b   bytes.Buffer
	err error
	// keep names top-level fields written even when omitempty or omitzero
	// would leave them out.
	keep []string
	top  bool
	// present is the stack of the fields of the structs being written.
	present []int
	// With sink set, the emitter hands its output to sink in pieces of
	// about flushSize instead of keeping it; sink returns false to stop
	// the emitter.
	sink     func([]byte) bool
	stopped  bool
	flushed  int
	lastByte byte
}

// flushSize is how much output the emitter buffers before it hands it to
// its sink: small enough to stay in the cache, and to be the same memory
// for the whole file.
const flushSize = 32 << 10

// flush hands what is buffered to the sink.
func (e *emitter) flush() {
	n := e.b.Len()
	if n == 0 {
		return
	}
	if !e.sink(e.b.Bytes()) {
		e.stopped = true
	}
	e.flushed += n
	e.lastByte = e.b.Bytes()[n-1]
	e.b.Reset()
}

// Comparer compares what is written to it with Want, for a writer that
// streams its output (Encode) and needs to know whether it changed.
type Comparer struct {
	Want    []byte
	off     int
	differs bool
}

// Write compares p with the next bytes of Want; it returns false once they
// differ.
func (c *Comparer) Write(p []byte) bool {
	if !c.differs && (c.off+len(p) > len(c.Want) || !bytes.Equal(p, c.Want[c.off:c.off+len(p)])) {
		c.differs = true
	}
	c.off += len(p)
	return !c.differs
}

// Same says everything written was Want, all of it.
func (c *Comparer) Same() bool { return !c.differs && c.off == len(c.Want) }

func (e *emitter) indent(n int) {
	for range n {
		e.b.WriteByte(' ')
	}
}

func (e *emitter) atLineStart() bool {
	if n := e.b.Len(); n > 0 {
		return e.b.Bytes()[n-1] == '\n'
	}
	return e.flushed == 0 || e.lastByte == '\n'
}

// errLongKey: YAML readers take a key written on its line ("key: v") only
// up to 1,024 characters; longer ones need the "? key" form, which no
// kubeconfig needs (kubectl's own writer gets such files wrong).
var errLongKey = errors.New("a mapping key longer than 1,000 characters")

func (e *emitter) key(k string, i, indent int) {
	if i > 0 || e.atLineStart() {
		e.indent(indent)
	}
	start := e.b.Len()
	switch {
	case plainSafe(k):
		e.b.WriteString(k)
	case k == "<<":
		// go-yaml writes it plain, and then reads a merge key.
		e.doubleQuoted(k)
	default:
		e.quoted(k)
	}
	if e.b.Len()-start > 1000 && e.err == nil {
		e.err = errLongKey
	}
	e.b.WriteByte(':')
}

func sep(inMap bool) string {
	if inMap {
		return " "
	}
	return ""
}

func (e *emitter) scalar(s string, inMap bool) {
	e.b.WriteString(sep(inMap))
	e.b.WriteString(s)
	e.b.WriteByte('\n')
}

// value writes v after "key:" (inMap) or after "- ".
func (e *emitter) value(v reflect.Value, indent int, inMap bool) {
	if !v.IsValid() {
		e.scalar("null", inMap)
		return
	}
	t := v.Type()
	if t == base64Type {
		// Through a pointer: boxing the value would allocate, once per
		// field of a thousand entries.
		var b *Base64
		if v.CanAddr() {
			b = v.Addr().Interface().(*Base64)
		} else {
			c := v.Interface().(Base64)
			b = &c
		}
		e.b.WriteString(sep(inMap))
		if b.plainText() {
			// Canonical text: what encoding the bytes would write.
			e.b.Write(b.raw)
		} else {
			e.base64(b.Bytes(), indent)
		}
		e.b.WriteByte('\n')
		return
	}
	if t == numberType {
		e.scalar(v.String(), inMap)
		return
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && t.Implements(marshalerType) ||
		t.Kind() == reflect.Pointer && !v.IsNil() && t.Implements(marshalerType) {
		e.viaJSON(v, indent, inMap)
		return
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			e.scalar("null", inMap)
			return
		}
		e.value(v.Elem(), indent, inMap)
	case reflect.Struct:
		si := infoOf(t)
		if !si.ok {
			e.viaJSON(v, indent, inMap)
			return
		}
		keep := e.keep
		if !e.top {
			keep = nil
		}
		e.top = false
		// The fields to write go on e.present, a stack shared by the
		// nested calls (one slice for the whole document, not one per
		// struct).
		start := len(e.present)
		for i, f := range si.fields {
			fv := v.Field(f.index)
			if (f.omitEmpty && isEmptyValue(fv) || f.omitZero && isZeroValue(fv)) && !slices.Contains(keep, f.name) {
				continue
			}
			e.present = append(e.present, i)
		}
		n := len(e.present) - start
		e.mapping(n, indent, inMap, func(i int) string { return si.fields[e.present[start+i]].name },
			func(i int) reflect.Value { return v.Field(si.fields[e.present[start+i]].index) })
		e.present = e.present[:start]
	case reflect.Map:
		if v.IsNil() {
			e.scalar("null", inMap)
			return
		}
		if t.Key().Kind() != reflect.String {
			e.viaJSON(v, indent, inMap)
			return
		}
		keys := make([]string, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			keys = append(keys, it.Key().String())
		}
		slices.SortFunc(keys, keyCompare)
		e.mapping(len(keys), indent, inMap, func(i int) string { return keys[i] },
			func(i int) reflect.Value { return v.MapIndex(reflect.ValueOf(keys[i]).Convert(t.Key())) })
	case reflect.Slice:
		if v.IsNil() {
			e.scalar("null", inMap)
			return
		}
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(marshalerType) {
			e.b.WriteString(sep(inMap))
			e.base64(v.Bytes(), indent)
			e.b.WriteByte('\n')
			return
		}
		e.sequence(v, indent, inMap)
	case reflect.Array:
		e.sequence(v, indent, inMap)
	case reflect.String:
		e.b.WriteString(sep(inMap))
		e.str(v.String(), indent)
		e.b.WriteByte('\n')
	case reflect.Bool:
		e.scalar(strconv.FormatBool(v.Bool()), inMap)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.scalar(strconv.FormatInt(v.Int(), 10), inMap)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.scalar(strconv.FormatUint(v.Uint(), 10), inMap)
	default:
		e.viaJSON(v, indent, inMap)
	}
}

// mapping writes n entries; an empty mapping is "{}".
func (e *emitter) mapping(n, indent int, inMap bool, key func(int) string, val func(int) reflect.Value) {
	if n == 0 {
		e.scalar("{}", inMap)
		return
	}
	if inMap {
		e.b.WriteByte('\n')
	}
	// In a sequence, "- key: v" with the rest of the keys under the first.
	for i := range n {
		e.key(key(i), i, indent+2)
		e.value(val(i), indent+2, true)
	}
}

// sequence writes a slice or array; an empty one is "[]". kubectl (go-yaml
// v2) writes a map's sequence at the key's indent.
func (e *emitter) sequence(v reflect.Value, indent int, inMap bool) {
	if v.Len() == 0 {
		e.scalar("[]", inMap)
		return
	}
	if inMap {
		e.b.WriteByte('\n')
	} else {
		indent += 2
	}
	for i := range v.Len() {
		if i > 0 || inMap {
			e.indent(indent)
		}
		e.b.WriteString("- ")
		e.value(v.Index(i), indent, false)
		if e.b.Len() >= flushSize {
			if e.flush(); e.stopped {
				return
			}
		}
	}
}

// viaJSON writes what encoding/json makes of v (types with a MarshalJSON
// of their own, such as extensions).
func (e *emitter) viaJSON(v reflect.Value, indent int, inMap bool) {
	js, err := json.Marshal(v.Interface())
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		e.scalar("null", inMap)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		if e.err == nil {
			e.err = err
		}
		e.scalar("null", inMap)
		return
	}
	e.value(reflect.ValueOf(&tree).Elem(), indent, inMap)
}

// emit writes a struct or map as the whole document and returns it in one
// piece; keep names top-level fields to write even when empty, size is the
// expected length (the previous file's), when known.
func emit(v any, size int, keep ...string) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(size + size/8)
	err := emitTo(v, func(p []byte) bool {
		b.Write(p)
		return true
	}, keep...)
	return b.Bytes(), err
}

// emitsAs reports whether emit(v, keep) would write exactly data,
// without keeping the output (and stopping at the first difference).
func emitsAs(v any, data []byte, keep ...string) bool {
	c := Comparer{Want: data}
	return emitTo(v, c.Write, keep...) == nil && c.Same()
}

// emitTo writes v in kubectl's layout to sink, in pieces, and stops when
// sink returns false.
func emitTo(v any, sink func([]byte) bool, keep ...string) error {
	e := emitter{keep: keep, top: true, sink: sink}
	e.b.Grow(2 * flushSize)
	e.document(v)
	if !e.stopped {
		e.flush()
	}
	return e.err
}

func (e *emitter) document(v any) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	// A top-level mapping has its keys at column 0: start it as a "- "
	// item would (no newline first) with the indent two less.
	e.value(rv, -2, false)
}

// isEmptyValue is encoding/json's omitempty test.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isZeroValue is encoding/json's omitzero test.
func isZeroValue(v reflect.Value) bool {
	if v.Type() == base64Type {
		return v.Field(0).Len() == 0 // Base64.IsZero, without boxing v
	}
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return true
		}
		return z.IsZero()
	}
	return v.IsZero()
}

// base64 writes data as encoding/json does, in base64, straight into the
// buffer: such text longer than any YAML word and starting with a letter or
// '/' is a plain scalar (every base64 character is plain-safe), anything
// else goes through str.
func (e *emitter) base64(data []byte, indent int) {
	n := base64.StdEncoding.EncodedLen(len(data))
	e.b.Grow(n)
	buf := e.b.AvailableBuffer()[:n]
	base64.StdEncoding.Encode(buf, data)
	if c := buf[0]; n > len("false") && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/') {
		e.b.Write(buf)
		return
	}
	e.str(string(buf), indent)
}

// str writes s as a plain scalar when YAML can only read it back as that
// string, as a literal block when it is multi-line text, else double-quoted
// (JSON's escapes are a subset of YAML's).
func (e *emitter) str(s string, indent int) {
	if plainSafe(s) {
		e.b.WriteString(s)
		return
	}
	if literalSafe(s) {
		body := s
		if strings.HasSuffix(s, "\n") {
			e.b.WriteString("|")
			body = s[:len(s)-1]
		} else {
			e.b.WriteString("|-")
		}
		for line := range strings.SplitSeq(body, "\n") {
			e.b.WriteByte('\n')
			if line != "" {
				e.indent(indent + 2)
				e.b.WriteString(line)
			}
		}
		return
	}
	e.quoted(s)
}

// quoted writes a string that cannot be plain as kubectl's writer (go-yaml)
// does — 'single' or "double" quotes by its own rules, so files kubectl
// wrote come out byte for byte — and in escaped double quotes where go-yaml
// would fold the line over several or write a character its reader
// misreads.
func (e *emitter) quoted(s string) {
	if strings.IndexFunc(s, func(r rune) bool { return !yamlPrintable(r) }) >= 0 {
		// go-yaml writes U+2028 unescaped, which its reader takes for a
		// line break: such strings get escapes.
		e.doubleQuoted(s)
		return
	}
	if out, err := yaml.Marshal(s); err == nil && len(out) > 0 && bytes.IndexByte(out, '\n') == len(out)-1 {
		e.b.Write(out[:len(out)-1])
		return
	}
	e.doubleQuoted(s)
}

// doubleQuoted writes s in double quotes with JSON's escapes (which YAML
// shares), escaping everything YAML would not keep as itself. Invalid UTF-8
// becomes U+FFFD, as in kubectl's writer (it goes through JSON).
func (e *emitter) doubleQuoted(s string) {
	e.b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			e.b.WriteByte('\\')
			e.b.WriteRune(r)
		case r == '\n':
			e.b.WriteString(`\n`)
		case r == '\t':
			e.b.WriteString(`\t`)
		case r == '\r':
			e.b.WriteString(`\r`)
		case r == utf8.RuneError:
			e.b.WriteString(`\ufffd`)
		case !yamlPrintable(r):
			fmt.Fprintf(&e.b, `\u%04x`, r)
		default:
			e.b.WriteRune(r)
		}
	}
	e.b.WriteByte('"')
}
