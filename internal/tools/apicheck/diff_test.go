package main

import (
	"go/token"
	"strings"
	"testing"
)

// A changed signature is one incompatible change, not a removal plus an
// unrelated addition; a new symbol is compatible; a removed field, method
// or constant is incompatible; a pointer receiver becoming a value one is
// reported (conservatively) as a change.
func TestCompareClassifies(t *testing.T) {
	const p = "pkg example.com/m/p, "
	old := []string{
		p + "func Open(string) (*Store, error)",
		p + "func Gone()",
		p + "type Store struct",
		p + "type Store struct, Dir string",
		p + "type Store struct, Mode int",
		p + "method (*Store) Get(string) ([]byte, error)",
		p + "method (*Store) Put(string) error",
		p + "const Max int = 3",
		p + "type Getter interface { Get }",
		p + "type Getter interface, Get(string) ([]byte, error)",
	}
	cur := []string{
		p + "func Open(string, bool) (*Store, error)", // changed
		p + "type Store struct",
		p + "type Store struct, Dir string",
		p + "type Store struct, Mode uint32", // changed
		p + "method (*Store) Get(string) ([]byte, error)",
		p + "method (Store) Put(string) error", // receiver changed
		p + "const Max int = 4",                // value changed
		p + "type Getter interface { Get }",
		p + "type Getter interface, Get(string) ([]byte, error)",
		p + "func New() *Store",                             // added
		p + "type Store struct, Timeout int",                // added
		p + "type Getter2 interface { unexported methods }", // added
	}
	d := compare(old, cur)
	var inc, add []string
	for _, c := range d.incompatible {
		inc = append(inc, c.key)
	}
	for _, c := range d.added {
		add = append(add, c.key)
	}
	wantInc := []string{
		p + "const Max",
		p + "func Gone",
		p + "func Open",
		p + "method Store.Put",
		p + "type Store, Mode",
	}
	wantAdd := []string{
		p + "func New",
		p + "type Getter2",
		p + "type Store, Timeout",
	}
	if strings.Join(inc, "\n") != strings.Join(wantInc, "\n") {
		t.Errorf("incompatible:\n%s\nwant:\n%s", strings.Join(inc, "\n"), strings.Join(wantInc, "\n"))
	}
	if strings.Join(add, "\n") != strings.Join(wantAdd, "\n") {
		t.Errorf("added:\n%s\nwant:\n%s", strings.Join(add, "\n"), strings.Join(wantAdd, "\n"))
	}
	r := d.report()
	for _, want := range []string{
		"INCOMPATIBLE: 5 symbol(s)",
		"  removed  " + p + "func Gone()",
		"  changed  " + p + "func Open(string) (*Store, error)\n       to  " + p + "func Open(string, bool) (*Store, error)",
		"compatible: 3 new symbol(s), to add to the snapshot",
		"  added    " + p + "func New() *Store",
		"run 'make api'",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("report lacks %q:\n%s", want, r)
		}
	}
	if !compare(cur, cur).empty() {
		t.Error("a record compared with itself differs")
	}
}

// Additions alone are not called incompatible.
func TestReportAdditionsOnly(t *testing.T) {
	d := compare([]string{"pkg m/p, func A()"}, []string{"pkg m/p, func A()", "pkg m/p, func B()"})
	if len(d.incompatible) != 0 || len(d.added) != 1 {
		t.Fatalf("got %+v", d)
	}
	if r := d.report(); strings.Contains(r, "INCOMPATIBLE") || !strings.Contains(r, "func B()") {
		t.Errorf("report:\n%s", r)
	}
}

// The snapshot's lines for a few well-known symbols, spelled the way a
// reader of api/kubeiam.txt finds them: the loader and the printer agree
// with the packages as they are.
func TestAPIPrintsSignatures(t *testing.T) {
	lines := API(publicPackages(t))
	have := map[string]bool{}
	for _, l := range lines {
		have[l] = true
	}
	for _, want := range []string{
		"pkg github.com/kubeiam/kubeiam/token, const Prefix untyped string = \"k8s-aws-v1.\"",
		"pkg github.com/kubeiam/kubeiam/cache, func Open(Options) (*Cache, error)",
		"pkg github.com/kubeiam/kubeiam/cache, type Options struct, Warn io.Writer",
		"pkg github.com/kubeiam/kubeiam/bundle, type Progress interface { Start }",
		"pkg github.com/kubeiam/kubeiam/kubeconfig, func Edit(context.Context, string, EditOptions, func(*k8s.io/client-go/tools/clientcmd/api.Config) error) (*EditResult, error)",
	} {
		if !have[want] {
			t.Errorf("API lacks %q", want)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "pkg "+module+"/") {
			t.Errorf("line of another module: %s", l)
		}
		// The last name of the symbol's key is the one a caller spells:
		// F in "func F", M in "method T.M", Field in "type T, Field".
		k := key(l)
		name := strings.TrimPrefix(k[strings.LastIndexAny(k, " .")+1:], "*")
		if !token.IsExported(name) {
			t.Errorf("unexported name %q in the API: %s", name, l)
		}
	}
}

// TestPublicLeavesOutInternal: packages under an internal/ anywhere in the
// tree are not the library's API (other modules cannot import them).
func TestPublicLeavesOutInternal(t *testing.T) {
	for path, want := range map[string]bool{
		module + "/kubeconfig":                true,
		module + "/kubeconfig/internal/codec": false,
		module + "/internal/text":             false,
		module + "/cmd/kubeiam":               false,
		module + "/token/sso":                 true,
		"example.com/other":                   false,
	} {
		if got := public(path); got != want {
			t.Errorf("public(%q) = %t, want %t", path, got, want)
		}
	}
}
