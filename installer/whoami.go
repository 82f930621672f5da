package installer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Caller is an AWS identity in the terms the server maps it by: what STS
// answered for a token, plus the access key the token was signed with.
type Caller struct {
	ARN          string
	CanonicalARN string
	AccountID    string
	// SessionName is the part of an assumed-role session after the role
	// name (the server takes it from UserId "AROA…:SESSION"); empty for
	// IAM users.
	SessionName string
	// AccessKeyID is the token's signing key; empty when no token was made
	// (the identity was given as an ARN).
	AccessKeyID string
	// SessionUnknown: the identity was given as a role ARN, so the session
	// name its callers will have is not known here.
	SessionUnknown bool
}

// CallerOfARN is the caller an ARN stands for, read by the server's rules.
// A role ARN stands for any session of the role: its canonical form has
// no path (STS session ARNs carry none), and its session name is unknown.
func CallerOfARN(arn string) (Caller, error) {
	if strings.IndexFunc(arn, unicode.IsSpace) >= 0 {
		return Caller{}, fmt.Errorf("%q contains whitespace, which no caller ARN has", arn)
	}
	p, err := Canonicalize(arn)
	if err != nil {
		return Caller{}, err
	}
	c := Caller{ARN: arn, CanonicalARN: p.Canonical, AccountID: p.Account, SessionName: p.Session}
	if p.Kind == PrincipalRole {
		name := p.Canonical[strings.LastIndex(p.Canonical, "/")+1:]
		c.CanonicalARN = fmt.Sprintf("arn:%s:iam::%s:role/%s", p.Partition, p.Account, name)
		c.SessionUnknown = true
	}
	return c, nil
}

// Describe names the kind of caller, IAM Identity Center roles as such.
func (c Caller) Describe() string {
	p, err := Canonicalize(c.ARN)
	if err != nil {
		return ""
	}
	what := map[string]string{PrincipalUser: "IAM user", PrincipalRoot: "account root user", PrincipalFederatedUser: "federated user",
		PrincipalAssumedRole: "role session", PrincipalRole: "any session of the role"}[p.Kind]
	if set, ok := SSORole(c.CanonicalARN); ok && (p.Kind == PrincipalAssumedRole || p.Kind == PrincipalRole) {
		what += ", IAM Identity Center permission set " + set
	}
	return what
}

// Mappings are the identity mappings a server reads, from aws-auth or from
// a spec, keyed as the server keys them (lower-cased ARNs), with the
// server's backend modes in its order.
type Mappings struct {
	entries map[string]entry
	// Backends are the server's --backend-mode list; empty when unknown.
	Backends []string
	// File is the spec the entries come from ("" for aws-auth).
	File string
}

// MappingsOfAWSAuth reads ConfigMap kube-system/aws-auth as the server's
// EKSConfigMap backend does; a nil ConfigMap has no mappings.
func MappingsOfAWSAuth(cm *unstructured.Unstructured) (Mappings, error) {
	e, _, err := parseAWSAuth(cm)
	if errors.As(err, new(*OwnedARNsError)) {
		err = nil // who wrote which entry does not change what they map
	}
	return Mappings{entries: e}, err
}

// MappingsOf returns the mappings an AWSIamConfig installs.
func MappingsOf(c IAMConfig) Mappings {
	return Mappings{entries: entriesOf(c), Backends: c.BackendMode}
}

// Len is the number of role, user and account entries.
func (m Mappings) Len() int { return len(m.entries) }

// Match is the mapping that applies to a caller and what the server makes
// of it.
type Match struct {
	// Kind is role, user or account.
	Kind string `json:"kind"`
	// ARN is the mapping's ARN as written (the account ID for an account).
	ARN              string   `json:"arn"`
	UsernameTemplate string   `json:"usernameTemplate,omitempty"`
	GroupTemplates   []string `json:"groupTemplates,omitempty"`
	Username         string   `json:"username"`
	Groups           []string `json:"groups"`
	// Unknown lists the templates left unexpanded in Username and Groups
	// because their value cannot be known here, each with the reason.
	Unknown []string `json:"unknown,omitempty"`
	// Problem, when set, is why the server will refuse the login although
	// an entry matches ({{EC2PrivateDNSName}} for a session that is no EC2
	// instance).
	Problem string `json:"problem,omitempty"`
	// Backend is the server backend whose entry matched; Source where the
	// entry is written ("spec.yaml:21", "aws-auth mapRoles").
	Backend string `json:"backend,omitempty"`
	Source  string `json:"source,omitempty"`
}

