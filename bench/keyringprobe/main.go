// Command keyringprobe reads kubeiam's cache data key from the OS keyring
// once and exits: the floor plus exactly the keyring round trip a cache hit
// of the keyring backend pays in a fresh process (D-Bus connect, session
// open, one lookup), through the same go-keyring library. `make bench`
// subtracts the floor from it to get "one keyring round trip". It prints
// only the secret's length, never the secret.
package main

import (
	"fmt"
	"os"

	"github.com/zalando/go-keyring"
)

func main() {
	s, err := keyring.Get("kubeiam", "cache-data-key")
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyringprobe: could not read the data key: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("{\"length\":%d}\n", len(s))
}
