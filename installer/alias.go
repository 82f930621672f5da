package installer

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Aliases may expand a document to at most this many nodes, or
// aliasRatio times the nodes written in the file when that is more. Real
// specs share a group list or two; a "billion laughs" file of a few lines
// expands to billions.
const (
	aliasMinNodes = 10_000
	aliasRatio    = 10
)

// resolveAliases makes a decoded document read as EKS Anywhere's decoder
// reads it: every alias (*g) is replaced by the node its anchor (&g) names —
// shared, not copied — and merge keys (<<: *base) are folded into their
// mapping, keys written in the mapping winning. Before anything is
// replaced it computes what the aliases expand the document to, and refuses
// an alias that contains itself and a document that would expand past the
// limit, so the validator never walks an alias bomb.
func resolveAliases(root *yaml.Node) error {
	written := countWritten(root)
	limit := max(aliasMinNodes, aliasRatio*written)
	sizes := map[*yaml.Node]int{}
	size, err := expandedSize(root, sizes, limit)
	if err != nil {
		return err
	}
	if size > limit {
		return fmt.Errorf("aliases expand the document to more than %d nodes (%d written): refusing what looks like an alias bomb", limit, written)
	}
	resolve(root, map[*yaml.Node]bool{})
	return nil
}

// countWritten counts the nodes as written, aliases as one node each.
func countWritten(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countWritten(k)
	}
	return c
}

var errSelfAlias = errors.New("an alias refers to a node that contains it")

// expandedSize is the node count of n with aliases expanded, saturating
// just past limit; sizes memoises it per node (-1 while being computed,
// which finds an alias inside its own anchor).
func expandedSize(n *yaml.Node, sizes map[*yaml.Node]int, limit int) (int, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if s, ok := sizes[n]; ok {
		if s < 0 {
			return 0, errSelfAlias
		}
		return s, nil
	}
	sizes[n] = -1
	total := 1
	for _, k := range n.Content {
		s, err := expandedSize(k, sizes, limit)
		if err != nil {
			return 0, err
		}
		total = min(total+s, limit+1)
	}
	sizes[n] = total
	return total, nil
}

// resolve replaces aliases under n and folds merge keys, once per node.
func resolve(n *yaml.Node, done map[*yaml.Node]bool) {
	if done[n] {
		return
	}
	done[n] = true
	for i, k := range n.Content {
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			n.Content[i] = k.Alias
		}
		resolve(n.Content[i], done)
	}
	if n.Kind == yaml.MappingNode {
		mergeKeys(n)
	}
}

// mergeKeys folds `<<: MAP` and `<<: [MAP, ...]` into m: keys written in m
// win, then earlier maps win over later ones (YAML's merge key rules).
func mergeKeys(m *yaml.Node) {
	var own, merged []*yaml.Node
	have := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "!!merge" || k.Tag == "") {
			if v.Kind == yaml.SequenceNode {
				merged = append(merged, v.Content...)
			} else {
				merged = append(merged, v)
			}
			continue
		}
		own = append(own, k, v)
		have[k.Value] = true
	}
	for _, src := range merged {
		if src.Kind != yaml.MappingNode {
			return // left as it is: the validator reports the << key
		}
	}
	if merged == nil {
		return
	}
	for _, src := range merged {
		for i := 0; i+1 < len(src.Content); i += 2 {
			if k := src.Content[i]; !have[k.Value] {
				own = append(own, k, src.Content[i+1])
				have[k.Value] = true
			}
		}
	}
	m.Content = own
}
