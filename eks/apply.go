package eks

import (
	"context"
	"fmt"
	"maps"
	"slices"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// Write describes the cluster and writes its entries: merged into
// out.Kubeconfig (or the default target) with out.Merge, else as the
// standalone file out.Output. current-context changes only with
// out.SetCurrentContext (a standalone file always has it).
func Write(ctx context.Context, c *Client, name string, eo EntryOptions, out kubeconfig.OutputOptions) (*kubeconfig.EditResult, *kubeconfig.Entries, error) {
	if err := ValidateName(name); err != nil {
		return nil, nil, err
	}
	if err := eo.Validate(); err != nil {
		return nil, nil, err
	}
	cl, err := c.Describe(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	e, err := Entries(cl, eo)
	if err != nil {
		return nil, nil, err
	}
	opts := kubeconfig.EditOptions{DryRun: out.DryRun, LockTimeout: out.LockTimeout, Notify: out.Notify}
	path, setCurrent := kubeconfig.Target(out.Kubeconfig), out.SetCurrentContext
	if !out.Merge {
		path, setCurrent, opts.Replace = out.Output, true, true
	}
	res, err := kubeconfig.MergeEntries(ctx, path, opts, e, setCurrent)
	return res, e, err
}

// Changes is what Apply did to the kubeconfig.
type Changes struct {
	Written []string `json:"written"`
	Pruned  []string `json:"pruned,omitempty"`
}

// ApplyOptions say how Apply writes.
type ApplyOptions struct {
	// Prune removes contexts discovery wrote earlier (and their users and
	// clusters, when nothing else uses them) for clusters that are gone,
	// within the (profile, region) pairs this scan answered for.
	Prune bool
	Edit  kubeconfig.EditOptions
	// Entry is the exec settings of the entries (command, API version).
	Entry EntryOptions
}

// Apply writes every usable cluster of res into the kubeconfig at path in
// one locked edit. A context discovery did not write (no mark) is left as it
// is: discovery adds and refreshes its own entries only, and never switches
// current-context. It fills in res.Found[].Context and Note.
func Apply(ctx context.Context, path string, res *Result, o ApplyOptions) (*kubeconfig.EditResult, *Changes, error) {
	var ch *Changes
	edit, err := kubeconfig.Edit(ctx, path, o.Edit, func(cfg *clientcmdapi.Config) error {
		// Edit may run this twice, on fresh content: start over each time.
		ch = &Changes{}
		found := map[string]bool{}
		for i := range res.Found {
			f := &res.Found[i]
			f.Context, f.Note = "", ""
			found[f.Cluster.ARN] = true
			if f.DuplicateOf != "" {
				f.Note = "same cluster as profile " + profileLabel(f.DuplicateOf)
				continue
			}
			eo := o.Entry
			eo.Profile = f.Profile
			e, err := Entries(f.Cluster, eo)
			if err != nil {
				f.Note = "not written: status " + f.Cluster.Status
				if _, ok := err.(*StatusError); !ok {
					f.Note = "not written: " + err.Error()
				}
				continue
			}
			f.Context = e.ContextName
			if old, ok := cfg.Contexts[e.ContextName]; ok {
				if _, marked := MarkOf(old); !marked {
					f.Note = "kept: context written by someone else"
					continue
				}
			}
			e.MergeInto(cfg, false)
			if err := setMark(e.Context, Mark{Profile: f.Profile, Region: f.Cluster.Region, ARN: f.Cluster.ARN}); err != nil {
				return err
			}
			ch.Written = append(ch.Written, e.ContextName)
		}
		if o.Prune {
			ch.Pruned = prune(cfg, res.Scanned, found)
		}
		return nil
	})
	return edit, ch, err
}

// prune removes the marked contexts of scanned pairs whose cluster was not
// found, then users and clusters no remaining context refers to among those
// the pruned contexts used.
func prune(cfg *clientcmdapi.Config, scanned []Pair, found map[string]bool) []string {
	var pruned []string
	users, clusters := map[string]bool{}, map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(cfg.Contexts)) {
		c := cfg.Contexts[name]
		m, ok := MarkOf(c)
		if !ok || found[m.ARN] || !slices.Contains(scanned, Pair{m.Profile, m.Region}) {
			continue
		}
		delete(cfg.Contexts, name)
		users[c.AuthInfo], clusters[c.Cluster] = true, true
		pruned = append(pruned, name)
		if cfg.CurrentContext == name {
			cfg.CurrentContext = ""
		}
	}
	for _, c := range cfg.Contexts {
		delete(users, c.AuthInfo)
		delete(clusters, c.Cluster)
	}
	for u := range users {
		delete(cfg.AuthInfos, u)
	}
	for c := range clusters {
		delete(cfg.Clusters, c)
	}
	return pruned
}

// String is a one-line summary.
func (c *Changes) String() string {
	s := fmt.Sprintf("%d %s written", len(c.Written), text.Plural(len(c.Written), "context", "contexts"))
	if len(c.Pruned) > 0 {
		s += fmt.Sprintf(", %d pruned", len(c.Pruned))
	}
	return s
}
