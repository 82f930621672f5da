package bundle

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/bundle"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

// InstallOptions are the flags of `kubeiam bundle install`.
type InstallOptions struct {
	IO *iostreams.IOStreams
	SourceFlags
	BinDir string
	Force  bool
}

// NewInstallCmd builds `kubeiam bundle install`; runF replaces RunInstall in tests.
func NewInstallCmd(io *iostreams.IOStreams, runF func(*InstallOptions) error) *cobra.Command {
	opts := &InstallOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Download, verify and install a release's aws-iam-authenticator or kubectl",
		Long: `Download the client archive a release publishes for this platform, check its
SHA-256 and SHA-512 while it streams, unpack the binary and put it in --bin-dir
atomically (mode 0755). A binary that is already the release's is left alone
unless --force. On any failure the previous binary stays as it was.

Prints the installed path and the binary's own version output.`,
		Example: `  kubeiam bundle install --kubeconfig my-cluster/my-cluster-eks-a-cluster.kubeconfig
  kubeiam bundle install --bundles bundles.yaml --kube-version 1.31 --component kubectl --bin-dir /usr/local/bin
  kubeiam bundle install --manifest release.yaml --mirror https://distro.eks.amazonaws.com=file:///srv/eks-d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.SourceFlags.validate(cmd); err != nil {
				return err
			}
			if opts.BinDir == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return clierr.WithHint(fmt.Errorf("could not find the home directory: %w", err), "pass --bin-dir")
				}
				opts.BinDir = filepath.Join(home, ".local", "bin")
			}
			if runF != nil {
				return runF(opts)
			}
			return RunInstall(cmd, opts)
		},
	}
	opts.SourceFlags.add(cmd)
	cmd.Flags().StringVar(&opts.BinDir, "bin-dir", "", "directory to install into (default ~/.local/bin)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "download and replace even when the installed binary is the release's")
	return cmd
}

// RunInstall resolves, downloads and installs.
func RunInstall(cmd *cobra.Command, opts *InstallOptions) error {
	// An interrupted download must still remove its temporary file.
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f, err := opts.fetcher(opts.IO)
	if err != nil {
		return err
	}
	res, err := bundle.Resolve(ctx, f, opts.source())
	if err != nil {
		return withHint(err)
	}
	trail(opts.IO, res.Trail)
	sel, err := res.Release.Select(opts.Component, opts.OS, opts.Arch)
	if err != nil {
		return withHint(err)
	}
	out, err := bundle.Install(ctx, f, sel, bundle.InstallOptions{
		BinDir:   opts.BinDir,
		Force:    opts.Force,
		Progress: newProgress(opts.IO.ErrOut, opts.IO.ErrIsTerminal),
	})
	if err != nil {
		if ctx.Err() != nil && cmd.Context().Err() == nil {
			return fmt.Errorf("interrupted: nothing installed")
		}
		return installHint(withHint(err), opts.BinDir)
	}
	what := fmt.Sprintf("%s %s, %s/%s", sel.Component, sel.Tag, sel.OS, sel.Arch)
	if out.Skipped {
		fmt.Fprintf(opts.IO.Out, "up to date: %s (%s)\n", out.Path, what)
	} else {
		fmt.Fprintf(opts.IO.Out, "installed %s (%s)\n", out.Path, what)
	}
	if out.Version != "" {
		fmt.Fprintln(opts.IO.Out, out.Version)
	}
	if out.VersionErr != nil {
		fmt.Fprintf(opts.IO.ErrOut, "note: %v\n", out.VersionErr)
	}
	if !onPath(opts.BinDir) {
		fmt.Fprintf(opts.IO.ErrOut, "note: %s is not on PATH; add it, or pass --bin-dir\n", opts.BinDir)
	}
	return nil
}

func installHint(err error, binDir string) error {
	if os.IsPermission(err) || strings.Contains(err.Error(), "permission denied") {
		return clierr.WithHint(err, "%s is not writable: pick another --bin-dir", binDir)
	}
	if strings.Contains(err.Error(), "no space left") {
		return clierr.WithHint(err, "free space on the file system of %s: nothing was installed", binDir)
	}
	return err
}

func onPath(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for _, p := range filepath.SplitList(os.Getenv("PATH")) {
		if pa, err := filepath.Abs(p); err == nil && pa == abs {
			return true
		}
	}
	return false
}
