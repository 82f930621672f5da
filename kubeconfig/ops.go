package kubeconfig

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// OutputOptions say where Write puts the entries.
type OutputOptions struct {
	// Output is the standalone file (without Merge); "" means EKS-A's
	// ./NAME/NAME-aws.kubeconfig.
	Output string
	// Merge adds the entries to Kubeconfig (or the first file of
	// KUBECONFIG, or ~/.kube/config) instead.
	Merge      bool
	Kubeconfig string
	// SetCurrentContext makes a merge switch current-context; a standalone
	// file always has it set.
	SetCurrentContext bool
	DryRun            bool
	LockTimeout       time.Duration
	// Notify receives one line when a stale lock is taken over.
	Notify func(string)
}

// Write builds the entries for in and writes them as out says.
func Write(ctx context.Context, in WriteInput, out OutputOptions) (*EditResult, *Entries, error) {
	e, err := Build(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	eo := EditOptions{DryRun: out.DryRun, LockTimeout: out.LockTimeout, Notify: out.Notify}
	var res *EditResult
	if out.Merge {
		res, err = MergeEntries(ctx, Target(out.Kubeconfig), eo, e, out.SetCurrentContext)
	} else {
		path := out.Output
		if path == "" {
			path = DefaultOutput(in.Cluster)
		}
		eo.Replace = true
		res, err = Edit(ctx, path, eo, func(c *clientcmdapi.Config) error {
			e.MergeInto(c, true)
			return nil
		})
	}
	return res, e, err
}

// SetProfileInFiles binds profile (and role) to the context's user in
// whichever of files defines that user.
func SetProfileInFiles(ctx context.Context, files []string, contextName, profile, roleARN string, roleSet bool, eo EditOptions) (*EditResult, string, error) {
	l, err := LoadFiles(files)
	if err != nil {
		return nil, "", err
	}
	file, user, err := l.UserFile(contextName)
	if err != nil {
		return nil, "", err
	}
	var warning string
	res, err := Edit(ctx, file, eo, func(c *clientcmdapi.Config) error {
		w, err := SetProfile(c, user, profile, roleARN, roleSet)
		warning = w
		return err
	})
	return res, warning, err
}

// ListBindings lists the contexts of files as kubectl sees them merged.
func ListBindings(files []string) ([]Binding, error) {
	l, err := LoadFiles(files)
	if err != nil {
		return nil, err
	}
	return Bindings(l.Merged()), nil
}

// Use makes name the current context, writing current-context to the first
// file as kubectl does, and remembers the one it replaces. name "-" switches
// back to the remembered one. It returns the new current context.
func Use(ctx context.Context, files []string, name string, store PreviousStore, eo EditOptions) (string, error) {
	l, err := LoadFiles(files)
	if err != nil {
		return "", err
	}
	m := l.Merged()
	target := files[0]
	if name == "-" {
		prev, err := store.Get(target)
		if err != nil {
			return "", err
		}
		if prev == "" {
			return "", fmt.Errorf("could not switch back: no previous context recorded for %s", target)
		}
		name = prev
	}
	if _, ok := m.Contexts[name]; !ok {
		return "", &ContextNotFoundError{Name: name, Files: files, Known: slices.Sorted(maps.Keys(m.Contexts))}
	}
	previous := m.CurrentContext
	if _, err := Edit(ctx, target, eo, func(c *clientcmdapi.Config) error {
		c.CurrentContext = name
		return nil
	}); err != nil {
		return "", err
	}
	if previous != "" && previous != name && !eo.DryRun {
		if err := store.Set(target, previous); err != nil {
			return name, err
		}
	}
	return name, nil
}

// AdoptInFiles runs Adopt over each file that defines one of the named
// contexts (every context when names is empty), each file under its own lock.
func AdoptInFiles(ctx context.Context, files []string, names []string, eo EditOptions) ([]Adoption, []*EditResult, error) {
	l, err := LoadFiles(files)
	if err != nil {
		return nil, nil, err
	}
	m := l.Merged()
	for _, n := range names {
		if _, ok := m.Contexts[n]; !ok {
			return nil, nil, &ContextNotFoundError{Name: n, Files: files, Known: slices.Sorted(maps.Keys(m.Contexts))}
		}
	}
	var all []Adoption
	var results []*EditResult
	for i, f := range files {
		if l.Configs[i] == nil {
			continue
		}
		var mine []string
		for _, n := range names {
			if c, ok := l.Configs[i].Contexts[n]; ok && m.Contexts[n] == c {
				mine = append(mine, n)
			}
		}
		if len(names) > 0 && len(mine) == 0 {
			continue
		}
		// Edit may run the function twice (when another writer changed
		// the file meanwhile): keep the adoptions of the run it wrote.
		var adopted []Adoption
		res, err := Edit(ctx, f, eo, func(c *clientcmdapi.Config) error {
			var err error
			adopted, err = Adopt(c, mine)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		all = append(all, adopted...)
		results = append(results, res)
	}
	return all, results, nil
}

// RemoveFromFile removes the cluster's entries from file.
func RemoveFromFile(ctx context.Context, file, cluster string, eo EditOptions) (*EditResult, *Removal, error) {
	var r *Removal
	res, err := Edit(ctx, file, eo, func(c *clientcmdapi.Config) error {
		var err error
		r, err = Remove(c, cluster)
		return err
	})
	return res, r, err
}
