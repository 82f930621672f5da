package installer

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/mappings"
	"github.com/kubeiam/kubeiam/token"
)

// Backend modes a spec may name. MountedFile is refused as EKS Anywhere
// refuses it (the mappings would live in a file on every control-plane
// host, out of reach of `server sync`), and DynamicFile because it needs
// --dynamic-file-path, which EKS Anywhere's DaemonSet never passes.
var backendModes = []string{mappings.ModeEKSConfigMap, mappings.ModeCRD}

// usernameTemplates are the placeholders the server substitutes.
var usernameTemplates = []string{"{{AccountID}}", "{{SessionName}}", "{{SessionNameRaw}}", "{{AccessKeyID}}", "{{EC2PrivateDNSName}}"}

type validator struct {
	file     string
	problems []Problem
	doc      *document
}

func (v *validator) add(p Problem) {
	p.File = v.file
	if v.doc != nil && p.Doc == 0 {
		p.Doc, p.Object = v.doc.index, v.doc.object()
	}
	v.problems = append(v.problems, p)
}

func (v *validator) errorf(n *yaml.Node, path, format string, args ...any) *Problem {
	v.add(Problem{Line: lineOf(n, v.doc.root), Path: path, Msg: fmt.Sprintf(format, args...)})
	return &v.problems[len(v.problems)-1]
}

func (v *validator) warnf(n *yaml.Node, path, format string, args ...any) *Problem {
	v.add(Problem{Line: lineOf(n, v.doc.root), Path: path, Msg: fmt.Sprintf(format, args...), Warning: true})
	return &v.problems[len(v.problems)-1]
}

// result returns nil when only warnings were found (they go on spec).
func (v *validator) result(spec *Spec) error {
	var errs bool
	for _, p := range v.problems {
		if p.Warning {
			spec.Warnings = append(spec.Warnings, p)
		} else {
			errs = true
		}
	}
	if errs {
		return &ValidationError{File: v.file, Problems: v.problems}
	}
	return nil
}

