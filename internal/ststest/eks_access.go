package ststest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Access entries, access policies and authentication modes, as the EKS API
// serves them (aws-sdk-go-v2 service/eks v1.99.0 shapes; the EKS user
// guide's rules). moto implements none of these calls, so the stand-in is
// the only peer tests have for them; its errors are the service's codes and
// HTTP statuses, which is what clients branch on.

// Authentication modes, in the only order EKS lets a cluster move through.
const (
	ModeConfigMap       = "CONFIG_MAP"
	ModeAPIAndConfigMap = "API_AND_CONFIG_MAP"
	ModeAPI             = "API"
)

var modeRank = map[string]int{ModeConfigMap: 0, ModeAPIAndConfigMap: 1, ModeAPI: 2}

// Policy ARNs EKS serves (ListAccessPolicies); others are refused.
const policyPrefix = "arn:aws:eks::aws:cluster-access-policy/"

var knownPolicies = []string{
	"AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy",
	"AmazonEKSAdminViewPolicy", "AmazonEKSAutoNodePolicy", "AmazonEKSBlockStoragePolicy",
	"AmazonEKSComputePolicy", "AmazonEKSHybridPolicy", "AmazonEKSLoadBalancingPolicy",
	"AmazonEKSNetworkingPolicy", "AmazonEKSSecretReaderPolicy",
}

// nodeTypes are the access-entry types that take no groups, username or policies.
var nodeTypes = []string{"EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX", "EC2", "HYPERPOD_LINUX"}

// AccessEntry is one access entry as DescribeAccessEntry reports it.
type AccessEntry struct {
	PrincipalARN string
	Type         string
	Username     string
	Groups       []string
	Policies     []AccessPolicy
	Tags         map[string]string
	CreatedAt    time.Time
	ModifiedAt   time.Time
}

// AccessPolicy is one associated access policy.
type AccessPolicy struct {
	PolicyARN  string
	ScopeType  string // cluster or namespace
	Namespaces []string
}

// clusterAccess is the access state of one cluster.
type clusterAccess struct {
	entries map[string]*AccessEntry // principal ARN -> entry
	// update is the mode change in flight, if any.
	update *modeUpdate
	// updates are every update id the cluster has had.
	updates map[string]*modeUpdate
}

type modeUpdate struct {
	id, from, to string
	created      time.Time
	done         time.Time
	status       string
}

func clusterKey(account, region, name string) string { return account + "/" + region + "/" + name }

// access returns the state of a cluster, creating it; e.mu is held.
func (e *EKS) access(account, region, name string) *clusterAccess {
	k := clusterKey(account, region, name)
	a := e.acc[k]
	if a == nil {
		a = &clusterAccess{entries: map[string]*AccessEntry{}, updates: map[string]*modeUpdate{}}
		e.acc[k] = a
	}
	return a
}

