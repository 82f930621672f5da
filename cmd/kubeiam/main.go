// Command kubeiam: AWS IAM authentication for Kubernetes clusters.
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