// keys checks a mapping node's keys against the known ones. A key that
// differs from a known one only in case is a warning (EKS Anywhere decodes
// case-insensitively, so it works there) and is read; any other unknown key
// is an error, because a misspelt field would otherwise be dropped without
// a word — the "mapping edits ignored" complaint.
func (v *validator) keys(m *yaml.Node, path string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if m == nil {
		return out
	}
	if m.Kind != yaml.MappingNode {
		v.errorf(m, path, "must be an object")
		return out
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		switch {
		case slices.Contains(known, k.Value):
			out[k.Value] = m.Content[i+1]
		default:
			idx := slices.IndexFunc(known, func(s string) bool { return strings.EqualFold(s, k.Value) })
			if idx >= 0 {
				v.warnf(k, join(path, k.Value), "write %s", known[idx])
				out[known[idx]] = m.Content[i+1]
				continue
			}
			v.errorf(k, join(path, k.Value), "unknown field").Hint = "known: " + strings.Join(known, ", ")
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (v *validator) str(n *yaml.Node, path string) (string, bool) {
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		v.errorf(n, path, "must be a string")
		return "", false
	}
	// Every value may end up in aws-auth, a kubeconfig or a terminal.
	if err := input.Text(path, n.Value); err != nil {
		v.errorf(n, path, "%s", err.(*input.Error).Reason)
		return "", false
	}
	return n.Value, true
}

func (v *validator) strList(n *yaml.Node, path string) ([]string, []*yaml.Node) {
	if n == nil || n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		v.errorf(n, path, "must be a list")
		return nil, nil
	}
	var out []string
	var nodes []*yaml.Node
	for i, e := range n.Content {
		if s, ok := v.str(e, fmt.Sprintf("%s[%d]", path, i)); ok {
			out = append(out, s)
			nodes = append(nodes, e)
		}
	}
	return out, nodes
}

func (v *validator) config(d *document) IAMConfig {
	v.doc = d
	defer func() { v.doc = nil }()
	c := IAMConfig{Name: d.name}
	top := v.keys(d.root, "", "apiVersion", "kind", "metadata", "spec", "status")
	spec := top["spec"]
	if spec == nil {
		v.errorf(d.root, "spec", "required")
		return c
	}
	f := v.keys(spec, "spec", "awsRegion", "backendMode", "partition", "mapRoles", "mapUsers", "mapAccounts")

	c.Partition = DefaultPartition
	partitionOK := true
	if s, ok := v.str(f["partition"], "spec.partition"); ok && s != "" {
		c.Partition = s
		if _, err := token.PartitionByID(s); err != nil {
			v.errorf(f["partition"], "spec.partition", "unknown partition %q", s).Hint = "aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b"
			partitionOK = false
		}
	}

	if s, ok := v.str(f["awsRegion"], "spec.awsRegion"); ok && s != "" {
		c.AWSRegion = s
		p := token.PartitionForRegion(s)
		switch {
		case !p.RegionRegex.MatchString(s):
			v.errorf(f["awsRegion"], "spec.awsRegion", "%q is not an AWS region name", s).Hint = "e.g. us-west-2"
		case partitionOK && p.ID != c.Partition:
			v.errorf(f["awsRegion"], "spec.awsRegion", "region %s is in partition %s, not %s", s, p.ID, c.Partition).Hint = "set spec.partition: " + p.ID
		}
	} else if f["awsRegion"] == nil || ok {
		v.errorf(spec, "spec.awsRegion", "required")
	}

	modes, nodes := v.strList(f["backendMode"], "spec.backendMode")
	if len(modes) == 0 && (f["backendMode"] == nil || f["backendMode"].Kind == yaml.SequenceNode || f["backendMode"].Tag == "!!null") {
		v.errorf(lineNode(f["backendMode"], spec), "spec.backendMode", "required: at least one of %s", strings.Join(backendModes, ", "))
	}
	for i, m := range modes {
		path := fmt.Sprintf("spec.backendMode[%d]", i)
		switch {
		case slices.Index(modes, m) < i:
			v.errorf(nodes[i], path, "%s is listed twice (also spec.backendMode[%d])", m, slices.Index(modes, m)).Hint = "the server refuses to start with a duplicate backend"
		case m == mappings.ModeMountedFile || m == mappings.ModeFile:
			p := v.errorf(nodes[i], path, "%s is not supported", m)
			p.Hint = "EKS Anywhere refuses it too (the mappings would live in a file on each control-plane host); use EKSConfigMap or CRD"
			if m == mappings.ModeFile {
				p.Msg = "File is the server's deprecated name for MountedFile, which is not supported"
			}
		case m == mappings.ModeDynamicFile:
			v.errorf(nodes[i], path, "DynamicFile is not supported").Hint = "it needs the server flag --dynamic-file-path, which EKS Anywhere cannot set; use EKSConfigMap or CRD"
		case mappings.DeprecatedModes[m] != "":
			v.warnf(nodes[i], path, "%s is deprecated: write %s (the server reads it the same)", m, mappings.DeprecatedModes[m])
		case !slices.Contains(backendModes, m):
			v.errorf(nodes[i], path, "unknown backend mode %q", m).Hint = "known: " + strings.Join(backendModes, ", ") + "; the server refuses to start with any other"
		}
	}
	c.BackendMode = modes

	c.MapRoles = v.mappings(f["mapRoles"], "spec.mapRoles", "roleARN", "role", c.Partition)
	c.MapUsers = v.mappings(f["mapUsers"], "spec.mapUsers", "userARN", "user", c.Partition)
	accounts, anodes := v.accounts(f["mapAccounts"])
	c.MapAccounts = accounts
	readsCM, readsCRD := mappings.Reads(modes, mappings.ModeEKSConfigMap), mappings.Reads(modes, mappings.ModeCRD)
	switch {
	case len(modes) == 0:
	case readsCRD && !readsCM && len(c.MapRoles)+len(c.MapUsers) > 0:
		// A note, not a problem: where EKS Anywhere would have put them
		// (aws-auth) a CRD-only server never looks.
		v.warnf(lineNode(f["backendMode"], spec), "spec.backendMode", "with CRD alone the mapRoles and mapUsers entries become IAMIdentityMapping objects (kubeiam server sync writes them; EKS Anywhere would put them in aws-auth, which this server never reads)").Note = true
	case !readsCM && !readsCRD && len(c.MapRoles)+len(c.MapUsers)+len(accounts) > 0:
		v.warnf(lineNode(f["backendMode"], spec), "spec.backendMode", "no backend mode reads the mappings (EKSConfigMap reads aws-auth, CRD IAMIdentityMapping objects)")
	}
	if len(accounts) > 0 && readsCRD && !readsCM {
		p := v.warnf(f["mapAccounts"], "spec.mapAccounts", "%d %s never %s a caller: the CRD backend has no accounts, and only EKSConfigMap reads mapAccounts",
			len(accounts), text.Plural(len(accounts), "account", "accounts"), text.Plural(len(accounts), "maps", "map"))
		p.Unmatched = true
	}
	seen := map[string]int{}
	for i, a := range accounts {
		if j, ok := seen[a]; ok {
			v.errorf(anodes[i], fmt.Sprintf("spec.mapAccounts[%d]", i), "account %s is listed twice (also line %d)", a, anodes[j].Line)
		}
		seen[a] = i
	}
	return c
}

func lineNode(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}

// accounts reads mapAccounts. An unquoted ID is a YAML number, which loses
// leading zeros (012345678901 would become 12345678901), so a number is an
// error rather than a silent conversion.
func (v *validator) accounts(n *yaml.Node) ([]string, []*yaml.Node) {
	if n == nil || n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		v.errorf(n, "spec.mapAccounts", "must be a list of 12-digit account IDs")
		return nil, nil
	}
	var out []string
	var nodes []*yaml.Node
	for i, e := range n.Content {
		path := fmt.Sprintf("spec.mapAccounts[%d]", i)
		if e.Kind == yaml.ScalarNode && (e.Tag == "!!int" || e.Tag == "!!float") {
			v.errorf(e, path, "account ID %s is a YAML number", e.Value).Hint = fmt.Sprintf("quote it: %q", e.Value)
			continue
		}
		s, ok := v.str(e, path)
		if !ok {
			continue
		}
		if !token.IsAccountID(s) {
			v.errorf(e, path, "%q is not a 12-digit account ID", s)
			continue
		}
		out = append(out, s)
		nodes = append(nodes, e)
	}
	return out, nodes
}

