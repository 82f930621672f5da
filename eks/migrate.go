package eks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/mappings"
)

// Decisions a migration plan makes for an aws-auth mapping.
const (
	DecisionCreate = "create"
	DecisionUpdate = "update"
	DecisionAdopt  = "adopt" // an entry exists and says the same: no call
	DecisionSkip   = "skip"
)

// Step is the plan for one aws-auth mapping.
type Step struct {
	From mappings.Mapping `json:"from"`
	// Decision is create, update (in place), adopt or skip.
	Decision string `json:"decision"`
	// Entry is the access entry the mapping becomes (create, update, adopt).
	Entry *Entry `json:"entry,omitempty"`
	// Existing is the entry found on the cluster, if any.
	Existing *Entry `json:"existing,omitempty"`
	// Reason says why a mapping is skipped; Notes what changed on the way
	// (path resolved, system:masters made a policy, groups dropped).
	Reason string   `json:"reason,omitempty"`
	Notes  []string `json:"notes,omitempty"`
	// Blocker: a skip that would lock the mapping's callers out under API
	// (EKS has no access entry form for it).
	Blocker bool `json:"blocker,omitempty"`
	// missingPolicies and update are the calls the step makes.
	missing []Policy
}

// Plan is what a migration will do.
type Plan struct {
	Cluster string `json:"cluster"`
	From    string `json:"from"`
	To      string `json:"to"`
	// Target is the mode the plan reaches: To, or less when blockers keep
	// the cluster where aws-auth is still read.
	Target string `json:"target"`
	// Held says why Target is less than To.
	Held  string `json:"held,omitempty"`
	Steps []Step `json:"steps"`
	// Existing are the entries on the cluster before.
	Existing []Entry `json:"-"`
}

// Changes counts the change calls the plan makes (0: nothing to do).
func (p *Plan) Changes() int {
	n := 0
	if p.Target != p.From {
		n += ModeRank(p.Target) - ModeRank(p.From)
	}
	for _, s := range p.Steps {
		switch s.Decision {
		case DecisionCreate:
			n += 1 + len(s.Entry.Policies)
		case DecisionUpdate:
			if s.needsUpdate() {
				n++
			}
			n += len(s.missing)
		}
	}
	return n
}

func (s Step) needsUpdate() bool {
	return s.Existing != nil && !s.Existing.IsNode() && (s.Existing.Username != s.Entry.Username || !slices.Equal(sortedCopy(s.Existing.Groups), sortedCopy(s.Entry.Groups)))
}

// After is the state the plan leads to.
func (p *Plan) After(auth []mappings.Mapping) State {
	st := State{Mode: p.Target, AWSAuth: auth}
	byARN := map[string]Entry{}
	for _, e := range p.Existing {
		byARN[e.PrincipalARN] = e
	}
	for _, s := range p.Steps {
		if s.Entry == nil {
			continue
		}
		e := *s.Entry
		if old, ok := byARN[e.PrincipalARN]; ok {
			// Policies are only added; ones the entry had stay.
			for _, pol := range old.Policies {
				if !slices.ContainsFunc(e.Policies, func(q Policy) bool { return q.ARN == pol.ARN }) {
					e.Policies = append(e.Policies, pol)
				}
			}
			if old.IsNode() {
				e = old
			}
		}
		byARN[e.PrincipalARN] = e
	}
	for _, e := range byARN {
		st.Entries = append(st.Entries, e)
	}
	slices.SortFunc(st.Entries, func(a, b Entry) int { return strings.Compare(a.PrincipalARN, b.PrincipalARN) })
	return st
}

