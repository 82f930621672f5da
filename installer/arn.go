package installer

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/kubeiam/kubeiam/mappings"
	"github.com/kubeiam/kubeiam/token"
)

// arnFinding is one reason a mapping ARN can never match a caller, with
// the ARN that would (Fix, "" when there is no one fix).
type arnFinding struct {
	Msg, Fix string
	// Warning: the entry is harmless but useless (a role path); an error
	// otherwise.
	Warning bool
}

// checkMappingARN judges a mapRoles (kind "role") or mapUsers ("user")
// ARN against what callers of a cluster in partition can present after
// canonicalisation, and says what to write instead.
func checkMappingARN(s, kind, partition string) *arnFinding {
	trimmed := strings.TrimSpace(s)
	if trimmed != s {
		f := &arnFinding{Msg: fmt.Sprintf("%q has leading or trailing whitespace, which the server compares literally", s), Fix: trimmed}
		if g := checkMappingARN(trimmed, kind, partition); g != nil {
			// Whitespace and more: one fix for all, or none.
			f.Msg, f.Fix = f.Msg+"; "+g.Msg, g.Fix
		}
		return f
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return &arnFinding{Msg: fmt.Sprintf("%q contains whitespace, which no ARN has", s)}
	}
	// The server lower-cases both sides, so only the resource name's case
	// is kept in a fix.
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || !strings.EqualFold(parts[0], "arn") {
		return &arnFinding{Msg: fmt.Sprintf("%q is not an ARN", s)}
	}
	part, service, region, account, resource := strings.ToLower(parts[1]), strings.ToLower(parts[2]), parts[3], parts[4], parts[5]
	if typ, name, ok := strings.Cut(resource, "/"); ok {
		resource = strings.ToLower(typ) + "/" + name
	} else {
		resource = strings.ToLower(resource)
	}
	var msgs []string
	fixable := true
	if part != partition {
		msgs = append(msgs, fmt.Sprintf("partition %q does not match spec.partition %q", part, partition))
		part = partition
	}
	if !token.IsAccountID(account) {
		if d := strings.NewReplacer("-", "", " ", "").Replace(account); token.IsAccountID(d) {
			msgs = append(msgs, fmt.Sprintf("account %q is not written as 12 digits", account))
			account = d
		} else {
			msgs = append(msgs, fmt.Sprintf("account %q is not 12 digits", account))
			fixable = false
		}
	}
	build := func(res string) string { return fmt.Sprintf("arn:%s:iam::%s:%s", part, account, res) }
	warning := false
	var fixed string
	switch {
	case service == "sts" && strings.HasPrefix(resource, "assumed-role/"):
		seg := strings.Split(resource, "/")
		if kind != "role" || len(seg) < 3 {
			msgs = append(msgs, fmt.Sprintf("%s is an STS session ARN, not an IAM %s ARN", s, kind))
			fixable = false
			break
		}
		msgs = append(msgs, fmt.Sprintf("%s is an STS session ARN; the server maps IAM role ARNs", s))
		fixed = build("role/" + strings.Join(seg[1:len(seg)-1], "/"))
	case service == "sts" && strings.HasPrefix(resource, "federated-user/") && kind == "user":
		// A federated user's canonical ARN is its STS ARN: it matches.
		fixed = fmt.Sprintf("arn:%s:sts::%s:%s", part, account, resource)
	case service != "iam":
		msgs = append(msgs, fmt.Sprintf("service %q is not iam", service))
		fixable = false
	default:
		if region != "" {
			msgs = append(msgs, fmt.Sprintf("IAM ARNs have no region (got %q)", region))
		}
		typ, name, _ := strings.Cut(resource, "/")
		switch {
		case kind == "user" && resource == "root":
			fixed = build("root")
		case typ != kind:
			m := fmt.Sprintf("%s is not an IAM %s ARN", s, kind)
			if typ == "role" || typ == "user" {
				m += fmt.Sprintf(" (it belongs in map%ss)", strings.ToUpper(typ[:1])+typ[1:])
			}
			msgs = append(msgs, m)
			fixable = false
		case name == "" || strings.HasSuffix(name, "/"):
			msgs = append(msgs, fmt.Sprintf("%s has no %s name", s, kind))
			fixable = false
		case kind == "role" && strings.Contains(name, "/"):
			base := name[strings.LastIndex(name, "/")+1:]
			what := "role paths are not matched by the server"
			if set, ok := mappings.SSORole(name); ok {
				what = fmt.Sprintf("IAM Identity Center role (permission set %s): its path %s is not matched by the server", set, name[:len(name)-len(base)-1])
			}
			if len(msgs) == 0 {
				warning = true // valid, only never used
			}
			msgs = append(msgs, what)
			fixed = build("role/" + base)
		default:
			fixed = build(resource)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	f := &arnFinding{Msg: strings.Join(msgs, "; "), Warning: warning}
	if fixable && !strings.EqualFold(fixed, s) {
		f.Fix = fixed
	}
	return f
}

// CanonicalMappingARN returns the form of a mapping ARN the server can
// match, and why it differs from arn ("" when arn is fine as it is). An
// error is an ARN no rewrite can make match.
func CanonicalMappingARN(arn, kind, partition string) (string, string, error) {
	f := checkMappingARN(arn, kind, partition)
	switch {
	case f == nil:
		return arn, "", nil
	case f.Fix == "":
		return "", "", fmt.Errorf("%s", f.Msg)
	}
	return f.Fix, f.Msg, nil
}

// Fixable counts the problems `mappings fix` rewrites.
func Fixable(problems []Problem) int {
	n := 0
	for _, p := range problems {
		if p.Fix != "" {
			n++
		}
	}
	return n
}