// cluster finds a cluster; e.mu is held.
func (e *EKS) cluster(account, region, name string) *EKSCluster {
	cs := e.clusters[eksKey(account, region)]
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

// settle finishes a mode change whose time has come: the mode switches and,
// when the cluster leaves CONFIG_MAP, EKS creates the node-group entries
// itself (the entries terraform users then hit 409s on); e.mu is held.
func (e *EKS) settle(c *EKSCluster, a *clusterAccess) {
	u := a.update
	if u == nil || e.now().Before(u.done) {
		return
	}
	u.status = "Successful"
	a.update = nil
	if u.from == ModeConfigMap {
		for _, role := range c.NodeRoles {
			if _, ok := a.entries[role]; !ok {
				t := e.now()
				a.entries[role] = &AccessEntry{PrincipalARN: role, Type: "EC2_LINUX", Username: "system:node:{{EC2PrivateDNSName}}",
					Groups: []string{"system:nodes"}, CreatedAt: t, ModifiedAt: t}
			}
		}
	}
	c.AuthenticationMode = u.to
	if c.Status == "UPDATING" {
		c.Status = "ACTIVE"
	}
}

func (e *EKS) now() time.Time { return e.sts.now() }

// AddAccessEntry stores an entry directly, as a cluster created with it
// would have it (the creator's admin entry, a hand-made one). Policies are
// kept as given; nothing is validated.
func (e *EKS) AddAccessEntry(account, region, cluster string, ent AccessEntry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ent.Type == "" {
		ent.Type = "STANDARD"
	}
	if ent.CreatedAt.IsZero() {
		ent.CreatedAt = e.now()
		ent.ModifiedAt = ent.CreatedAt
	}
	e.access(account, region, cluster).entries[ent.PrincipalARN] = &ent
}

// AccessEntries returns a copy of a cluster's entries, sorted by principal.
func (e *EKS) AccessEntries(account, region, cluster string) []AccessEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.cluster(account, region, cluster); c != nil {
		e.settle(c, e.access(account, region, cluster))
	}
	var out []AccessEntry
	for _, ent := range e.access(account, region, cluster).entries {
		cp := *ent
		cp.Groups = slices.Clone(ent.Groups)
		cp.Policies = slices.Clone(ent.Policies)
		out = append(out, cp)
	}
	slices.SortFunc(out, func(a, b AccessEntry) int { return strings.Compare(a.PrincipalARN, b.PrincipalARN) })
	return out
}

// Mode returns the cluster's authentication mode now.
func (e *EKS) Mode(account, region, cluster string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.cluster(account, region, cluster)
	if c == nil {
		return ""
	}
	e.settle(c, e.access(account, region, cluster))
	return c.AuthenticationMode
}

// SetUpdateDelay sets how long a mode change stays InProgress (default 0:
// done by the first DescribeUpdate after it).
func (e *EKS) SetUpdateDelay(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.updateDelay = d
}

// SetThrottle makes the stand-in answer ThrottlingException (429) to
// requests beyond rate per second (burst requests at once), as EKS's
// per-account API rate limits do. rate <= 0 turns it off.
func (e *EKS) SetThrottle(rate float64, burst int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rate, e.burst, e.tokens, e.last = rate, float64(burst), float64(burst), time.Now()
}

// throttled takes a token from the bucket; e.mu is held.
func (e *EKS) throttled() bool {
	if e.rate <= 0 {
		return false
	}
	now := time.Now()
	e.tokens = min(e.burst, e.tokens+now.Sub(e.last).Seconds()*e.rate)
	e.last = now
	if e.tokens < 1 {
		e.throttles++
		return true
	}
	e.tokens--
	return false
}

// Throttles is how many requests were answered ThrottlingException.
func (e *EKS) Throttles() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.throttles
}

// ChangeCalls counts the requests that change something (create, update,
// delete, associate, disassociate, mode change), rejected ones included.
func (e *EKS) ChangeCalls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, op := range []string{"CreateAccessEntry", "UpdateAccessEntry", "DeleteAccessEntry", "AssociateAccessPolicy", "DisassociateAccessPolicy", "UpdateClusterConfig"} {
		n += e.counts[op]
	}
	return n
}

// ResetCounts sets every Count back to zero.
func (e *EKS) ResetCounts() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts = map[string]int{}
}

