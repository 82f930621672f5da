package installer

import (
	"bytes"
	"encoding/json"
	"errors"
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

// EditResult is a spec file after an edit.
type EditResult struct {
	Data []byte
	// Spec is the edited file, parsed; nil when the file still has errors
	// (FixSpec only).
	Spec *Spec
	// Stored is the ARN as written, when an add stored another form than
	// the one given (the form the server matches); Why says what changed.
	Stored, Why string
}

// EditSpec applies edit to the AWSIamConfig that the spec's Cluster names
// and returns the whole file after it, with the new spec parsed from it.
//
// The spec is validated first (a broken file is not edited further) and
// again after the edit, so the result is one `server sync` accepts. An
// added ARN is stored in the form the server matches (a role's path
// dropped, a session ARN turned into its role), and the result says so.
func EditSpec(file string, data []byte, edit MappingEdit) (*EditResult, error) {
	spec, err := ParseSpec(file, data)
	if err != nil {
		return nil, err
	}
	res := &EditResult{}
	if !edit.Remove && edit.Kind != "account" {
		// Another partition is a mistake to show, not to rewrite: the
		// validator reports it below.
		if fixed, why, err := CanonicalMappingARN(edit.ARN, edit.Kind, partitionOf(spec.Config)); err == nil && fixed != edit.ARN &&
			strings.SplitN(fixed, ":", 3)[1] == strings.SplitN(strings.TrimSpace(edit.ARN), ":", 3)[1] {
			edit.ARN, res.Stored, res.Why = fixed, fixed, why
		}
	}
	if err := checkEdit(spec.Config, edit); err != nil {
		return nil, err
	}
	res.Data, err = editConfigDocument(file, data, spec.Config.Name, func(body string) (string, error) { return editDocument(body, edit) })
	if err != nil {
		return nil, err
	}
	if res.Spec, err = ParseSpec(file, res.Data); err != nil {
		return nil, err
	}
	return res, nil
}

// FixSpec rewrites every mapping ARN that can never match to the form the
// server matches (the Fix of its Problem), keeping comments and layout. A
// fix that would map an identity twice is left out. The result has the
// problems no rewrite solves, and Spec only when none are left.
func FixSpec(file string, data []byte) (res *EditResult, fixed, left []Problem, err error) {
	spec, perr := ParseSpec(file, data)
	var problems []Problem
	var ve *ValidationError
	switch {
	case errors.As(perr, &ve):
		problems = ve.Problems
	case perr != nil:
		return nil, nil, nil, perr
	default:
		problems = spec.Warnings
	}
	name, ok := configName(data)
	if !ok {
		return nil, nil, nil, perr // no AWSIamConfig to fix: the parse error says why
	}
	taken := map[string]bool{} // lists' ARNs after the fixes, lower-cased
	for _, p := range problems {
		if p.Fix == "" {
			if !p.Warning {
				left = append(left, p)
			}
			continue
		}
		fixed = append(fixed, p)
	}
	var expr []string
	vars := map[string]string{}
	for _, m := range mappingARNs(data, name) {
		taken[m] = true
	}
	kept := fixed[:0]
	for _, p := range fixed {
		list := p.Path[:strings.Index(p.Path, "[")]
		if taken[list+" "+strings.ToLower(p.Fix)] {
			p.Msg, p.Hint = fmt.Sprintf("not fixed: %s is mapped already", p.Fix), "remove one of the two entries"
			p.Warning = false
			left = append(left, p)
			continue
		}
		taken[list+" "+strings.ToLower(p.Fix)] = true
		v := fmt.Sprintf("f%d", len(kept))
		vars[v] = yamlString(p.Fix)
		expr = append(expr, fmt.Sprintf(".%s = $%s", p.Path, v))
		kept = append(kept, p)
	}
	fixed = kept
	res = &EditResult{Data: data}
	if len(expr) > 0 {
		res.Data, err = editConfigDocument(file, data, name, func(body string) (string, error) {
			return runYQ(body, strings.Join(expr, " | "), vars, nil)
		})
		if err != nil {
			return nil, nil, nil, err
		}
	}
	if len(left) == 0 {
		if res.Spec, err = ParseSpec(file, res.Data); err != nil {
			return nil, nil, nil, err
		}
	}
	return res, fixed, left, nil
}

// configName is the name of the AWSIamConfig the Cluster refers to, read
// without validating anything.
func configName(data []byte) (string, bool) {
	docs, err := splitDocuments(data)
	if err != nil {
		return "", false
	}
	for _, d := range docs {
		if d.kind != KindCluster {
			continue
		}
		refs := get(get(d.root, "spec"), "identityProviderRefs")
		for _, r := range contentOf(refs) {
			if scalar(get(r, "kind")) == KindAWSIamConfig {
				return scalar(get(r, "name")), true
			}
		}
	}
	return "", false
}

// mappingARNs lists "spec.mapRoles <arn>" and "spec.mapUsers <arn>",
// lower-cased, of the named AWSIamConfig.
func mappingARNs(data []byte, name string) []string {
	docs, _ := splitDocuments(data)
	var out []string
	for _, d := range docs {
		if d.kind != KindAWSIamConfig || d.name != name {
			continue
		}
		for _, l := range []string{"mapRoles", "mapUsers"} {
			for _, e := range contentOf(get(get(d.root, "spec"), l)) {
				for i := 0; e.Kind == yaml.MappingNode && i+1 < len(e.Content); i += 2 {
					if strings.EqualFold(e.Content[i].Value, "roleARN") || strings.EqualFold(e.Content[i].Value, "userARN") {
						out = append(out, "spec."+l+" "+strings.ToLower(e.Content[i+1].Value))
					}
				}
			}
		}
	}
	return out
}

func contentOf(n *yaml.Node) []*yaml.Node {
	if n == nil {
		return nil
	}
	return n.Content
}

// editConfigDocument runs edit over the text of AWSIamConfig name alone;
// every other document, and every separator, is copied byte for byte.
func editConfigDocument(file string, data []byte, name string, edit func(body string) (string, error)) ([]byte, error) {
	chunks := splitRaw(data)
	target := -1
	for i, c := range chunks {
		var n yaml.Node
		if yaml.Unmarshal([]byte(c.body), &n) != nil || len(n.Content) == 0 {
			continue
		}
		r := n.Content[0]
		if scalar(get(r, "kind")) == KindAWSIamConfig && scalar(get(r, "apiVersion")) == EKSAAPIVersion &&
			scalar(get(get(r, "metadata"), "name")) == name {
			if target >= 0 {
				return nil, fmt.Errorf("could not edit %s: AWSIamConfig %s appears more than once", file, name)
			}
			target = i
		}
	}
	if target < 0 {
		return nil, fmt.Errorf("could not find AWSIamConfig %s in %s", name, file)
	}
	body, err := edit(chunks[target].body)
	if err != nil {
		return nil, fmt.Errorf("could not edit AWSIamConfig %s: %w", name, err)
	}
	chunks[target].body = body
	var out bytes.Buffer
	for _, c := range chunks {
		out.WriteString(c.sep)
		out.WriteString(c.body)
	}
	return out.Bytes(), nil
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
	list, arnKey := e.field()
	vars := map[string]string{}
	var expr string
	var pre func(doc *yqlib.CandidateNode) error
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
		pre = func(doc *yqlib.CandidateNode) error {
			return eval(doc, fmt.Sprintf(`.spec.%s`, list), nil, func(n *yqlib.CandidateNode) {
				if n.Kind == yqlib.SequenceNode && len(n.Content) == 0 && n.LineComment != "" && n.Key != nil && n.Key.LineComment == "" {
					n.Key.LineComment, n.LineComment = n.LineComment, ""
				}
			})
		}
		expr = fmt.Sprintf(`.spec.%s += [$entry]`, list)
	}
	return runYQ(body, expr, vars, pre)
}

// runYQ evaluates expr over the document body, with vars (YAML text) as
// yq variables, after pre (when not nil) has adjusted the document, and
// encodes the result in the document's own indentation style.
func runYQ(body, expr string, vars map[string]string, pre func(doc *yqlib.CandidateNode) error) (string, error) {
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
	if pre != nil {
		if err := pre(doc); err != nil {
			return "", err
		}
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
	memo := map[string]string{}
	norm := func(l string) string {
		if k, ok := memo[l]; ok {
			return k
		}
		t := strings.TrimLeft(l, " ")
		k := l[:len(l)-len(t)] + strings.Join(strings.Fields(t), " ")
		// yq re-quotes flow collections ([system:masters] becomes
		// ['system:masters']): a line with quotes or a flow collection
		// that reads as the same YAML value is the same line.
		var v any
		if strings.ContainsAny(t, "'\"[{") && yaml.Unmarshal([]byte(t), &v) == nil && v != nil {
			if j, err := json.Marshal(v); err == nil {
				k = l[:len(l)-len(t)] + "\x00" + string(j)
			}
		}
		memo[l] = k
		return k
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
