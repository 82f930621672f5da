package eks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubeiam/kubeiam/internal/input"
)

// AccessFile is the GitOps form of a cluster's access entries:
//
//	accessEntries:
//	- principalArn: arn:aws:iam::111122223333:role/Admin
//	  username: admin:{{SessionName}}
//	  kubernetesGroups: [ops]
//	  policies:
//	  - policy: AmazonEKSClusterAdminPolicy
//	  - policy: AmazonEKSEditPolicy
//	    namespaces: [web, api]
//
// A policy with namespaces is namespace-scoped, else cluster-scoped. Roles
// may be written without their path; apply asks IAM for it.
type AccessFile struct {
	AccessEntries []FileEntry `json:"accessEntries"`
}

// FileEntry is one entry of an AccessFile.
type FileEntry struct {
	PrincipalARN     string       `json:"principalArn"`
	Type             string       `json:"type,omitempty"`
	Username         string       `json:"username,omitempty"`
	KubernetesGroups []string     `json:"kubernetesGroups,omitempty"`
	Policies         []FilePolicy `json:"policies,omitempty"`
}

// FilePolicy is a policy of a FileEntry.
type FilePolicy struct {
	Policy     string   `json:"policy"`
	Namespaces []string `json:"namespaces,omitempty"`
}

// ParseAccessFile reads and checks an AccessFile before any call; errors
// name the file and the entry.
func ParseAccessFile(name string, data []byte) ([]Entry, []Principal, error) {
	var f AccessFile
	if err := sigsyaml.UnmarshalStrict(data, &f); err != nil {
		return nil, nil, fmt.Errorf("could not read %s: %w", name, err)
	}
	var out []Entry
	var ps []Principal
	seen := map[string]bool{}
	for i, fe := range f.AccessEntries {
		where := fmt.Sprintf("%s: accessEntries[%d]", name, i)
		p, err := ParsePrincipal(where+".principalArn", fe.PrincipalARN)
		if err != nil {
			return nil, nil, err
		}
		if seen[strings.ToLower(p.ARN)] {
			return nil, nil, fmt.Errorf("could not read %s: %s is listed twice", where, p.ARN)
		}
		seen[strings.ToLower(p.ARN)] = true
		e := Entry{PrincipalARN: p.ARN, Type: fe.Type, Username: fe.Username, Groups: fe.KubernetesGroups, Policies: []Policy{}, Managed: true}
		if e.Type == "" {
			e.Type = TypeStandard
		}
		if e.Groups == nil {
			e.Groups = []string{}
		}
		switch {
		case e.Type == TypeStandard:
			if e.Username != "" {
				if err := ValidateUsername(where+".username", e.Username); err != nil {
					return nil, nil, err
				}
			}
			for _, g := range e.Groups {
				if err := ValidateGroup(where+".kubernetesGroups", g); err != nil {
					return nil, nil, err
				}
			}
		case slices.Contains(NodeTypes, e.Type):
			if e.Username != "" || len(e.Groups) > 0 || len(fe.Policies) > 0 {
				return nil, nil, fmt.Errorf("could not read %s: type %s takes no username, groups or policies (EKS sets them)", where, e.Type)
			}
		default:
			return nil, nil, &input.Error{Name: where + ".type", Value: e.Type, Reason: "give STANDARD or a node type (" + strings.Join(NodeTypes, ", ") + ")"}
		}
		for _, fp := range fe.Policies {
			name := strings.TrimPrefix(fp.Policy, PolicyPrefix)
			if name == "" || strings.ContainsAny(name, "/:") {
				return nil, nil, &input.Error{Name: where + ".policies", Value: fp.Policy, Reason: "give a policy name such as AmazonEKSViewPolicy"}
			}
			pol := Policy{ARN: PolicyPrefix + name, Scope: ScopeCluster}
			if len(fp.Namespaces) > 0 {
				pol.Scope, pol.Namespaces = ScopeNamespace, fp.Namespaces
			}
			e.Policies = append(e.Policies, pol)
		}
		out = append(out, e)
		ps = append(ps, p)
	}
	return out, ps, nil
}

// Change is one step of an apply.
type Change struct {
	// Op is create, update, delete or leave.
	Op     string `json:"op"`
	ARN    string `json:"principalArn"`
	Detail string `json:"detail,omitempty"`
	want   *Entry
	have   *Entry
	add    []Policy
	remove []string
	entry  bool // username/groups change
}

func (c Change) String() string {
	sign := map[string]string{"create": "+", "update": "~", "delete": "-", "leave": "="}[c.Op]
	return fmt.Sprintf("%s %s %s: %s", sign, c.Op, c.ARN, c.Detail)
}

