package main

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/tools/go/packages"
)

var (
	loadOnce sync.Once
	loaded   []*packages.Package
	loadErr  error
)

// publicPackages loads the module's public packages once for all tests.
func publicPackages(t *testing.T) []*packages.Package {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = load(moduleRoot) })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	if len(loaded) < 5 {
		t.Fatalf("found only %d public packages: the module layout or the filter changed", len(loaded))
	}
	return loaded
}

var moduleRoot = filepath.Join("..", "..", "..")

// The library's exported API is what api/kubeiam.txt records: a change to it
// has to be made on purpose (make api) and shows in review as a diff of that
// file. Removed and changed symbols are called out as incompatible.
func TestAPISnapshot(t *testing.T) {
	pkgs := publicPackages(t)
	old, err := readSnapshot(filepath.Join(moduleRoot, snapshotFile))
	if err != nil {
		t.Fatal(err)
	}
	if d := compare(old, API(pkgs)); !d.empty() {
		t.Fatal(d.report())
	}
}

// Other modules cannot import kubeiam/internal/...: an exported function,
// field or variable whose type is an internal one can be used but not
// written down, so the library must not have any.
func TestAPINamesNoInternalPackage(t *testing.T) {
	if bad := internalRefs(API(publicPackages(t))); len(bad) > 0 {
		t.Errorf("the public API names internal packages, which other modules cannot import:\n  %s", strings.Join(bad, "\n  "))
	}
}

// A library is read through go doc: every public package says what it is
// for, and every exported declaration has a comment.
func TestAPIDocumented(t *testing.T) {
	if missing := undocumented(publicPackages(t)); len(missing) > 0 {
		t.Errorf("%d exported declarations of the public packages have no doc comment:\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
}
