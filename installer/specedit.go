package installer

import (
	"bytes"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"

	"github.com/mikefarah/yq/v4/pkg/yqlib"
	"go.yaml.in/yaml/v3"
)

// MappingEdit is one change to an AWSIamConfig's mappings, the GitOps way:
// the spec file is edited and the user commits it.
type MappingEdit struct {
	Remove bool
	// Kind is "role", "user" or "account".
	Kind string
	// ARN is the role or user ARN, or the account ID for "account".
	ARN      string
	Username string
	Groups   []string
}

func (e MappingEdit) field() (list, arnKey string) {
	switch e.Kind {
	case "role":
		return "mapRoles", "roleARN"
	case "user":
		return "mapUsers", "userARN"
	}
	return "mapAccounts", ""
}

// DuplicateMappingError: the ARN is mapped already. The server keeps only
// one entry per ARN, so a second one would silently shadow the first.
type DuplicateMappingError struct {
	Kind, ARN string
	Existing  Mapping
}

func (e *DuplicateMappingError) Error() string {
	if e.Kind == "account" {
		return fmt.Sprintf("could not add account %s: it is in mapAccounts already", e.ARN)
	}
	return fmt.Sprintf("could not add %s %s: it is mapped already (line %d, as %s [%s])",
		e.Kind, e.ARN, e.Existing.Line, e.Existing.Username, strings.Join(e.Existing.Groups, ", "))
}

// MappingNotFoundError: remove found no entry with that ARN.
type MappingNotFoundError struct{ Kind, ARN string }

func (e *MappingNotFoundError) Error() string {
	return fmt.Sprintf("could not remove %s %s: the AWSIamConfig does not map it", e.Kind, e.ARN)
}

// EditSpec applies edit to the AWSIamConfig that the spec's Cluster names
// and returns the whole file after it, with the new spec parsed from it.
//
// The spec is validated first (a broken file is not edited further) and
// again after the edit, so the result is one `server sync` accepts. Only
// the AWSIamConfig document is re-encoded, through yqlib, which keeps its
// comments and key order; every other document, and every separator, is
// copied byte for byte.
func EditSpec(file string, data []byte, edit MappingEdit) ([]byte, *Spec, error) {
	spec, err := ParseSpec(file, data)
	if err != nil {
		return nil, nil, err
	}
	if err := checkEdit(spec.Config, edit); err != nil {
		return nil, nil, err
	}
	chunks := splitRaw(data)
	target := -1
	for i, c := range chunks {
		var n yaml.Node
		if yaml.Unmarshal([]byte(c.body), &n) != nil || len(n.Content) == 0 {
			continue
		}
		r := n.Content[0]
		if scalar(get(r, "kind")) == KindAWSIamConfig && scalar(get(r, "apiVersion")) == EKSAAPIVersion &&
			scalar(get(get(r, "metadata"), "name")) == spec.Config.Name {
			if target >= 0 {
				return nil, nil, fmt.Errorf("could not edit %s: AWSIamConfig %s appears more than once", file, spec.Config.Name)
			}
			target = i
		}
	}
	if target < 0 {
		return nil, nil, fmt.Errorf("could not find AWSIamConfig %s in %s", spec.Config.Name, file)
	}
	body, err := editDocument(chunks[target].body, edit)
	if err != nil {
		return nil, nil, fmt.Errorf("could not edit AWSIamConfig %s: %w", spec.Config.Name, err)
	}
	chunks[target].body = body
	var out bytes.Buffer
	for _, c := range chunks {
		out.WriteString(c.sep)
		out.WriteString(c.body)
	}
	after, err := ParseSpec(file, out.Bytes())
	if err != nil {
		return nil, nil, err
	}
	return out.Bytes(), after, nil
}

// checkEdit refuses a duplicate add and a remove of something not mapped,
// before anything is re-encoded. ARNs compare case-insensitively, as the
// server compares them.
func checkEdit(c IAMConfig, e MappingEdit) error {
	if e.Kind == "account" {
		if slices.Contains(c.MapAccounts, e.ARN) != e.Remove {
			if e.Remove {
				return &MappingNotFoundError{Kind: e.Kind, ARN: e.ARN}
			}
			return &DuplicateMappingError{Kind: e.Kind, ARN: e.ARN}
		}
		return nil
	}
	list := c.MapUsers
	if e.Kind == "role" {
		list = c.MapRoles
	}
	i := slices.IndexFunc(list, func(m Mapping) bool { return strings.EqualFold(m.ARN, e.ARN) })
	switch {
	case i >= 0 && !e.Remove:
		return &DuplicateMappingError{Kind: e.Kind, ARN: e.ARN, Existing: list[i]}
	case i < 0 && e.Remove:
		return &MappingNotFoundError{Kind: e.Kind, ARN: e.ARN}
	}
	return nil
}

