//go:build !unix && !windows

package fsafe

import (
	"io/fs"
	"os"
)

// Systems without links or FIFOs in the Unix sense (Plan 9, WASI, js):
// plain opens, and no owner or mode checks.
const noFollow = 0

func owner(fs.FileInfo) (int, bool) { return 0, false }

func loose(fs.FileInfo) bool { return false }

func openDir(dir string) (*os.File, error) { return os.Open(dir) }

// IsNoSpace: not told apart here.
func IsNoSpace(error) bool { return false }
