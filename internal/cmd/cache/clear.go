package cache

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

func newClearCmd(io *iostreams.IOStreams, runF func(*Options) error) *cobra.Command {
	opts := newOptions(io, "clear")
	cmd := &cobra.Command{
		Use:   "clear (--cluster-id ID | --all)",
		Short: "Remove cached tokens and credentials of one cluster, or all",
		Long: `Remove cached tokens and credentials, so the next kubeiam token call signs anew
(and assumes its role again). The keyring's data key stays.`,
		Example: `  kubeiam cache clear --cluster-id 6d9b1f5e-1c2a-4c36-9e0f-2a7d4e1c0b11
  kubeiam cache clear --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (opts.ClusterID == "") == !opts.All {
				return clierr.Usagef("give either --cluster-id ID or --all")
			}
			return run(opts, runF)
		},
	}
	cmd.Flags().StringVarP(&opts.ClusterID, "cluster-id", "i", "", "remove the entries of this cluster ID")
	cmd.Flags().BoolVar(&opts.All, "all", false, "remove every entry, and forget the data key held for this session")
	return cmd
}

func runClear(ctx context.Context, opts *Options) error {
	c, err := opts.open()
	if err != nil {
		return err
	}
	n, err := c.Clear(ctx, opts.ClusterID, opts.All)
	if err != nil {
		return err
	}
	noun := "entries"
	if n == 1 {
		noun = "entry"
	}
	_, err = fmt.Fprintf(opts.IO.ErrOut, "removed %d cache %s\n", n, noun)
	return err
}
