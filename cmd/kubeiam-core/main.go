// Command kubeiam-core is the full kubeiam: every verb, the AWS SDK, the
// Kubernetes clients. Users run it through the small kubeiam front binary,
// which answers cached tokens itself and hands everything else here; both
// are installed side by side.
package main

import (
	"context"
	"os"

	"github.com/kubeiam/kubeiam/internal/cmd/root"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

func main() {
	os.Exit(root.Main(context.Background(), os.Args, iostreams.System()))
}