// DiffEntries compares the wanted entries (ARNs resolved) with the
// cluster's. An entry the file drops is deleted when kubeiam made it;
// hand-made ones (and EKS's node entries) are left unless prune — node
// entries are never pruned, as nodes would lose the cluster.
func DiffEntries(want, have []Entry, prune bool) ([]Change, error) {
	byARN := map[string]*Entry{}
	for i := range have {
		byARN[strings.ToLower(have[i].PrincipalARN)] = &have[i]
	}
	var out []Change
	wanted := map[string]bool{}
	for i := range want {
		w := &want[i]
		k := strings.ToLower(w.PrincipalARN)
		wanted[k] = true
		h := byARN[k]
		if h == nil {
			out = append(out, Change{Op: "create", ARN: w.PrincipalARN, want: w, Detail: describeEntry(*w)})
			continue
		}
		if h.Type != w.Type {
			return nil, fmt.Errorf("could not plan access entry %s: it is of type %s on the cluster, %s in the file, and EKS changes no type in place", w.PrincipalARN, h.Type, w.Type)
		}
		ch := Change{Op: "update", ARN: h.PrincipalARN, want: w, have: h}
		var what []string
		if !h.IsNode() && (h.Username != w.Username && w.Username != "" || !slices.Equal(sortedCopy(h.Groups), sortedCopy(w.Groups))) {
			ch.entry = true
			if w.Username != "" && h.Username != w.Username {
				what = append(what, fmt.Sprintf("username %s → %s", h.Username, w.Username))
			}
			if !slices.Equal(sortedCopy(h.Groups), sortedCopy(w.Groups)) {
				what = append(what, fmt.Sprintf("groups [%s] → [%s]", strings.Join(h.Groups, ","), strings.Join(w.Groups, ",")))
			}
		}
		for _, p := range w.Policies {
			if !slices.ContainsFunc(h.Policies, p.equal) {
				ch.add = append(ch.add, p)
				what = append(what, "+ policy "+p.String())
			}
		}
		for _, p := range h.Policies {
			if !slices.ContainsFunc(w.Policies, func(q Policy) bool { return q.ARN == p.ARN }) {
				ch.remove = append(ch.remove, p.ARN)
				what = append(what, "- policy "+p.String())
			}
		}
		if len(what) > 0 {
			ch.Detail = strings.Join(what, "; ")
			out = append(out, ch)
		}
	}
	for i := range have {
		h := &have[i]
		if wanted[strings.ToLower(h.PrincipalARN)] {
			continue
		}
		switch {
		case h.Managed:
			out = append(out, Change{Op: "delete", ARN: h.PrincipalARN, have: h, Detail: "kubeiam made it and the file no longer lists it"})
		case h.IsNode():
			out = append(out, Change{Op: "leave", ARN: h.PrincipalARN, Detail: h.Type + " entry (nodes join through it); never pruned"})
		case prune:
			out = append(out, Change{Op: "delete", ARN: h.PrincipalARN, have: h, Detail: "hand-made, not in the file (--prune)"})
		default:
			out = append(out, Change{Op: "leave", ARN: h.PrincipalARN, Detail: "hand-made, not in the file; --prune deletes it"})
		}
	}
	return out, nil
}

func describeEntry(e Entry) string {
	s := e.Type
	if e.Type == TypeStandard {
		s += fmt.Sprintf(" username=%q groups=[%s]", e.Username, strings.Join(e.Groups, ","))
		for _, p := range e.Policies {
			s += "; policy " + p.String()
		}
	}
	return s
}

// After is the cluster's entries once the changes are made.
func After(have []Entry, changes []Change) []Entry {
	out := map[string]Entry{}
	for _, h := range have {
		out[strings.ToLower(h.PrincipalARN)] = h
	}
	for _, c := range changes {
		k := strings.ToLower(c.ARN)
		switch c.Op {
		case "create", "update":
			e := *c.want
			e.PrincipalARN = c.ARN
			out[k] = e
		case "delete":
			delete(out, k)
		}
	}
	var res []Entry
	for _, e := range out {
		res = append(res, e)
	}
	slices.SortFunc(res, func(a, b Entry) int { return strings.Compare(a.PrincipalARN, b.PrincipalARN) })
	return res
}

// ApplyChanges makes the changes with the client's bounded concurrency;
// progress gets a line per change made.
func ApplyChanges(ctx context.Context, c *AccessClient, changes []Change, progress func(string)) error {
	return c.each(ctx, len(changes), func(ctx context.Context, i int) error {
		ch := changes[i]
		switch ch.Op {
		case "create":
			if err := c.Create(ctx, *ch.want); err != nil {
				return err
			}
		case "update":
			if ch.entry {
				if err := c.Update(ctx, ch.ARN, ch.want.Username, ch.want.Groups); err != nil {
					return err
				}
			}
			for _, p := range ch.add {
				if err := c.Associate(ctx, ch.ARN, p); err != nil {
					return err
				}
			}
			for _, p := range ch.remove {
				if err := c.Disassociate(ctx, ch.ARN, p); err != nil {
					return err
				}
			}
		case "delete":
			if err := c.Delete(ctx, ch.ARN); err != nil {
				return err
			}
		default:
			return nil
		}
		progress(ch.String())
		return nil
	})
}
