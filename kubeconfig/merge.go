package kubeconfig

import (
	"context"
	"slices"
	"strings"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	clientcmdv1 "k8s.io/client-go/tools/clientcmd/api/v1"

	"github.com/kubeiam/kubeiam/kubeconfig/internal/codec"
)

// MergeEntries is Edit with e.MergeInto as the edit: the entries replace
// their same-named ones in the file at path, current-context changes only
// with setCurrent. The file comes out byte for byte as that Edit writes it,
// in less time and memory on a large file: see merge.
func MergeEntries(ctx context.Context, path string, opts EditOptions, e *Entries, setCurrent bool) (*EditResult, error) {
	return edit(ctx, path, opts, e.merge(path, setCurrent))
}

// Why a merge on the codec's types: Edit converts the whole file from the
// file's shape (named lists, data as base64 text) to clientcmd's internal
// types (maps, data decoded: what edit functions work on) and back, which
// on a kubeconfig of 1,000 clusters allocates more than the file's size
// twice over — and on this short-lived process every fresh page of memory
// is a page fault. A merge only replaces or adds three named entries,
// which the lists can take directly, as long as the round trip would have
// given the same lists back (see codec.Config.RoundTrips); otherwise the
// merge goes the general way.

// merge is MergeInto as an edit on the codec's types: it converts the
// entries with clientcmd's scheme (exactly as the general path's encoding
// does) and puts each in its list in name order, replacing the one of the
// same name.
func (e *Entries) merge(path string, setCurrent bool) docEdit {
	general := viaAPI(path, func(c *clientcmdapi.Config) error {
		e.MergeInto(c, setCurrent)
		return nil
	})
	return func(doc *codec.Config) (*codec.Config, error) {
		if doc == nil || doc.Default() != nil || !doc.RoundTrips() {
			return general(doc)
		}
		cfg := clientcmdapi.NewConfig()
		e.MergeInto(cfg, setCurrent)
		add, err := codec.FromAPI(cfg)
		if err != nil {
			return nil, encodeError(path, err)
		}
		for _, c := range add.Clusters {
			doc.Clusters = upsert(doc.Clusters, c, func(c codec.NamedCluster) string { return c.Name })
		}
		for _, a := range add.AuthInfos {
			doc.AuthInfos = upsert(doc.AuthInfos, a, func(a codec.NamedAuthInfo) string { return a.Name })
		}
		for _, c := range add.Contexts {
			doc.Contexts = upsert(doc.Contexts, c, func(c clientcmdv1.NamedContext) string { return c.Name })
		}
		if setCurrent {
			doc.CurrentContext = add.CurrentContext
		}
		doc.APIVersion, doc.Kind = "v1", "Config"
		return doc, nil
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
