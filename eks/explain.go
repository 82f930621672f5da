package eks

import (
	"context"
	"errors"
	"fmt"

	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/mappings"
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
	// Backends are the sources EKS walks in this mode, in order; Backend
	// the one that answered.
	Backends []string `json:"backends"`
	Backend  string   `json:"backend,omitempty"`
	// Problem is why EKS refuses the login though an entry matches.
	Problem string `json:"problem,omitempty"`
	// Trace is the walk, one line per source looked at.
	Trace []string `json:"trace"`
	// Notes are what the reader should know (a role with no path in IAM's
	// view, an entry with no permissions).
	Notes []string `json:"notes,omitempty"`
}

// AuthLoader reads aws-auth when the walk needs it (API_AND_CONFIG_MAP and
// no access entry): explain makes no Kubernetes call otherwise.
type AuthLoader func(ctx context.Context) (*AWSAuth, error)

// Explain walks what EKS walks for callerARN in the cluster's mode, as a
// mappings.Chain: the access entry of the caller's IAM principal first
// (found by its ARN with the path IAM gives), then, unless the mode is
// API, aws-auth as the authenticator reads it.
func Explain(ctx context.Context, c *AccessClient, cl Cluster, callerARN string, loadAuth AuthLoader) (*Answer, error) {
	p, _, err := CallerPrincipal(callerARN)
	if err != nil {
		return nil, err
	}
	caller, err := mappings.CallerOfARN(callerARN)
	if err != nil {
		return nil, &input.Error{Name: "--arn", Value: callerARN, Reason: err.Error()}
	}
	a := &Answer{Caller: callerARN, Principal: p.ARN, Mode: cl.AuthenticationMode}
	var entries []Entry
	if cl.AuthenticationMode != ModeConfigMap {
		ent, err := c.findEntry(ctx, p, a)
		if err != nil {
			return nil, err
		}
		if ent != nil {
			entries = append(entries, *ent)
		}
	}
	ch := Chain(cl.AuthenticationMode, entries, func() ([]mappings.Mapping, error) {
		auth, err := loadAuth(ctx)
		if err != nil {
			return nil, err
		}
		return auth.Mappings, nil
	})
	a.Backends = ch.Modes()
	m, trace := ch.Explain(caller)
	if err := chainErr(ch); err != nil {
		return nil, err
	}
	a.Trace = trace
	if cl.AuthenticationMode == ModeAPI {
		a.Trace = append(a.Trace, "aws-auth: not read in mode API")
	}
	if m == nil {
		return a, nil
	}
	a.Mapped, a.Source, a.Backend = true, m.Source, m.Backend
	a.UsernameTemplate, a.Username, a.Groups, a.Unknown, a.Problem = m.UsernameTemplate, m.Username, m.Groups, m.Unknown, m.Problem
	if m.Backend == BackendName && len(entries) == 1 {
		ent := entries[0]
		a.Type, a.Policies = ent.Type, ent.Policies
		if !ent.IsNode() && len(ent.Policies) == 0 && len(ent.Groups) == 0 {
			a.Notes = append(a.Notes, "the entry has no access policy and no Kubernetes group: the caller is authenticated but may do nothing (Forbidden)")
		}
	}
	return a, nil
}

// findEntry finds the caller's access entry: by the principal ARN with the
// path IAM gives, else (IAM could not tell) any role entry of that name in
// the account, since role names are unique in an account.
func (c *AccessClient) findEntry(ctx context.Context, p Principal, a *Answer) (*Entry, error) {
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
	if err != nil || ent != nil || p.Kind != "role" || resolved != p.ARN || p.HasPath {
		return ent, err
	}
	all, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if samePrincipal(all[i].PrincipalARN, p) {
			a.Principal = all[i].PrincipalARN
			return &all[i], nil
		}
	}
	return nil, nil
}

// canonical is the authenticator's form of the caller: a role without its
// path (STS session ARNs carry none), a user as it is.
func canonical(p Principal) string {
	if p.Kind == "role" {
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", p.Partition, p.Account, p.Name)
	}
	return p.ARN
}
