package mappings

import (
	"fmt"
	"strings"
)

// Kinds of entry. An IAMIdentityMapping has no kind of its own; it takes
// the kind of its ARN.
const (
	KindRole    = "role"
	KindUser    = "user"
	KindAccount = "account"
)

// Mapping is one entry of one backend.
type Mapping struct {
	// Kind is role, user or account.
	Kind string
	// ARN is the entry's ARN as written (the account ID of an account).
	ARN      string
	Username string
	Groups   []string
	// Source says where the entry is written: "eksa-cluster.yaml:21",
	// "aws-auth mapRoles", "IAMIdentityMapping kubeiam-role-…".
	Source string
	// Key is what the server compares a caller's canonical ARN with,
	// lower-cased; empty for an account, and for an entry the server does
	// not use (see Inactive).
	Key string
	// Inactive says why the server does not use the entry yet, e.g. an
	// IAMIdentityMapping whose status it has not written; "" when it does.
	Inactive string
	// Managed: kubeiam wrote the entry, so a sync may change or delete it.
	Managed bool
}

// String is the entry as diffs and lockout messages show it.
func (m Mapping) String() string {
	if m.Kind == KindAccount {
		return KindAccount + " " + m.ARN
	}
	return fmt.Sprintf("%s %s → %s [%s]", m.Kind, m.ARN, m.Username, strings.Join(m.Groups, ", "))
}

// KindOfARN is role for an IAM role or STS session ARN, else user.
func KindOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && (strings.HasPrefix(strings.ToLower(parts[5]), "role/") || strings.HasPrefix(strings.ToLower(parts[5]), "assumed-role/")) {
		return KindRole
	}
	return KindUser
}

// Match is the mapping that applies to a caller and what the server makes
// of it. Its JSON form is part of `whoami -o json`: fields are only added.
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
	// Backend is the backend whose entry matched; Source where the entry
	// is written ("spec.yaml:21", "aws-auth mapRoles").
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

// render expands the username and group templates as the server does
// after any backend maps a caller (server.renderTemplates). An account
// entry gives the canonical ARN as user name and no groups. The server
// fails a login whose {{EC2PrivateDNSName}} it cannot resolve; that shows
// as Problem.
func render(e Mapping, c Caller) *Match {
	if e.Kind == KindAccount {
		return &Match{Kind: KindAccount, ARN: e.ARN, Username: c.CanonicalARN, Groups: []string{}}
	}
	m := &Match{Kind: e.Kind, ARN: e.ARN, UsernameTemplate: e.Username, GroupTemplates: e.Groups, Groups: []string{}}
	unknown := map[string]string{}
	m.Username = expand(e.Username, c, unknown)
	for _, g := range e.Groups {
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
