//go:build unix

package fsafe

import "os"

// SyncDir makes a rename or creation in dir durable (fsync of the
// directory).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
