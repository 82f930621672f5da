package kubeconfig

import (
	"context"
	"slices"
	"strings"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/tools/clientcmd/api/latest"
	clientcmdv1 "k8s.io/client-go/tools/clientcmd/api/v1"
)

// MergeEntries is Edit with e.MergeInto as the edit: the entries replace
// their same-named ones in the file at path, current-context changes only
// with setCurrent. The file comes out byte for byte as that Edit writes it,
// in less time and memory on a large file: see mergeV1.
func MergeEntries(ctx context.Context, path string, opts EditOptions, e *Entries, setCurrent bool) (*EditResult, error) {
	return edit(ctx, path, opts, func(c *clientcmdapi.Config) error {
		e.MergeInto(c, setCurrent)
		return nil
	}, e.mergeV1(setCurrent))
}

// Why a merge on the v1 types: Edit's general path converts the whole file
// from clientcmd's v1 types (the file's shape) to its internal ones (maps,
// what edit functions work on) and back, which on a kubeconfig of 1,000
// clusters allocates more than the file's size twice over — and on this
// short-lived process every fresh page of memory is a page fault. A merge
// only replaces or adds three named entries, which the v1 lists can take
// directly, as long as the round trip would have given the same lists back
// (see roundTrips).

// mergeV1 returns the v1 form of MergeInto: it converts the entries with
// clientcmd's scheme (exactly as the general path's encode does) and puts
// each in its list in name order, replacing the one of the same name.
func (e *Entries) mergeV1(setCurrent bool) func(*clientcmdv1.Config) error {
	return func(v1 *clientcmdv1.Config) error {
		var add clientcmdv1.Config
		cfg := clientcmdapi.NewConfig()
		e.MergeInto(cfg, setCurrent)
		if err := latest.Scheme.Convert(cfg, &add, nil); err != nil {
			return err
		}
		for _, c := range add.Clusters {
			v1.Clusters = upsert(v1.Clusters, c, func(c clientcmdv1.NamedCluster) string { return c.Name })
		}
		for _, a := range add.AuthInfos {
			v1.AuthInfos = upsert(v1.AuthInfos, a, func(a clientcmdv1.NamedAuthInfo) string { return a.Name })
		}
		for _, c := range add.Contexts {
			v1.Contexts = upsert(v1.Contexts, c, func(c clientcmdv1.NamedContext) string { return c.Name })
		}
		if setCurrent {
			v1.CurrentContext = add.CurrentContext
		}
		return nil
	}
}

// upsert puts item into list, which is sorted by name with no duplicates:
// in place of the entry of the same name, else where the order wants it.
func upsert[T any](list []T, item T, name func(T) string) []T {
	cmp := func(x T, n string) int { return strings.Compare(name(x), n) }
	i, found := slices.BinarySearchFunc(list, name(item), cmp)
	if found {
		list[i] = item
		return list
	}
	return slices.Insert(list, i, item)
}

// roundTrips reports whether converting v1 (already defaulted) to
// clientcmd's internal types and back gives v1 again, field for field, so
// that an edit made on v1 writes what the same edit made on the internal
// types would. client-go's generated conversions copy every field of a
// cluster, user, context and the preferences as it is, both ways; what
// differs is:
//
//   - the named lists, which become maps (a duplicate name is an error) and
//     come back sorted by name: each must be sorted, without duplicates;
//   - an empty list, which comes back as none ("null" rather than "[]");
//   - extensions, which pass through runtime.Object: there must be none;
//   - kind and apiVersion, which the encoder sets to Config and v1 (a
//     kind other than Config is an error).
func roundTrips(v1 *clientcmdv1.Config) bool {
	if v1.Kind != "" && v1.Kind != "Config" || len(v1.Extensions) > 0 || len(v1.Preferences.Extensions) > 0 {
		return false
	}
	return sortedNoExtensions(v1.Clusters, func(c *clientcmdv1.NamedCluster) (string, int) { return c.Name, len(c.Cluster.Extensions) }) &&
		sortedNoExtensions(v1.AuthInfos, func(a *clientcmdv1.NamedAuthInfo) (string, int) { return a.Name, len(a.AuthInfo.Extensions) }) &&
		sortedNoExtensions(v1.Contexts, func(c *clientcmdv1.NamedContext) (string, int) { return c.Name, len(c.Context.Extensions) })
}

// sortedNoExtensions: list is nil or non-empty, its names strictly
// increasing (sort.Strings' order, as the conversion writes them), and no
// entry has extensions.
func sortedNoExtensions[T any](list []T, of func(*T) (string, int)) bool {
	if list != nil && len(list) == 0 {
		return false
	}
	prev := ""
	for i := range list {
		name, ext := of(&list[i])
		if ext > 0 || i > 0 && name <= prev {
			return false
		}
		prev = name
	}
	return true
}
