package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"os"
	"slices"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/kubeiam/kubeiam"

// public reports whether an import path is one of the library packages whose
// API the snapshot records: everything in the module except the CLI layer and
// helpers under internal/, the binaries under cmd/, the benchmark program and
// the e2e rig (a module of its own).
func public(path string) bool {
	rel, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return false
	}
	first, _, _ := strings.Cut(rel, "/")
	switch first {
	case "internal", "cmd", "bench", "e2e":
		return false
	}
	// A package under an internal/ anywhere (kubeconfig/internal/codec) is
	// importable only from the tree above it: not the library's API.
	return !slices.Contains(strings.Split(rel, "/"), "internal")
}

// load type-checks the module's public packages found under dir. Only the
// public packages are read from source; everything they import comes from
// the build cache's export data (go list -export), so a warm cache makes
// this a second or two and nothing touches the network (-mod=mod is not
// set: go.sum already holds every module).
//
// The packages are loaded for the host's GOOS/GOARCH, not a fixed one, so
// the export data is the one builds and tests already cached. The API is
// the same on every release platform (GOOS=darwin and GOOS=windows give
// the same record today); an exported symbol that exists on one platform
// only would show as a difference on the others, which a library's callers
// would meet too.
func load(dir string) ([]*packages.Package, error) {
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
			packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports,
		Dir:   dir,
		Tests: false,
		Env:   append(os.Environ(), "GOFLAGS="+goflags(), "GOPROXY=off", "GOWORK=off"),
	}
	// First only the names (one go list, nothing compiled), so that the
	// CLI layer and the binaries are not type-checked from source for
	// nothing; a new top-level package is picked up without a list to edit.
	names, err := packages.Load(&packages.Config{Mode: packages.NeedName, Dir: dir, Env: cfg.Env}, module+"/...")
	if err != nil {
		return nil, fmt.Errorf("could not list the module's packages: %w", err)
	}
	var patterns []string
	for _, p := range names {
		if public(p.PkgPath) {
			patterns = append(patterns, p.PkgPath)
		}
	}
	if len(patterns) == 0 {
		return nil, fmt.Errorf("could not find the public packages under %s", dir)
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, fmt.Errorf("could not load the public packages: %w", err)
	}
	var errs []string
	for _, p := range pkgs {
		for _, e := range p.Errors {
			errs = append(errs, e.Error())
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("could not type-check the public packages:\n%s", strings.Join(errs, "\n"))
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].PkgPath < pkgs[j].PkgPath })
	return pkgs, nil
}

// goflags keeps the caller's GOFLAGS (the Makefile's yq build tags decide
// which files of yqlib exist, and so whether export data is already cached)
// and drops -race and -cover, which a test binary's environment does not
// carry anyway but a developer's might: the API does not depend on them and
// a build without them is what `go vet` already left in the cache.
func goflags() string {
	var keep []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		if f == "-race" || strings.HasPrefix(f, "-cover") {
			continue
		}
		keep = append(keep, f)
	}
	return strings.Join(keep, " ")
}

// API returns one line per exported symbol of the packages, in the style of
// Go's own api/go1.txt:
//
//	pkg github.com/kubeiam/kubeiam/cache, func Open(string) (*Store, error)
//	pkg github.com/kubeiam/kubeiam/cache, type Entry struct, Token string
//	pkg github.com/kubeiam/kubeiam/cache, method (*Store) Get(string) (Entry, bool)
//
// Lines are sorted and unique, so the snapshot diffs cleanly.
func API(pkgs []*packages.Package) []string {
	var lines []string
	for _, p := range pkgs {
		w := &writer{pkg: p.Types}
		scope := p.Types.Scope()
		for _, name := range scope.Names() {
			if obj := scope.Lookup(name); obj.Exported() {
				w.object(obj)
			}
		}
		lines = append(lines, w.lines...)
	}
	sort.Strings(lines)
	return dedup(lines)
}

func dedup(s []string) []string {
	out := s[:0]
	for i, l := range s {
		if i == 0 || l != s[i-1] {
			out = append(out, l)
		}
	}
	return out
}

type writer struct {
	pkg   *types.Package
	lines []string
}

func (w *writer) emit(format string, args ...any) {
	w.lines = append(w.lines, "pkg "+w.pkg.Path()+", "+fmt.Sprintf(format, args...))
}

// qualifier spells a type the way a reader of the snapshot can place it:
// unqualified in its own package, by name for the standard library, by full
// import path for everything else (two packages named v1 or api must not
// read the same).
func (w *writer) qualifier(p *types.Package) string {
	if p == w.pkg {
		return ""
	}
	first, _, _ := strings.Cut(p.Path(), "/")
	if !strings.Contains(first, ".") {
		return p.Name()
	}
	return p.Path()
}

func (w *writer) typ(t types.Type) string { return types.TypeString(unname(t), w.qualifier) }