// MakePlan decides, for every aws-auth mapping, the access entry it
// becomes. Role ARNs are resolved to their real path with IAM (aws-auth
// had to drop it; EKS needs it); system:masters becomes
// AmazonEKSClusterAdminPolicy at cluster scope; node roles become
// EC2_LINUX (EC2_WINDOWS, FARGATE_LINUX) entries; other reserved groups are
// dropped with a note. mapAccounts and service-linked roles have no access
// entry form: they are skipped, and block a move to API. Entries already
// on the cluster are adopted: updated in place where they differ, never
// deleted and re-created.
func MakePlan(ctx context.Context, c *AccessClient, cl Cluster, auth []mappings.Mapping, existing []Entry, to string) (*Plan, error) {
	if to == "" {
		to = max2(cl.AuthenticationMode, ModeAPIAndConfigMap)
	}
	if to != ModeAPIAndConfigMap && to != ModeAPI {
		return nil, fmt.Errorf("could not plan the migration: --to %s is not API_AND_CONFIG_MAP or API", to)
	}
	from := cl.AuthenticationMode
	if ModeRank(to) < ModeRank(from) {
		return nil, fmt.Errorf("could not plan the migration of cluster %s: it is in mode %s already, and EKS never moves back to %s", cl.Name, from, to)
	}
	p := &Plan{Cluster: cl.Name, From: from, To: to, Existing: existing, Steps: make([]Step, len(auth))}
	have := map[string]*Entry{}
	for i := range existing {
		have[existing[i].PrincipalARN] = &existing[i]
	}
	// Resolving role paths is one GetRole per role: run them bounded.
	err := c.each(ctx, len(auth), func(ctx context.Context, i int) error {
		s, err := planOne(ctx, c, auth[i])
		p.Steps[i] = s
		return err
	})
	if err != nil {
		return nil, err
	}
	planned := map[string]int{}
	for i := range p.Steps {
		s := &p.Steps[i]
		if s.Entry == nil {
			continue
		}
		if j, dup := planned[s.Entry.PrincipalARN]; dup {
			// The authenticator keys aws-auth by ARN: the later entry wins.
			p.Steps[j].Decision, p.Steps[j].Entry, p.Steps[j].Reason = DecisionSkip, nil, "a later aws-auth entry maps the same principal"
		}
		planned[s.Entry.PrincipalARN] = i
		if ex := have[s.Entry.PrincipalARN]; ex != nil {
			s.Existing = ex
			adopt(s)
		}
	}
	var blockers []string
	for _, s := range p.Steps {
		if s.Blocker {
			blockers = append(blockers, s.From.ARN)
		}
	}
	p.Target = to
	if to == ModeAPI && len(blockers) > 0 {
		p.Target = max2(from, ModeAPIAndConfigMap)
		p.Held = fmt.Sprintf("mode stays %s: %d aws-auth %s no access entry can replace (%s), and API stops reading aws-auth",
			p.Target, len(blockers), text.Plural(len(blockers), "mapping has", "mappings have"), strings.Join(blockers, ", "))
	}
	return p, nil
}

func max2(a, b string) string {
	if ModeRank(a) > ModeRank(b) {
		return a
	}
	return b
}

// adopt decides what to do with an entry that exists already.
func adopt(s *Step) {
	ex, want := s.Existing, s.Entry
	switch {
	case ex.IsNode() && want.IsNode():
		s.Decision = DecisionAdopt
		s.Notes = append(s.Notes, "EKS made this "+ex.Type+" entry itself; kept as it is")
		return
	case ex.Type != want.Type:
		s.Decision = DecisionAdopt
		s.Notes = append(s.Notes, fmt.Sprintf("an entry of type %s exists; EKS cannot change a type in place, so it is kept as it is", ex.Type))
		s.Entry = ex
		return
	}
	for _, pol := range want.Policies {
		if !slices.ContainsFunc(ex.Policies, pol.equal) {
			s.missing = append(s.missing, pol)
		}
	}
	if s.needsUpdate() || len(s.missing) > 0 {
		s.Decision = DecisionUpdate
		s.Notes = append(s.Notes, "the entry exists: updated in place")
		return
	}
	s.Decision = DecisionAdopt
	s.Notes = append(s.Notes, "the entry exists and matches")
}

func planOne(ctx context.Context, c *AccessClient, m mappings.Mapping) (Step, error) {
	s := Step{From: m}
	skip := func(reason string, blocker bool) (Step, error) {
		s.Decision, s.Reason, s.Blocker = DecisionSkip, reason, blocker
		return s, nil
	}
	if m.Kind == "account" {
		return skip("mapAccounts admits every IAM principal of the account; access entries name principals one by one", true)
	}
	p, err := ParsePrincipal(m.Source, m.ARN)
	if err != nil {
		if strings.Contains(err.Error(), "service-linked") {
			return skip("a service-linked role, which EKS refuses in an access entry", true)
		}
		return skip("not an IAM user or role ARN EKS accepts: "+err.Error(), false)
	}
	arn, note, err := c.Resolve(ctx, p)
	if errors.Is(err, ErrNoSuchRole) {
		return skip("IAM has no role "+p.Name+" in account "+p.Account+": the mapping admits nobody, and EKS refuses an entry for it", false)
	}
	if err != nil {
		return s, err
	}
	if arn != m.ARN && note != "" {
		s.Notes = append(s.Notes, "ARN resolved to its path: "+arn)
	} else if note != "" && p.Kind == "role" {
		s.Notes = append(s.Notes, note)
	}
	if strings.HasPrefix(arnPart(arn, 5), "role/aws-service-role/") {
		return skip("a service-linked role, which EKS refuses in an access entry", true)
	}
	if p.Kind == "role" && p.HasPath && !strings.Contains(arnPart(m.ARN, 5), "aws-reserved/") {
		s.Notes = append(s.Notes, "aws-auth has it with its path, so it never matched a session; the access entry will admit the role's sessions")
	}
	e := &Entry{PrincipalARN: arn, Type: TypeStandard, Groups: []string{}, Policies: []Policy{}}
	if strings.HasPrefix(m.Username, "system:node:") {
		e.Type = TypeEC2Linux
		switch {
		case strings.Contains(m.Username, "{{SessionName}}"):
			e.Type = TypeFargateLinux
		case slices.Contains(m.Groups, "eks:kube-proxy-windows"):
			e.Type = TypeEC2Windows
		}
		e.Username, e.Groups = "system:node:{{EC2PrivateDNSName}}", []string{"system:nodes"}
		s.Decision, s.Entry = DecisionCreate, e
		s.Notes = append(s.Notes, "node role → "+e.Type)
		return s, nil
	}
	for _, g := range m.Groups {
		switch {
		case g == "system:masters":
			e.Policies = append(e.Policies, Policy{ARN: ClusterAdminPolicy, Scope: ScopeCluster})
			s.Notes = append(s.Notes, "system:masters → AmazonEKSClusterAdminPolicy (cluster scope)")
		case ReservedPrefix(g) != "":
			s.Notes = append(s.Notes, "group "+g+" dropped: EKS refuses reserved groups in access entries (Kubernetes grants system: groups by itself)")
		default:
			e.Groups = append(e.Groups, g)
		}
	}
	if m.Username != "" {
		if err := ValidateUsername("username", m.Username); err != nil {
			return skip("username "+m.Username+" is one EKS refuses in an access entry (reserved prefix, or {{SessionName}} without a colon before it); add it by hand with a new username and RBAC for it", true)
		}
		e.Username = m.Username
	}
	s.Decision, s.Entry = DecisionCreate, e
	return s, nil
}

