package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

func newListCmd(io *iostreams.IOStreams, runF func(*Options) error) *cobra.Command {
	opts := newOptions(io, "list")
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List cached tokens: cluster, identity, expiry, never the secrets",
		Example: `  kubeiam cache list
  kubeiam cache list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output != "" && opts.Output != "json" {
				return clierr.Usagef("unknown output format %q: use json or leave it out", opts.Output)
			}
			return run(opts, runF)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "output format: json")
	return cmd
}

// listing is the JSON form of `cache list`; it is an interface for scripts,
// so fields are only ever added.
type listing struct {
	Backend cache.Backend `json:"backend"`
	Dir     string        `json:"dir"`
	Entries []listEntry   `json:"entries"`
}

type listEntry struct {
	ID                string     `json:"id"`
	Key               cache.Key  `json:"key"`
	TokenExpiry       time.Time  `json:"tokenExpiry"`
	TokenValid        bool       `json:"tokenValid"`
	CredentialsExpiry *time.Time `json:"credentialsExpiry,omitempty"`
	Stored            time.Time  `json:"stored"`
	Encrypted         bool       `json:"encrypted"`
}

func runList(ctx context.Context, opts *Options) error {
	c, err := opts.open()
	if err != nil {
		return err
	}
	entries, err := c.List(ctx)
	if err != nil {
		return err
	}
	now := opts.Now()
	out := listing{Backend: c.Backend(), Dir: c.Dir(), Entries: []listEntry{}}
	for _, e := range entries {
		le := listEntry{ID: e.Key.ID(), Key: e.Key, TokenExpiry: e.TokenExpiry, Stored: e.Stored, Encrypted: e.Encrypted}
		// List has no token to check, only its expiry; judge that alone.
		withToken := e
		withToken.Token = "listed"
		le.TokenValid = withToken.TokenValid(now, 0)
		if e.Credentials != nil && e.Credentials.CanExpire {
			t := e.Credentials.Expires
			le.CredentialsExpiry = &t
		}
		out.Entries = append(out.Entries, le)
	}
	sort.Slice(out.Entries, func(i, j int) bool {
		a, b := out.Entries[i], out.Entries[j]
		if a.Key.ClusterID != b.Key.ClusterID {
			return a.Key.ClusterID < b.Key.ClusterID
		}
		return a.ID < b.ID
	})

	if opts.Output == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(opts.IO.Out, "backend: %s, directory: %s\n", out.Backend, out.Dir)
	if len(out.Entries) == 0 {
		fmt.Fprintln(opts.IO.Out, "no cached tokens")
		return nil
	}
	w := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tCLUSTER\tPROFILE\tROLE\tREGION\tENDPOINT\tTOKEN EXPIRES\tCREDENTIALS EXPIRE\tSTORED")
	for _, e := range out.Entries {
		tok := e.TokenExpiry.UTC().Format(time.RFC3339)
		if !e.TokenValid {
			tok += " (expired)"
		}
		creds := "-"
		if e.CredentialsExpiry != nil {
			creds = e.CredentialsExpiry.UTC().Format(time.RFC3339)
		}
		stored := "plain file"
		if e.Encrypted {
			stored = "encrypted"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID[:12], e.Key.ClusterID, dash(e.Key.Profile), dash(e.Key.RoleARN),
			dash(e.Key.Region), dash(e.Key.Endpoint), tok, creds, stored)
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