// unname drops parameter names from the function types in t (a field
// `Progress func(done, total int)`), as sig does for declared functions.
func unname(t types.Type) types.Type {
	switch t := t.(type) {
	case *types.Signature:
		if t.TypeParams().Len() > 0 {
			return t // a generic signature is printed by sig, never here
		}
		return types.NewSignatureType(nil, nil, nil, unnameTuple(t.Params()), unnameTuple(t.Results()), t.Variadic())
	case *types.Pointer:
		return types.NewPointer(unname(t.Elem()))
	case *types.Slice:
		return types.NewSlice(unname(t.Elem()))
	case *types.Array:
		return types.NewArray(unname(t.Elem()), t.Len())
	case *types.Map:
		return types.NewMap(unname(t.Key()), unname(t.Elem()))
	case *types.Chan:
		return types.NewChan(t.Dir(), unname(t.Elem()))
	}
	return t
}

func unnameTuple(tup *types.Tuple) *types.Tuple {
	vars := make([]*types.Var, tup.Len())
	for i := range vars {
		v := tup.At(i)
		vars[i] = types.NewParam(v.Pos(), v.Pkg(), "", unname(v.Type()))
	}
	return types.NewTuple(vars...)
}

// sig prints a signature without parameter names: renaming a parameter is
// not an API change.
func (w *writer) sig(s *types.Signature) string {
	var b strings.Builder
	if tp := s.TypeParams(); tp.Len() > 0 {
		b.WriteString(w.tparams(tp))
	}
	b.WriteString("(")
	for i := 0; i < s.Params().Len(); i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		t := s.Params().At(i).Type()
		if s.Variadic() && i == s.Params().Len()-1 {
			b.WriteString("..." + w.typ(t.(*types.Slice).Elem()))
			continue
		}
		b.WriteString(w.typ(t))
	}
	b.WriteString(")")
	switch r := s.Results(); r.Len() {
	case 0:
	case 1:
		b.WriteString(" " + w.typ(r.At(0).Type()))
	default:
		b.WriteString(" (")
		for i := 0; i < r.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(w.typ(r.At(i).Type()))
		}
		b.WriteString(")")
	}
	return b.String()
}