// mappings reads and checks mapRoles or mapUsers; kind is "role" or "user".
func (v *validator) mappings(n *yaml.Node, path, arnKey, kind, partition string) []Mapping {
	if n == nil || n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		v.errorf(n, path, "must be a list")
		return nil
	}
	var out []Mapping
	seen := map[string]int{} // lower-cased ARN → line: the server matches case-insensitively
	for i, e := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		f := v.keys(e, p, arnKey, "username", "groups")
		if e.Kind != yaml.MappingNode {
			continue
		}
		m := Mapping{Line: e.Line}
		if s, ok := v.str(f[arnKey], join(p, arnKey)); ok && s != "" {
			m.ARN = s
			v.arn(f[arnKey], join(p, keyOf(e, f[arnKey], arnKey)), s, kind, partition)
			key := strings.ToLower(s)
			if line, dup := seen[key]; dup {
				v.errorf(f[arnKey], join(p, arnKey), "%s is mapped twice (also line %d)", s, line).Hint = "the server keeps only one of them"
			} else {
				seen[key] = f[arnKey].Line
			}
		} else if f[arnKey] == nil || ok {
			v.errorf(e, join(p, arnKey), "required")
		}
		if s, ok := v.str(f["username"], join(p, "username")); ok && strings.TrimSpace(s) != "" {
			m.Username = s
			v.username(f["username"], join(p, "username"), s, kind)
		} else if (f["username"] == nil || ok) && (f["groups"] == nil || f["groups"].Tag == "!!null" || len(f["groups"].Content) == 0) {
			v.errorf(e, p, "the entry has neither username nor groups").Hint = "the server would admit the caller as nobody; give at least a username"
		} else if f["username"] == nil || ok {
			v.errorf(e, join(p, "username"), "required").Hint = "the server cannot map an identity to an empty user name"
		}
		groups, gnodes := v.strList(f["groups"], join(p, "groups"))
		for j, g := range groups {
			gp := fmt.Sprintf("%s.groups[%d]", p, j)
			if msg := badGroup(g); msg != "" {
				v.errorf(gnodes[j], gp, "%s", msg)
			}
			if slices.Index(groups, g) < j {
				v.warnf(gnodes[j], gp, "group %s is listed twice", g)
			}
		}
		m.Groups = groups
		out = append(out, m)
	}
	return out
}

func badGroup(g string) string {
	switch {
	case g == "":
		return "empty group name"
	case strings.TrimSpace(g) != g:
		return fmt.Sprintf("group %q has leading or trailing spaces, which RBAC would compare literally", g)
	case strings.IndexFunc(g, unicode.IsControl) >= 0:
		return fmt.Sprintf("group %q has control characters", g)
	case g == "system:authenticated" || g == "system:unauthenticated":
		return fmt.Sprintf("%s is set by the apiserver itself, not by a mapping", g)
	}
	return ""
}

// username checks the templates: an unknown one would reach RBAC verbatim.
func (v *validator) username(n *yaml.Node, path, s, kind string) {
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			v.errorf(n, path, "unclosed template in %q", s)
			return
		}
		t := rest[i : i+j+2]
		switch {
		case !slices.Contains(usernameTemplates, t):
			v.errorf(n, path, "unknown template %s", t).Hint = "known: " + strings.Join(usernameTemplates, " ")
		case kind == "user" && t != "{{AccountID}}" && t != "{{AccessKeyID}}":
			// An IAM user has no session, so these render empty.
			v.warnf(n, path, "%s is empty for an IAM user", t)
		}
		rest = rest[i+j+2:]
	}
}

// arn checks a mapping ARN the way the server will compare it: against the
// caller's canonical ARN, lower-cased. An entry that can never match is
// an error, or a warning when it is merely useless (a role path); either
// carries the ARN that would match, which `mappings fix` writes.
func (v *validator) arn(n *yaml.Node, path, s, kind, partition string) {
	f := checkMappingARN(s, kind, partition)
	if f == nil {
		return
	}
	p := Problem{Line: lineOf(n, v.doc.root), Path: path, Msg: f.Msg, Warning: f.Warning, Fix: f.Fix, Unmatched: f.Warning}
	if f.Fix != "" {
		p.Hint = "use " + f.Fix
	}
	v.add(p)
}

// keyOf is the key of value node val in mapping m as written in the file
// (a case variant such as "rolearn" is read as roleARN).
func keyOf(m, val *yaml.Node, fallback string) string {
	for i := 0; m != nil && i+1 < len(m.Content); i += 2 {
		if m.Content[i+1] == val {
			return m.Content[i].Value
		}
	}
	return fallback
}