// route names the operation of an EKS request and its path parameters.
func routeEKS(method, path string) (op string, params map[string]string) {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	params = map[string]string{}
	unesc := func(s string) string {
		u, err := url.PathUnescape(s)
		if err != nil {
			return s
		}
		return u
	}
	n := len(seg)
	if n == 0 || seg[0] != "clusters" {
		return "", params
	}
	if n >= 2 {
		params["cluster"] = unesc(seg[1])
	}
	switch {
	case n == 1 && method == http.MethodGet:
		return "ListClusters", params
	case n == 2 && method == http.MethodGet:
		return "DescribeCluster", params
	case n == 3 && seg[2] == "update-config" && method == http.MethodPost:
		return "UpdateClusterConfig", params
	case n == 4 && seg[2] == "updates" && method == http.MethodGet:
		params["update"] = unesc(seg[3])
		return "DescribeUpdate", params
	case n == 3 && seg[2] == "access-entries":
		return map[string]string{http.MethodPost: "CreateAccessEntry", http.MethodGet: "ListAccessEntries"}[method], params
	case n == 4 && seg[2] == "access-entries":
		params["principal"] = unesc(seg[3])
		return map[string]string{http.MethodGet: "DescribeAccessEntry", http.MethodPost: "UpdateAccessEntry", http.MethodDelete: "DeleteAccessEntry"}[method], params
	case n == 5 && seg[2] == "access-entries" && seg[4] == "access-policies":
		params["principal"] = unesc(seg[3])
		return map[string]string{http.MethodPost: "AssociateAccessPolicy", http.MethodGet: "ListAssociatedAccessPolicies"}[method], params
	case n == 6 && seg[2] == "access-entries" && seg[4] == "access-policies" && method == http.MethodDelete:
		params["principal"], params["policy"] = unesc(seg[3]), unesc(seg[5])
		return "DisassociateAccessPolicy", params
	}
	return "", params
}

