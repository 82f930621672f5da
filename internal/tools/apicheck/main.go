// Command apicheck keeps the record of what kubeiam promises as a library:
// api/kubeiam.txt holds one line per exported symbol of every public package
// (everything outside internal/, cmd/, bench/ and e2e/), with its signature,
// in the style of Go's own api/go1.txt. TestAPISnapshot fails when the code
// and the record differ, and says which differences break callers.
//
//	go run ./internal/tools/apicheck      # compare, print the difference, exit 1 if any
//	go run ./internal/tools/apicheck -w   # rewrite api/kubeiam.txt (make api)
//
// It reads the packages' source and the build cache's export data through
// go list: no network, no git history.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// snapshotFile is the record, relative to the module root.
const snapshotFile = "api/kubeiam.txt"

func main() {
	write := flag.Bool("w", false, "rewrite "+snapshotFile+" from the code instead of comparing")
	root := flag.String("root", ".", "the module's root directory")
	flag.Parse()
	if err := run(*root, *write); err != nil {
		fmt.Fprintln(os.Stderr, "apicheck:", err)
		os.Exit(1)
	}
}

func run(root string, write bool) error {
	pkgs, err := load(root)
	if err != nil {
		return err
	}
	lines := API(pkgs)
	if bad := internalRefs(lines); len(bad) > 0 {
		return fmt.Errorf("the public API names internal packages, which other modules cannot import:\n  %s", strings.Join(bad, "\n  "))
	}
	path := filepath.Join(root, snapshotFile)
	if write {
		if err := writeSnapshot(path, lines); err != nil {
			return fmt.Errorf("could not write %s: %w", snapshotFile, err)
		}
		fmt.Printf("%s: %d symbols in %d packages\n", snapshotFile, len(lines), len(pkgs))
		return nil
	}
	old, err := readSnapshot(path)
	if err != nil {
		return err
	}
	if d := compare(old, lines); !d.empty() {
		return fmt.Errorf("%s", d.report())
	}
	return nil
}