// MigrateOptions tune Migrate.
type MigrateOptions struct {
	// Progress gets a line per change made (stderr).
	Progress func(string)
}

// MigrateResult counts what Migrate did.
type MigrateResult struct {
	Created, Updated, Adopted, Associated int
	ModeChanges                           int
}

// Migrate carries out the plan: the mode leaves CONFIG_MAP first (entries
// cannot exist before) and the move to API comes last, after every entry
// is there. Entry calls run with the client's bounded concurrency; an
// entry that appears meanwhile (409: EKS made it, or an interrupted run)
// is adopted in place.
func Migrate(ctx context.Context, c *AccessClient, p *Plan, o MigrateOptions) (*MigrateResult, error) {
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	res := &MigrateResult{}
	mode := p.From
	if mode == ModeConfigMap {
		if err := c.SetMode(ctx, ModeAPIAndConfigMap, progress); err != nil {
			return res, err
		}
		res.ModeChanges++
		mode = ModeAPIAndConfigMap
	}
	var created, updated, associated atomic.Int64
	var mu sync.Mutex
	err := c.each(ctx, len(p.Steps), func(ctx context.Context, i int) error {
		s := p.Steps[i]
		switch s.Decision {
		case DecisionCreate:
			err := c.Create(ctx, *s.Entry)
			if errors.Is(err, ErrExists) {
				// Made since the plan (EKS's node entries on leaving
				// CONFIG_MAP): adopt it.
				ex, gerr := c.Get(ctx, s.Entry.PrincipalARN)
				if gerr != nil {
					return gerr
				}
				if ex == nil {
					return err
				}
				s.Existing = ex
				adopt(&s)
				if s.Decision == DecisionAdopt {
					mu.Lock()
					progress("adopted " + ex.PrincipalARN + " (" + ex.Type + ")")
					mu.Unlock()
					return nil
				}
				return applyUpdate(ctx, c, s, &updated, &associated, progress, &mu)
			}
			if err != nil {
				return err
			}
			created.Add(1)
			associated.Add(int64(len(s.Entry.Policies)))
			mu.Lock()
			progress("created " + s.Entry.PrincipalARN)
			mu.Unlock()
		case DecisionUpdate:
			return applyUpdate(ctx, c, s, &updated, &associated, progress, &mu)
		}
		return nil
	})
	res.Created, res.Updated, res.Associated = int(created.Load()), int(updated.Load()), int(associated.Load())
	for _, s := range p.Steps {
		if s.Decision == DecisionAdopt {
			res.Adopted++
		}
	}
	if err != nil {
		return res, err
	}
	if p.Target == ModeAPI && mode != ModeAPI {
		if err := c.SetMode(ctx, ModeAPI, progress); err != nil {
			return res, err
		}
		res.ModeChanges++
	}
	return res, nil
}

func applyUpdate(ctx context.Context, c *AccessClient, s Step, updated, associated *atomic.Int64, progress func(string), mu *sync.Mutex) error {
	if s.needsUpdate() {
		if err := c.Update(ctx, s.Entry.PrincipalARN, s.Entry.Username, s.Entry.Groups); err != nil {
			return err
		}
		updated.Add(1)
	}
	for _, pol := range s.missing {
		if err := c.Associate(ctx, s.Entry.PrincipalARN, pol); err != nil {
			return err
		}
		associated.Add(1)
	}
	mu.Lock()
	progress("updated " + s.Entry.PrincipalARN + " in place")
	mu.Unlock()
	return nil
}
