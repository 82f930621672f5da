//go:build !unix

package fsafe

// SyncDir: Windows cannot open a directory for syncing; NTFS journals the
// rename itself.
func SyncDir(string) error { return nil }