// chunk is one document of a multi-document file as text: the separator
// line before it ("" for the first) and everything up to the next one.
type chunk struct{ sep, body string }

// splitRaw cuts a YAML stream at its "---" lines without parsing it, so
// that untouched documents can be written back exactly as they were.
func splitRaw(data []byte) []chunk {
	var out []chunk
	cur := chunk{}
	var body strings.Builder
	for _, line := range strings.SplitAfter(string(data), "\n") {
		t := strings.TrimRight(line, "\r\n")
		if t == "---" || strings.HasPrefix(t, "--- ") || strings.HasPrefix(t, "---\t") {
			cur.body = body.String()
			out = append(out, cur)
			cur, body = chunk{sep: line}, strings.Builder{}
			continue
		}
		body.WriteString(line)
	}
	cur.body = body.String()
	return append(out, cur)
}

// editDocument runs the edit through yqlib over one document. The entry's
// values reach yq as a variable, never spliced into the expression, so no
// ARN or user name can change what the expression does.
func editDocument(body string, e MappingEdit) (string, error) {
	// yqlib logs at info level to stderr, which is the CLI's.
	yqlib.GetLogger().SetLevel(slog.LevelError)
	yqlib.InitExpressionParser()
	prefs := yqlib.NewDefaultYamlPreferences()
	prefs.PrintDocSeparators = false
	prefs.Indent, prefs.CompactSequenceIndent = indentStyle(body)

	doc, err := decodeOne(prefs, body)
	if err != nil {
		return "", err
	}
	list, arnKey := e.field()
	vars := map[string]string{}
	var expr string
	switch {
	case e.Remove && e.Kind == "account":
		vars["arn"] = yamlString(e.ARN)
		expr = fmt.Sprintf(`del(.spec.%s[] | select(. == $arn))`, list)
	case e.Remove:
		vars["arn"] = yamlString(strings.ToLower(e.ARN))
		expr = fmt.Sprintf(`del(.spec.%s[] | select((.%s | downcase) == $arn))`, list, arnKey)
	default:
		entry, err := entryYAML(e, arnKey)
		if err != nil {
			return "", err
		}
		vars["entry"] = entry
		// An empty list's line comment ("mapUsers: []  # none yet")
		// belongs on the key once the list is a block: left on the
		// list, the encoder prints it after the last item, on the next
		// key's line.
		if err := eval(doc, fmt.Sprintf(`.spec.%s`, list), nil, func(n *yqlib.CandidateNode) {
			if n.Kind == yqlib.SequenceNode && len(n.Content) == 0 && n.LineComment != "" && n.Key != nil && n.Key.LineComment == "" {
				n.Key.LineComment, n.LineComment = n.LineComment, ""
			}
		}); err != nil {
			return "", err
		}
		expr = fmt.Sprintf(`.spec.%s += [$entry]`, list)
	}
	vnodes := map[string]*yqlib.CandidateNode{}
	for name, y := range vars {
		n, err := decodeOne(prefs, y)
		if err != nil {
			return "", err
		}
		vnodes[name] = n
	}
	var out *yqlib.CandidateNode
	n := 0
	if err := eval(doc, expr, vnodes, func(c *yqlib.CandidateNode) { out, n = c, n+1 }); err != nil {
		return "", err
	}
	if n != 1 {
		return "", fmt.Errorf("expression gave %d documents, want 1", n)
	}
	var b bytes.Buffer
	enc := yqlib.NewYamlEncoder(prefs)
	if err := enc.PrintLeadingContent(&b, out.LeadingContent); err != nil {
		return "", err
	}
	if err := enc.Encode(&b, out); err != nil {
		return "", fmt.Errorf("could not encode: %w", err)
	}
	s := keepOriginalLines(body, b.String())
	if !strings.HasSuffix(body, "\n") {
		s = strings.TrimSuffix(s, "\n")
	}
	return s, nil
}

