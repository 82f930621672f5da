// Command kubeiam is what users and kubectl run. It is deliberately small:
// kubectl runs its credential plugin on every call, and Go initialises every
// package linked into a binary whichever subcommand runs, so the AWS SDK,
// client-go and yqlib would cost several process starts' worth of init on a
// call that only needs to read a cached token. This binary links the cache
// and the exec protocol only; it answers cache hits of `kubeiam token` (and
// of `aws-iam-authenticator token` when installed under that name) and
// hands every other call, unchanged, to kubeiam-core installed beside it.
package main

import (
	"os"

	"github.com/kubeiam/kubeiam/internal/front"
)

func main() {
	os.Exit(front.Front(os.Args))
}
