// Package cache implements `kubeiam cache list` and `kubeiam cache clear`,
// which show and remove what `kubeiam token` cached — never its secrets.
package cache

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

// cacheEnv is the variable `kubeiam token` reads its backend from; list
// reports the backend that setting leads to.
const cacheEnv = "KUBEIAM_CACHE"

// Options are the flags of the cache verbs.
type Options struct {
	IO     *iostreams.IOStreams
	Getenv func(string) string
	Now    func() time.Time
	// Dir overrides the cache directory (tests); empty means the default.
	Dir string

	Verb      string // "list" or "clear"
	Output    string // list: "" or "json"
	ClusterID string // clear
	All       bool   // clear
}

// NewCmd builds `kubeiam cache` and its verbs; runF replaces Run in tests.
func NewCmd(io *iostreams.IOStreams, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Show or clear the token cache",
		Long: `kubeiam token caches tokens, and the credentials it derived by assuming a role
or through SSO, so repeated kubectl calls make no STS calls. The secrets live in
files under $XDG_CACHE_HOME/kubeiam (~/.cache/kubeiam), encrypted with a key
held in the OS keyring, or as private plain files where there is no keyring.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newListCmd(io, runF), newClearCmd(io, runF))
	return cmd
}

func newOptions(io *iostreams.IOStreams, verb string) *Options {
	return &Options{IO: io, Getenv: os.Getenv, Now: time.Now, Verb: verb}
}

func run(opts *Options, runF func(*Options) error) error {
	if runF != nil {
		return runF(opts)
	}
	return Run(context.Background(), opts)
}

// Run performs opts.Verb.
func Run(ctx context.Context, opts *Options) error {
	if opts.Verb == "clear" {
		return runClear(ctx, opts)
	}
	return runList(ctx, opts)
}

func (opts *Options) open() (*cache.Cache, error) {
	b, err := cache.ParseBackend(opts.Getenv(cacheEnv))
	if err != nil {
		return nil, err
	}
	return cache.Open(cache.Options{Backend: b, Dir: opts.Dir, Warn: opts.IO.ErrOut, Now: opts.Now})
}