// keepOriginalLines puts back the original text of every line yq only
// re-spaced (yq writes one space before a line comment, for one), so the
// diff a user commits is the mapping change and nothing else. Lines are
// paired by a longest common subsequence over their text with inner runs
// of spaces collapsed (indentation kept); the result must decode to the
// same YAML as yq's, or yq's text is used as it is.
func keepOriginalLines(orig, edited string) string {
	a, b := strings.SplitAfter(orig, "\n"), strings.SplitAfter(edited, "\n")
	norm := func(l string) string {
		t := strings.TrimLeft(l, " ")
		return l[:len(l)-len(t)] + strings.Join(strings.Fields(t), " ")
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if norm(a[i]) == norm(b[j]) {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	for i, j := 0, 0; j < len(b); {
		switch {
		case i < len(a) && norm(a[i]) == norm(b[j]):
			// Keep the original's spacing, but yq's line ending: the
			// last original line may lack one.
			l := a[i]
			if strings.HasSuffix(b[j], "\n") && !strings.HasSuffix(l, "\n") {
				l += "\n"
			}
			out.WriteString(l)
			i, j = i+1, j+1
		case i < len(a) && lcs[i+1][j] >= lcs[i][j+1]:
			i++
		default:
			out.WriteString(b[j])
			j++
		}
	}
	var x, y any
	if yaml.Unmarshal([]byte(out.String()), &x) != nil || yaml.Unmarshal([]byte(edited), &y) != nil || !reflect.DeepEqual(x, y) {
		return edited
	}
	return out.String()
}

// eval runs a yq expression over doc with variables and calls each for
// every result; the results are doc's own nodes, so changes to them are
// changes to doc. Nothing is created by navigating to a missing key.
func eval(doc *yqlib.CandidateNode, expr string, vars map[string]*yqlib.CandidateNode, each func(*yqlib.CandidateNode)) error {
	node, err := yqlib.ExpressionParser.ParseExpression(expr)
	if err != nil {
		return fmt.Errorf("could not parse expression: %w", err)
	}
	ctx := yqlib.Context{MatchingNodes: doc.AsList(), DontAutoCreate: true}
	for name, v := range vars {
		ctx.SetVariable(name, v.AsList())
	}
	res, err := yqlib.NewDataTreeNavigator().GetMatchingNodes(ctx, node)
	if err != nil {
		return err
	}
	for el := res.MatchingNodes.Front(); el != nil; el = el.Next() {
		each(el.Value.(*yqlib.CandidateNode))
	}
	return nil
}

func decodeOne(prefs yqlib.YamlPreferences, y string) (*yqlib.CandidateNode, error) {
	dec := yqlib.NewYamlDecoder(prefs)
	if err := dec.Init(strings.NewReader(y)); err != nil {
		return nil, err
	}
	n, err := dec.Decode()
	if err != nil {
		return nil, fmt.Errorf("could not decode: %w", err)
	}
	return n, nil
}

// entryYAML renders the new list entry in EKS Anywhere's key order.
func entryYAML(e MappingEdit, arnKey string) (string, error) {
	if e.Kind == "account" {
		return yamlString(e.ARN), nil
	}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	m := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str(arnKey), str(e.ARN), str("username"), str(e.Username)}}
	if len(e.Groups) > 0 {
		g := &yaml.Node{Kind: yaml.SequenceNode}
		for _, x := range e.Groups {
			g.Content = append(g.Content, str(x))
		}
		m.Content = append(m.Content, str("groups"), g)
	}
	b, err := yaml.Marshal(m)
	return string(b), err
}

// yamlString renders s as a YAML string document, quoted as needed.
func yamlString(s string) string {
	b, _ := yaml.Marshal(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s})
	return string(b)
}

// indentStyle guesses the document's indentation so that re-encoding it
// changes as few lines as possible: the first indented mapping key gives
// the width; a "- " item at its parent key's column means compact
// sequences (kubectl and sigs.k8s.io/yaml write those, yq does not).
func indentStyle(body string) (indent int, compact bool) {
	indent = 2
	foundIndent, foundSeq := false, false
	prevKeyCol := -1
	for _, l := range strings.Split(body, "\n") {
		t := strings.TrimLeft(l, " ")
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		col := len(l) - len(t)
		if strings.HasPrefix(t, "- ") || t == "-" {
			if !foundSeq && prevKeyCol >= 0 {
				compact, foundSeq = col == prevKeyCol, true
			}
			prevKeyCol = -1
			continue
		}
		if !foundIndent && col > 0 && strings.Contains(t, ":") {
			indent, foundIndent = col, true
		}
		if strings.HasSuffix(strings.TrimRight(t, " "), ":") {
			prevKeyCol = col
		} else {
			prevKeyCol = -1
		}
		if foundIndent && foundSeq {
			break
		}
	}
	return indent, compact
}