func (w *writer) tparams(tp *types.TypeParamList) string {
	var parts []string
	for i := 0; i < tp.Len(); i++ {
		p := tp.At(i)
		parts = append(parts, p.Obj().Name()+" "+w.typ(p.Constraint()))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (w *writer) object(obj types.Object) {
	switch o := obj.(type) {
	case *types.Const:
		w.emit("const %s %s = %s", o.Name(), w.typ(o.Type()), o.Val().ExactString())
	case *types.Var:
		w.emit("var %s %s", o.Name(), w.typ(o.Type()))
	case *types.Func:
		w.emit("func %s%s", o.Name(), w.sig(o.Type().(*types.Signature)))
	case *types.TypeName:
		w.typeName(o)
	default:
		panic(fmt.Sprintf("apicheck: unexpected object %T %s", obj, obj.Name()))
	}
}

func (w *writer) typeName(o *types.TypeName) {
	if o.IsAlias() {
		w.emit("type %s = %s", o.Name(), w.typ(types.Unalias(o.Type())))
		return
	}
	named := o.Type().(*types.Named)
	head := "type " + o.Name()
	if tp := named.TypeParams(); tp.Len() > 0 {
		head += w.tparams(tp)
	}
	switch u := named.Underlying().(type) {
	case *types.Struct:
		w.emit("%s struct", head)
		w.fields(head+" struct", u, map[*types.Struct]bool{})
	case *types.Interface:
		w.emit("%s interface { %s }", head, strings.Join(w.interfaceMethodNames(u), ", "))
		for i := 0; i < u.NumMethods(); i++ {
			m := u.Method(i)
			if m.Exported() {
				w.emit("%s interface, %s%s", head, m.Name(), w.sig(m.Type().(*types.Signature)))
			}
		}
	default:
		w.emit("%s %s", head, w.typ(u))
	}
	// Methods of T and *T, promoted ones included: dropping an embedded
	// field removes its methods from the API as surely as deleting them.
	if _, isIface := named.Underlying().(*types.Interface); isIface {
		return
	}
	recv := o.Name()
	if tp := named.TypeParams(); tp.Len() > 0 {
		var names []string
		for i := 0; i < tp.Len(); i++ {
			names = append(names, tp.At(i).Obj().Name())
		}
		recv += "[" + strings.Join(names, ", ") + "]"
	}
	value := types.NewMethodSet(named)
	for _, sel := range methods(types.NewMethodSet(types.NewPointer(named))) {
		m := sel.Obj().(*types.Func)
		r := "*" + recv
		if value.Lookup(m.Pkg(), m.Name()) != nil {
			r = recv
		}
		w.emit("method (%s) %s%s", r, m.Name(), w.sig(m.Type().(*types.Signature)))
	}
}

func methods(ms *types.MethodSet) []*types.Selection {
	var out []*types.Selection
	for i := 0; i < ms.Len(); i++ {
		if sel := ms.At(i); sel.Obj().Exported() {
			out = append(out, sel)
		}
	}
	return out
}

// interfaceMethodNames lists an interface's methods for its one-line form;
// an unexported method means no other package can implement it, which is
// part of the promise too.
func (w *writer) interfaceMethodNames(u *types.Interface) []string {
	var names []string
	unexported := false
	for i := 0; i < u.NumMethods(); i++ {
		if m := u.Method(i); m.Exported() {
			names = append(names, m.Name())
		} else {
			unexported = true
		}
	}
	sort.Strings(names)
	if unexported {
		names = append(names, "unexported methods")
	}
	if u.NumEmbeddeds() > 0 && !u.IsMethodSet() {
		names = append(names, "type set "+w.typ(u))
	}
	return names
}

// fields lists a struct's exported fields, and the exported fields of its
// unexported embedded structs, which Go promotes into the outer type.
func (w *writer) fields(head string, s *types.Struct, seen map[*types.Struct]bool) {
	if seen[s] {
		return
	}
	seen[s] = true
	for i := 0; i < s.NumFields(); i++ {
		f := s.Field(i)
		if f.Embedded() {
			if f.Exported() {
				w.emit("%s, embedded %s", head, w.typ(f.Type()))
				continue
			}
			t := f.Type()
			if p, ok := t.(*types.Pointer); ok {
				t = p.Elem()
			}
			if inner, ok := t.Underlying().(*types.Struct); ok {
				w.fields(head, inner, seen)
			}
			continue
		}
		if f.Exported() {
			w.emit("%s, %s %s", head, f.Name(), w.typ(f.Type()))
		}
	}
}

// internalRefs returns the lines of the API that spell a package under
// internal/: another module can call such a function or read such a field
// but cannot name its type, so the library would promise something its
// users cannot write down.
func internalRefs(lines []string) []string {
	var bad []string
	for _, l := range lines {
		_, decl, _ := strings.Cut(l, ", ")
		if strings.Contains(decl, module+"/internal/") {
			bad = append(bad, l)
		}
	}
	return bad
}

// undocumented lists the public packages without a package comment and the
// exported declarations without a doc comment, as file:line: name.
func undocumented(pkgs []*packages.Package) []string {
	var out []string
	for _, p := range pkgs {
		if len(p.Syntax) == 0 {
			continue // tests only (cache/systemtest): nothing to import
		}
		hasPkgDoc := false
		for _, f := range p.Syntax {
			if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
				hasPkgDoc = true
			}
		}
		if !hasPkgDoc {
			out = append(out, p.PkgPath+": no package comment")
		}
		for _, f := range p.Syntax {
			out = append(out, undocumentedIn(p.Fset, f)...)
		}
	}
	return out
}

func undocumentedIn(fset *token.FileSet, f *ast.File) []string {
	var out []string
	report := func(pos token.Pos, name string) {
		p := fset.Position(pos)
		out = append(out, fmt.Sprintf("%s:%d: %s", relPath(p.Filename), p.Line, name))
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			name := d.Name.Name
			if d.Recv != nil {
				recv := receiverName(d.Recv.List[0].Type)
				if !ast.IsExported(recv) {
					continue
				}
				name = recv + "." + name
				if wellKnown[d.Name.Name] {
					continue
				}
			}
			if d.Doc == nil {
				report(d.Pos(), name)
			}
		case *ast.GenDecl:
			if d.Tok == token.IMPORT {
				continue
			}
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() && s.Doc == nil && d.Doc == nil {
						report(s.Pos(), s.Name.Name)
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						// A grouped const or var block may document the
						// group once (an enum's values read best together).
						if n.IsExported() && s.Doc == nil && d.Doc == nil && s.Comment == nil {
							report(n.Pos(), n.Name)
						}
					}
				}
			}
		}
	}
	return out
}

// wellKnown methods implement a standard library interface (error,
// fmt.Stringer, errors.Unwrap's, io's); the interface documents them, and a
// comment "Error returns the error" would be the tautology STYLE.md warns of.
var wellKnown = map[string]bool{
	"Error": true, "Unwrap": true, "Is": true, "As": true, "String": true, "GoString": true,
	"Read": true, "Write": true, "Close": true,
	"MarshalJSON": true, "UnmarshalJSON": true, "MarshalText": true, "UnmarshalText": true,
}

func receiverName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return receiverName(t.X)
	case *ast.IndexExpr:
		return receiverName(t.X)
	case *ast.IndexListExpr:
		return receiverName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return ""
}

func relPath(name string) string {
	if wd, err := os.Getwd(); err == nil {
		root := strings.TrimSuffix(wd, "/internal/tools/apicheck")
		if r, ok := strings.CutPrefix(name, root+"/"); ok {
			return r
		}
	}
	return name
}