// isInstanceID is the server's test (^i-(\w{8}|\w{17})$) that a session
// name is an EC2 instance ID, which {{EC2PrivateDNSName}} needs; written
// out so that no regexp is compiled at package init.
func isInstanceID(s string) bool {
	rest, ok := strings.CutPrefix(s, "i-")
	if !ok || (len(rest) != 8 && len(rest) != 17) {
		return false
	}
	for _, r := range rest {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Match finds the mapping the server applies to c; see Explain.
func (m Mappings) Match(c Caller) (*Match, bool) {
	match, _ := m.Explain(c)
	return match, match != nil
}

// Explain walks the server's mapper chain (aws-iam-authenticator v0.7.2,
// server.doMapping) for c and says what each backend found. In
// EKSConfigMap mode the role entry of the canonical ARN wins, then the
// user entry, then the caller's account in mapAccounts (user name the
// canonical ARN, no groups); ARNs compare lower-cased. The first backend
// that maps the caller decides. Backends whose mappings live elsewhere
// (CRD objects, files on the control-plane hosts) are named, not read.
func (m Mappings) Explain(c Caller) (*Match, []string) {
	canon := strings.ToLower(c.CanonicalARN)
	modes := m.Backends
	var trace []string
	if len(modes) == 0 {
		modes = []string{"EKSConfigMap"}
		trace = append(trace, "backend modes unknown (no DaemonSet): EKSConfigMap assumed")
	}
	for _, mode := range modes {
		if mode != "EKSConfigMap" && mode != "ConfigMap" {
			trace = append(trace, fmt.Sprintf("%s: not read by kubeiam; an entry there for %s would decide before the backends after it", mode, c.CanonicalARN))
			continue
		}
		for _, kind := range []string{"role", "user"} {
			if e, ok := m.entries[kind+":"+canon]; ok {
				match := render(e, c)
				match.Backend, match.Source = mode, m.source(e)
				trace = append(trace, fmt.Sprintf("%s: map%ss entry %s matches %s", mode, strings.ToUpper(kind[:1])+kind[1:], match.Source, c.CanonicalARN))
				return match, trace
			}
		}
		if e, ok := m.entries["account:"+c.AccountID]; ok && c.AccountID != "" {
			trace = append(trace, fmt.Sprintf("%s: no mapRoles or mapUsers entry; account %s is in mapAccounts", mode, c.AccountID))
			return &Match{Kind: "account", ARN: e.arn, Username: c.CanonicalARN, Groups: []string{}, Backend: mode, Source: m.source(e)}, trace
		}
		trace = append(trace, fmt.Sprintf("%s: no mapRoles or mapUsers entry for %s, and account %s is not in mapAccounts", mode, c.CanonicalARN, c.AccountID))
	}
	return nil, trace
}

// source says where an entry is written.
func (m Mappings) source(e entry) string {
	if m.File != "" && e.line > 0 {
		return fmt.Sprintf("%s:%d", m.File, e.line)
	}
	where := "aws-auth"
	if m.File != "" {
		where = m.File
	}
	return where + " map" + strings.ToUpper(e.kind[:1]) + e.kind[1:] + "s"
}

// Near lists mappings that look meant for c but that the server never
// matches: role ARNs with a path whose account and role name are c's (the
// canonical form has no path). They make the hint of a denial.
func (m Mappings) Near(c Caller) []string {
	parts := strings.SplitN(c.CanonicalARN, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "role/") {
		return nil
	}
	name := strings.ToLower(strings.TrimPrefix(parts[5], "role/"))
	prefix := strings.ToLower(strings.Join(parts[:5], ":")) + ":role/"
	var out []string
	for _, k := range sortedKeys(m.entries) {
		e := m.entries[k]
		a := strings.ToLower(e.arn)
		if e.kind == "role" && strings.HasPrefix(a, prefix) && strings.HasSuffix(a, "/"+name) && strings.Count(a[len(prefix):], "/") > 0 {
			out = append(out, e.arn)
		}
	}
	return out
}

// render expands the username and group templates as the server does. The
// server fails a login whose {{EC2PrivateDNSName}} it cannot resolve; that
// shows as Problem.
func render(e entry, c Caller) *Match {
	m := &Match{Kind: e.kind, ARN: e.arn, UsernameTemplate: e.username, GroupTemplates: e.groups, Groups: []string{}}
	unknown := map[string]string{}
	m.Username = expand(e.username, c, unknown)
	for _, g := range e.groups {
		m.Groups = append(m.Groups, expand(g, c, unknown))
	}
	for _, t := range []string{"{{EC2PrivateDNSName}}", "{{AccessKeyID}}", "{{SessionName}}", "{{SessionNameRaw}}"} {
		if why, ok := unknown[t]; ok {
			m.Unknown = append(m.Unknown, t+": "+why)
		}
	}
	if _, ok := unknown["{{EC2PrivateDNSName}}"]; ok && !c.SessionUnknown && !isInstanceID(c.SessionName) {
		m.Problem = fmt.Sprintf("{{EC2PrivateDNSName}} needs a session named after an EC2 instance ID, not %q: the server will deny this login", c.SessionName)
	}
	return m
}

func expand(s string, c Caller, unknown map[string]string) string {
	if strings.Contains(s, "{{EC2PrivateDNSName}}") {
		// Only the server resolves it, through the EC2 API.
		unknown["{{EC2PrivateDNSName}}"] = "the private DNS name of the instance, which the server looks up in EC2"
	}
	if strings.Contains(s, "{{AccessKeyID}}") {
		if c.AccessKeyID == "" {
			unknown["{{AccessKeyID}}"] = "the signing access key, unknown without a token"
		} else {
			s = strings.ReplaceAll(s, "{{AccessKeyID}}", c.AccessKeyID)
		}
	}
	s = strings.ReplaceAll(s, "{{AccountID}}", c.AccountID)
	if c.SessionUnknown {
		for _, t := range []string{"{{SessionName}}", "{{SessionNameRaw}}"} {
			if strings.Contains(s, t) {
				unknown[t] = "the session name, unknown for a role ARN; give a session ARN (arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION)"
			}
		}
		return s
	}
	// The server replaces "@" in {{SessionName}} (an e-mail address as an
	// SSO session name is common) and keeps it in {{SessionNameRaw}}.
	s = strings.ReplaceAll(s, "{{SessionName}}", strings.ReplaceAll(c.SessionName, "@", "-"))
	s = strings.ReplaceAll(s, "{{SessionNameRaw}}", c.SessionName)
	return s
}

// Installed is what a cluster says about identity mapping: the cluster ID
// its server checks tokens against and its aws-auth mappings.
type Installed struct {
	// ClusterID is empty when ConfigMap kube-system/aws-iam-authenticator
	// is missing.
	ClusterID string
	// HasAWSAuth is false when ConfigMap kube-system/aws-auth is missing.
	HasAWSAuth bool
	Mappings   Mappings
}

// ReadInstalled reads the cluster ID and aws-auth the way install does.
func ReadInstalled(ctx context.Context, c Client) (*Installed, error) {
	st, err := readState(ctx, c, nil, false)
	if err != nil {
		return nil, err
	}
	m, err := MappingsOfAWSAuth(st.awsAuth)
	if err != nil {
		return nil, err
	}
	if st.daemonSet != nil {
		m.Backends = installedConfig(st.daemonSet).BackendMode
	}
	return &Installed{ClusterID: st.clusterID, HasAWSAuth: st.awsAuth != nil, Mappings: m}, nil
}
