package eks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Answer is what EKS does with a caller: which source maps it and what
// Kubernetes identity and permissions it gets.
type Answer struct {
	Caller string `json:"caller"`
	// Principal is the IAM principal EKS looks the caller up by (a role
	// with its path, as IAM has it).
	Principal string `json:"principal"`
	Mode      string `json:"authenticationMode"`
	// Mapped is false when nothing maps the caller: EKS answers
	// Unauthorized.
	Mapped bool `json:"mapped"`
	// Source names what answered: "access entry ARN" or "aws-auth mapRoles".
	Source string `json:"source,omitempty"`
	// Type is the access entry's type (STANDARD, EC2_LINUX…).
	Type             string   `json:"type,omitempty"`
	UsernameTemplate string   `json:"usernameTemplate,omitempty"`
	Username         string   `json:"username,omitempty"`
	Groups           []string `json:"groups,omitempty"`
	Policies         []Policy `json:"policies,omitempty"`
	// Unknown lists templates left as they are (the session name of a role
	// given without one; EC2PrivateDNSName).
	Unknown []string `json:"unknown,omitempty"`
	// Trace is the walk, one line per source looked at.
	Trace []string `json:"trace"`
	// Notes are what the reader should know (a role with no path in IAM's
	// view, an entry with no permissions).
	Notes []string `json:"notes,omitempty"`
}

// AuthLoader reads aws-auth when the walk needs it (API_AND_CONFIG_MAP and
// no access entry): explain makes no Kubernetes call otherwise.
type AuthLoader func(ctx context.Context) (*AWSAuth, error)

// Explain walks what EKS walks for callerARN in the cluster's mode: the
// access entry of the caller's IAM principal first, then (unless the mode
// is API) aws-auth as the authenticator reads it.
func Explain(ctx context.Context, c *AccessClient, cl Cluster, callerARN string, loadAuth AuthLoader) (*Answer, error) {
	p, session, err := CallerPrincipal(callerARN)
	if err != nil {
		return nil, err
	}
	a := &Answer{Caller: callerARN, Principal: p.ARN, Mode: cl.AuthenticationMode}
	sessionKnown := session != "" || p.Kind == "user"
	if cl.AuthenticationMode != ModeConfigMap {
		resolved, note, err := c.Resolve(ctx, p)
		if errors.Is(err, ErrNoSuchRole) {
			resolved, note, err = p.ARN, "IAM has no role "+p.Name+" in account "+p.Account, nil
		}
		if err != nil {
			return nil, err
		}
		a.Principal = resolved
		if note != "" {
			a.Notes = append(a.Notes, note)
		}
		ent, err := c.Get(ctx, resolved)
		if err != nil {
			return nil, err
		}
		if ent == nil && p.Kind == "role" && resolved == p.ARN && !p.HasPath {
			// IAM could not give the path: a role name is unique in its
			// account whatever the path, so any entry of that name is it.
			all, err := c.List(ctx)
			if err != nil {
				return nil, err
			}
			for i := range all {
				if q, err := ParsePrincipal("", all[i].PrincipalARN); err == nil && q.Kind == "role" && q.Account == p.Account && strings.EqualFold(q.Name, p.Name) {
					ent = &all[i]
					a.Principal = q.ARN
					break
				}
			}
		}
		if ent != nil {
			a.Mapped, a.Source, a.Type = true, "access entry "+ent.PrincipalARN, ent.Type
			a.UsernameTemplate, a.Policies = ent.Username, ent.Policies
			a.Username = fill(ent.Username, p, session, sessionKnown, &a.Unknown)
			for _, g := range ent.Groups {
				a.Groups = append(a.Groups, fill(g, p, session, sessionKnown, &a.Unknown))
			}
			a.Trace = append(a.Trace, fmt.Sprintf("access entries: %s maps %s (access entries win over aws-auth)", ent.PrincipalARN, callerARN))
			if !ent.IsNode() && len(ent.Policies) == 0 && len(ent.Groups) == 0 {
				a.Notes = append(a.Notes, "the entry has no access policy and no Kubernetes group: the caller is authenticated but may do nothing (Forbidden)")
			}
			return a, nil
		}
		a.Trace = append(a.Trace, "access entries: none for "+a.Principal)
	} else {
		a.Trace = append(a.Trace, "access entries: not read in mode CONFIG_MAP")
	}
	if cl.AuthenticationMode == ModeAPI {
		a.Trace = append(a.Trace, "aws-auth: not read in mode API")
		return a, nil
	}
	auth, err := loadAuth(ctx)
	if err != nil {
		return nil, err
	}
	m := matchAWSAuth(auth.Mappings, p)
	if m == nil {
		a.Trace = append(a.Trace, fmt.Sprintf("aws-auth: no mapRoles or mapUsers entry for %s, and account %s is not in mapAccounts", canonical(p), p.Account))
		return a, nil
	}
	a.Mapped, a.Source = true, m.Source
	if m.Kind == "account" {
		a.Username, a.Groups = canonical(p), []string{}
		a.Trace = append(a.Trace, fmt.Sprintf("aws-auth: account %s is in mapAccounts", p.Account))
		return a, nil
	}
	a.UsernameTemplate = m.Username
	a.Username = fill(m.Username, p, session, sessionKnown, &a.Unknown)
	for _, g := range m.Groups {
		a.Groups = append(a.Groups, fill(g, p, session, sessionKnown, &a.Unknown))
	}
	a.Trace = append(a.Trace, fmt.Sprintf("aws-auth: %s entry %s matches %s", m.Source, m.ARN, canonical(p)))
	return a, nil
}

// canonical is the authenticator's form of the caller: a role without its
// path (STS session ARNs carry none), a user as it is.
func canonical(p Principal) string {
	if p.Kind == "role" {
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", p.Partition, p.Account, p.Name)
	}
	return p.ARN
}

// matchAWSAuth is the authenticator's lookup: role entries by the
// canonical ARN, lower-cased (an entry written with a path never matches),
// then user entries, then the account.
func matchAWSAuth(maps []AuthMapping, p Principal) *AuthMapping {
	canon := strings.ToLower(canonical(p))
	var found *AuthMapping
	for _, kind := range []string{"role", "user"} {
		for i := range maps {
			// The authenticator keys a map: a later entry of the same ARN wins.
			if maps[i].Kind == kind && strings.ToLower(maps[i].ARN) == canon {
				found = &maps[i]
			}
		}
		if found != nil {
			return found
		}
	}
	for i := range maps {
		if maps[i].Kind == "account" && maps[i].ARN == p.Account {
			return &maps[i]
		}
	}
	return nil
}

// fill expands the username templates EKS expands.
func fill(s string, p Principal, session string, sessionKnown bool, unknown *[]string) string {
	note := func(t, why string) {
		if strings.Contains(s, t) && !slices.Contains(*unknown, t+": "+why) {
			*unknown = append(*unknown, t+": "+why)
		}
	}
	note("{{EC2PrivateDNSName}}", "the instance's private DNS name, which EKS looks up")
	note("{{AccessKeyID}}", "the signing access key, unknown without a token")
	s = strings.ReplaceAll(s, "{{AccountID}}", p.Account)
	if !sessionKnown {
		note("{{SessionName}}", "the session name; give a session ARN (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION)")
		note("{{SessionNameRaw}}", "the session name; give a session ARN")
		return s
	}
	s = strings.ReplaceAll(s, "{{SessionName}}", strings.ReplaceAll(session, "@", "-"))
	return strings.ReplaceAll(s, "{{SessionNameRaw}}", session)
}
