// Package version implements `kubeiam version`.
package version

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/buildinfo"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

// Options are the flags of `kubeiam version`.
type Options struct {
	IO     *iostreams.IOStreams
	Output string
}

// NewCmd builds `kubeiam version`; runF replaces Run in tests.
func NewCmd(io *iostreams.IOStreams, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Example: `  kubeiam version
  kubeiam version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "output format: json")
	return cmd
}

// Run prints the build information.
func Run(opts *Options) error {
	info := buildinfo.Get()
	switch opts.Output {
	case "":
		_, err := fmt.Fprintf(opts.IO.Out, "kubeiam %s (commit %s, %s, %s)\n", info.Version, info.Commit, info.GoVersion, info.Platform)
		return err
	case "json":
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	default:
		return fmt.Errorf("unknown output format %q: use json or leave it out", opts.Output)
	}
}

// NewAuthenticatorCmd answers `aws-iam-authenticator version` in that
// client's own format, for scripts that parse it.
func NewAuthenticatorCmd(io *iostreams.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version (aws-iam-authenticator format)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			info := buildinfo.Get()
			b, err := json.Marshal(struct {
				Version string
				Commit  string
			}{info.Version, info.Commit})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(io.Out, "%s\n", b)
			return err
		},
	}
}
