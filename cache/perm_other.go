//go:build !unix

package cache

import "io/fs"

// checkPrivate trusts the ACL of the per-user directory on Windows
// (%LocalAppData% is private to the user); mode bits mean nothing there.
func checkPrivate(fs.FileInfo) error { return nil }
