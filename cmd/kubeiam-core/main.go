// Command kubeiam-core is the full kubeiam: every verb, the AWS SDK, the
// Kubernetes clients. Users run it through the small kubeiam front binary,
// which answers cached tokens itself and hands everything else here; both
// are installed side by side.
package main

import (
	"context"
	"os"
	"runtime/debug"

	"github.com/kubeiam/kubeiam/internal/cmd/root"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

// gcPercent is the garbage collector's target when GOGC is not set. Each
// run lives for tens of milliseconds: at Go's default (100) a merge into a
// kubeconfig of 1,000 contexts stops for three collections, the first at
// a 4 MB heap, and takes ~40% longer (130 vs 90 ms here, half of it system
// time) for the same peak RSS; at 10,000 contexts it is even, for 8% more
// peak RSS. Higher targets were slower there (fresh pages cost more than
// collections).
const gcPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(root.Main(context.Background(), os.Args, iostreams.System()))
}