// serveAccess answers the access-entry and mode operations.
func (e *EKS) serveAccess(w http.ResponseWriter, reqID string, caller Identity, region, op string, p map[string]string, body []byte, q url.Values) *stsError {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.cluster(caller.Account, region, p["cluster"])
	if c == nil {
		return errSender(http.StatusNotFound, "ResourceNotFoundException", "No cluster found for name: %s.", p["cluster"])
	}
	a := e.access(caller.Account, region, c.Name)
	e.settle(c, a)
	var in struct {
		PrincipalARN     string            `json:"principalArn"`
		KubernetesGroups []string          `json:"kubernetesGroups"`
		Username         *string           `json:"username"`
		Type             string            `json:"type"`
		Tags             map[string]string `json:"tags"`
		PolicyARN        string            `json:"policyArn"`
		AccessScope      *struct {
			Type       string   `json:"type"`
			Namespaces []string `json:"namespaces"`
		} `json:"accessScope"`
		AccessConfig *struct {
			AuthenticationMode string `json:"authenticationMode"`
		} `json:"accessConfig"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return errSender(http.StatusBadRequest, "SerializationException", "could not parse the request body")
		}
	}
	switch op {
	case "UpdateClusterConfig":
		return e.updateConfig(w, reqID, c, a, in.AccessConfig)
	case "DescribeUpdate":
		u := a.updates[p["update"]]
		if u == nil {
			return errSender(http.StatusNotFound, "ResourceNotFoundException", "No update found for ID: %s", p["update"])
		}
		writeEKSJSON(w, reqID, map[string]any{"update": updateJSON(u)})
		return nil
	}
	if c.AuthenticationMode == ModeConfigMap {
		return errSender(http.StatusBadRequest, "InvalidRequestException",
			"The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.")
	}
	switch op {
	case "CreateAccessEntry":
		if serr := e.checkPrincipal(in.PrincipalARN); serr != nil {
			return serr
		}
		if a.entries[in.PrincipalARN] != nil {
			return errSender(http.StatusConflict, "ResourceInUseException", "The specified access entry resource is already in use on this cluster.")
		}
		typ := in.Type
		if typ == "" {
			typ = "STANDARD"
		}
		ent := &AccessEntry{PrincipalARN: in.PrincipalARN, Type: typ, Groups: in.KubernetesGroups, Tags: in.Tags}
		if slices.Contains(nodeTypes, typ) {
			if len(in.KubernetesGroups) > 0 || in.Username != nil {
				return errSender(http.StatusBadRequest, "InvalidParameterException", "Kubernetes groups and username cannot be specified for access entry type %s.", typ)
			}
			ent.Groups = []string{"system:nodes"}
			ent.Username = "system:node:{{EC2PrivateDNSName}}"
		} else if typ != "STANDARD" {
			return errSender(http.StatusBadRequest, "InvalidParameterException", "The type %s is not valid.", typ)
		} else if in.Username != nil {
			if serr := checkUsername(*in.Username); serr != nil {
				return serr
			}
			ent.Username = *in.Username
		} else {
			ent.Username = defaultUsername(in.PrincipalARN)
		}
		if ent.Groups == nil {
			ent.Groups = []string{}
		}
		for _, g := range ent.Groups {
			if typ == "STANDARD" && reservedPrefix(g) {
				return errSender(http.StatusBadRequest, "InvalidParameterException", "The kubernetes group %s is invalid: groups can't start with system:, eks:, aws:, amazon: or iam:.", g)
			}
		}
		ent.CreatedAt, ent.ModifiedAt = e.now(), e.now()
		a.entries[in.PrincipalARN] = ent
		writeEKSJSON(w, reqID, map[string]any{"accessEntry": e.entryJSON(c, ent)})
		return nil
	case "ListAccessEntries":
		var arns []string
		for k, ent := range a.entries {
			if pol := q.Get("associatedPolicyArn"); pol != "" && !slices.ContainsFunc(ent.Policies, func(p AccessPolicy) bool { return p.PolicyARN == pol }) {
				continue
			}
			arns = append(arns, k)
		}
		slices.Sort(arns)
		page, next, serr := paginate(arns, q)
		if serr != nil {
			return serr
		}
		res := map[string]any{"accessEntries": page}
		if next != "" {
			res["nextToken"] = next
		}
		writeEKSJSON(w, reqID, res)
		return nil
	}
	ent := a.entries[p["principal"]]
	if ent == nil {
		return errSender(http.StatusNotFound, "ResourceNotFoundException", "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.")
	}
	isNode := slices.Contains(nodeTypes, ent.Type)
	switch op {
	case "DescribeAccessEntry":
		writeEKSJSON(w, reqID, map[string]any{"accessEntry": e.entryJSON(c, ent)})
	case "UpdateAccessEntry":
		if isNode {
			return errSender(http.StatusBadRequest, "InvalidParameterException", "Kubernetes groups and username cannot be updated for access entry type %s.", ent.Type)
		}
		if in.Username != nil {
			if serr := checkUsername(*in.Username); serr != nil {
				return serr
			}
			ent.Username = *in.Username
		}
		if in.KubernetesGroups != nil {
			ent.Groups = in.KubernetesGroups
		}
		ent.ModifiedAt = e.now()
		writeEKSJSON(w, reqID, map[string]any{"accessEntry": e.entryJSON(c, ent)})
	case "DeleteAccessEntry":
		delete(a.entries, ent.PrincipalARN)
		writeEKSJSON(w, reqID, map[string]any{})
	case "AssociateAccessPolicy":
		if isNode {
			return errSender(http.StatusBadRequest, "InvalidParameterException", "Access policies cannot be associated with access entry type %s.", ent.Type)
		}
		name, ok := strings.CutPrefix(in.PolicyARN, policyPrefix)
		if !ok || !slices.Contains(knownPolicies, name) {
			return errSender(http.StatusNotFound, "ResourceNotFoundException", "The specified policy %s could not be found.", in.PolicyARN)
		}
		if in.AccessScope == nil {
			return errSender(http.StatusBadRequest, "InvalidParameterException", "accessScope is required.")
		}
		switch in.AccessScope.Type {
		case "cluster":
			if len(in.AccessScope.Namespaces) > 0 {
				return errSender(http.StatusBadRequest, "InvalidParameterException", "Namespaces cannot be specified for an access scope of type cluster.")
			}
		case "namespace":
			if len(in.AccessScope.Namespaces) == 0 {
				return errSender(http.StatusBadRequest, "InvalidParameterException", "At least one namespace is required for an access scope of type namespace.")
			}
		default:
			return errSender(http.StatusBadRequest, "InvalidParameterException", "The access scope type %q is not valid.", in.AccessScope.Type)
		}
		pol := AccessPolicy{PolicyARN: in.PolicyARN, ScopeType: in.AccessScope.Type, Namespaces: in.AccessScope.Namespaces}
		// Associating a policy again replaces its scope.
		ent.Policies = slices.DeleteFunc(ent.Policies, func(p AccessPolicy) bool { return p.PolicyARN == pol.PolicyARN })
		ent.Policies = append(ent.Policies, pol)
		writeEKSJSON(w, reqID, map[string]any{"clusterName": c.Name, "principalArn": ent.PrincipalARN, "associatedAccessPolicy": policyJSON(pol)})
	case "DisassociateAccessPolicy":
		n := len(ent.Policies)
		ent.Policies = slices.DeleteFunc(ent.Policies, func(pp AccessPolicy) bool { return pp.PolicyARN == p["policy"] })
		if len(ent.Policies) == n {
			return errSender(http.StatusNotFound, "ResourceNotFoundException", "The specified policy %s is not associated with this access entry.", p["policy"])
		}
		writeEKSJSON(w, reqID, map[string]any{})
	case "ListAssociatedAccessPolicies":
		var all []any
		for _, pol := range ent.Policies {
			all = append(all, policyJSON(pol))
		}
		page, next, serr := paginate(all, q)
		if serr != nil {
			return serr
		}
		res := map[string]any{"clusterName": c.Name, "principalArn": ent.PrincipalARN, "associatedAccessPolicies": page}
		if next != "" {
			res["nextToken"] = next
		}
		writeEKSJSON(w, reqID, res)
	}
	return nil
}

func (e *EKS) updateConfig(w http.ResponseWriter, reqID string, c *EKSCluster, a *clusterAccess, ac *struct {
	AuthenticationMode string `json:"authenticationMode"`
}) *stsError {
	if ac == nil || ac.AuthenticationMode == "" {
		return errSender(http.StatusBadRequest, "InvalidParameterException", "The stand-in serves only accessConfig.authenticationMode updates.")
	}
	to := ac.AuthenticationMode
	if _, ok := modeRank[to]; !ok {
		return errSender(http.StatusBadRequest, "InvalidParameterException", "The authentication mode %s is not valid.", to)
	}
	if a.update != nil {
		return errSender(http.StatusConflict, "ResourceInUseException", "Cannot update cluster %s while update %s is in progress.", c.Name, a.update.id)
	}
	from := c.AuthenticationMode
	if modeRank[to] <= modeRank[from] {
		if to == from {
			return errSender(http.StatusBadRequest, "InvalidParameterException", "Unsupported authentication mode update from %s to %s: the cluster already has it.", from, to)
		}
		return errSender(http.StatusBadRequest, "InvalidParameterException", "Unsupported authentication mode update from %s to %s.", from, to)
	}
	u := &modeUpdate{id: newUUID(), from: from, to: to, created: e.now(), done: e.now().Add(e.updateDelay), status: "InProgress"}
	a.update, a.updates[u.id] = u, u
	c.Status = "UPDATING"
	writeEKSJSON(w, reqID, map[string]any{"update": updateJSON(u)})
	return nil
}

func updateJSON(u *modeUpdate) map[string]any {
	return map[string]any{
		"id": u.id, "status": u.status, "type": "AccessConfigUpdate", "createdAt": float64(u.created.Unix()),
		"params": []map[string]string{{"type": "AuthenticationMode", "value": u.to}}, "errors": []any{},
	}
}

func (e *EKS) entryJSON(c *EKSCluster, ent *AccessEntry) map[string]any {
	return map[string]any{
		"clusterName":      c.Name,
		"principalArn":     ent.PrincipalARN,
		"kubernetesGroups": ent.Groups,
		"accessEntryArn": fmt.Sprintf("arn:aws:eks:%s:%s:access-entry/%s/%s/%s", c.Region, c.Account, c.Name,
			strings.ReplaceAll(strings.TrimPrefix(arnField(ent.PrincipalARN, 5), "/"), ":", "_"), "0ec7e0b3-bb15-4a2c-8c45-000000000000"),
		"createdAt":  float64(ent.CreatedAt.Unix()),
		"modifiedAt": float64(ent.ModifiedAt.Unix()),
		"tags":       tagsOrEmpty(ent.Tags),
		"username":   ent.Username,
		"type":       ent.Type,
	}
}

func policyJSON(p AccessPolicy) map[string]any {
	scope := map[string]any{"type": p.ScopeType}
	if len(p.Namespaces) > 0 {
		scope["namespaces"] = p.Namespaces
	} else {
		scope["namespaces"] = []string{}
	}
	return map[string]any{"policyArn": p.PolicyARN, "accessScope": scope, "associatedAt": 1767225600.0, "modifiedAt": 1767225600.0}
}

func paginate[T any](all []T, q url.Values) ([]T, string, *stsError) {
	size := eksMaxResults
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > eksMaxResults {
			return nil, "", errSender(http.StatusBadRequest, "InvalidParameterException", "maxResults must be between 1 and 100")
		}
		size = n
	}
	start := 0
	if t := q.Get("nextToken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		n, aerr := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || aerr != nil || n < 0 {
			return nil, "", errSender(http.StatusBadRequest, "InvalidParameterException", "The nextToken is invalid")
		}
		start = n
	}
	start = min(start, len(all))
	end := min(start+size, len(all))
	next := ""
	if end < len(all) {
		next = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return append([]T{}, all[start:end]...), next, nil
}

// defaultUsername is what EKS stores when CreateAccessEntry names none: the
// user's ARN, or the role's sessions' STS ARN (without the role's path).
func defaultUsername(principal string) string {
	res := arnField(principal, 5)
	if strings.HasPrefix(res, "role/") {
		name := res[strings.LastIndex(res, "/")+1:]
		return fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/{{SessionName}}", arnField(principal, 1), arnField(principal, 4), name)
	}
	return principal
}

var reservedPrefixes = []string{"system:", "eks:", "aws:", "amazon:", "iam:"}

func reservedPrefix(s string) bool {
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// checkUsername applies the EKS rules for a STANDARD entry's username.
func checkUsername(u string) *stsError {
	if reservedPrefix(u) {
		return errSender(http.StatusBadRequest, "InvalidParameterException", "The username %s is invalid: usernames can't start with system:, eks:, aws:, amazon: or iam:.", u)
	}
	for _, t := range []string{"{{SessionName}}", "{{SessionNameRaw}}"} {
		if i := strings.Index(u, t); i >= 0 && !strings.Contains(u[:i], ":") {
			return errSender(http.StatusBadRequest, "InvalidParameterException", "The username %s is invalid: %s must come after a colon.", u, t)
		}
	}
	return nil
}

// checkPrincipal refuses what EKS refuses: STS session ARNs, service-linked
// roles, ARNs that are not IAM users or roles, and principals IAM does not
// have (an SSO role written without its path is one of those); e.mu is held.
func (e *EKS) checkPrincipal(arn string) *stsError {
	bad := func(why string) *stsError {
		return errSender(http.StatusBadRequest, "InvalidParameterException", "The specified principalArn is invalid: %s.", why)
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return bad("invalid principal")
	}
	if parts[2] == "sts" {
		return bad("an STS session ARN can't be used; give the IAM role's ARN")
	}
	res := parts[5]
	if parts[2] != "iam" || !(strings.HasPrefix(res, "user/") || strings.HasPrefix(res, "role/")) {
		return bad("invalid principal")
	}
	if strings.HasPrefix(res, "role/aws-service-role/") {
		return bad("service-linked roles can't be used")
	}
	if !e.sts.principalExists(arn) {
		return bad("invalid principal")
	}
	return nil
}

// principalExists says whether IAM has the user or role with exactly this
// ARN (path included).
func (s *Server) principalExists(arn string) bool {
	for _, r := range s.iamRoleList() {
		if strings.EqualFold(r.ARN, arn) {
			return true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.identities {
		if strings.EqualFold(id.ARN, arn) {
			return true
		}
	}
	return false
}

func newUUID() string {
	h := randHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func tagsOrEmpty(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}
