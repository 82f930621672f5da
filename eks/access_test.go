package eks_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeiam/kubeiam/eks"
	"github.com/kubeiam/kubeiam/internal/ststest"
	"github.com/kubeiam/kubeiam/mappings"
)

const acct = ststest.AccountA

// accessSetup starts the stand-ins (EKS, IAM, STS reached by endpoint URL)
// with cluster c and returns a client for it as alice.
func accessSetup(t *testing.T, c ststest.EKSCluster) (*ststest.Rig, *eks.AccessClient) {
	t.Helper()
	rig := setup(t, "alice")
	t.Setenv("AWS_ENDPOINT_URL_IAM", rig.IAMEndpoint)
	t.Setenv("AWS_ENDPOINT_URL_STS", rig.Endpoint)
	c.Account, c.Region = acct, "us-west-2"
	if c.Name == "" {
		c.Name = "prod"
	}
	rig.EKS.AddCluster(c)
	cfg, err := eks.LoadProfile(t.Context(), "alice", "us-west-2")
	if err != nil {
		t.Fatal(err)
	}
	return rig, eks.NewAccessClient(cfg, "alice", "us-west-2", c.Name, eks.AccessOptions{PollInterval: 10 * time.Millisecond, Concurrency: 8})
}

func role(rig *ststest.Rig, path, name string) string {
	arn := "arn:aws:iam::" + acct + ":role/" + path + name
	rig.AddRole(ststest.Role{ARN: arn, RoleID: "AROA" + strings.ToUpper(fmt.Sprintf("%017x", len(rig.Roles())))})
	return arn
}

func TestAccessEntryErrorsAreTheService(t *testing.T) {
	rig, c := accessSetup(t, ststest.EKSCluster{AuthenticationMode: "CONFIG_MAP"})
	ctx := t.Context()
	dev := role(rig, "", "Dev")

	// CONFIG_MAP: every access-entry call fails; the error says so and
	// points at migrate.
	_, err := c.List(ctx)
	if !errors.Is(err, eks.ErrConfigMapMode) || !strings.Contains(err.Error(), "uses authentication mode CONFIG_MAP") {
		t.Fatalf("list under CONFIG_MAP: %v", err)
	}
	if err := c.SetMode(ctx, eks.ModeAPIAndConfigMap, logf(t)); err != nil {
		t.Fatal(err)
	}
	if m := rig.EKS.Mode(acct, "us-west-2", "prod"); m != eks.ModeAPIAndConfigMap {
		t.Fatalf("mode = %s", m)
	}
	// One way only.
	err = c.SetMode(ctx, eks.ModeConfigMap, logf(t))
	if err == nil || !strings.Contains(err.Error(), "InvalidParameterException: Unsupported authentication mode update from API_AND_CONFIG_MAP to CONFIG_MAP") {
		t.Errorf("backwards: %v", err)
	}

	if err := c.Create(ctx, eks.Entry{PrincipalARN: dev, Groups: []string{"devs"}, Username: "dev:{{SessionName}}",
		Policies: []eks.Policy{{ARN: eks.PolicyPrefix + "AmazonEKSViewPolicy", Scope: "namespace", Namespaces: []string{"a", "b"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, eks.Entry{PrincipalARN: dev}); !errors.Is(err, eks.ErrExists) {
		t.Errorf("duplicate: %v", err)
	}
	got, err := c.Get(ctx, dev)
	if err != nil || got == nil || got.Username != "dev:{{SessionName}}" || !slices.Equal(got.Groups, []string{"devs"}) ||
		len(got.Policies) != 1 || got.Policies[0].String() != "AmazonEKSViewPolicy (namespaces a,b)" {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if err := c.Update(ctx, dev, "dev2:{{SessionName}}", []string{"devs", "ops"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get(ctx, dev); got.Username != "dev2:{{SessionName}}" || len(got.Groups) != 2 || len(got.Policies) != 1 {
		t.Errorf("after update: %+v", got)
	}

	// What EKS refuses server-side, were a client not to check first.
	for _, tc := range []struct {
		e    eks.Entry
		want string
	}{
		{eks.Entry{PrincipalARN: role(rig, "", "R1"), Username: "system:admin"}, "usernames can't start with system:"},
		{eks.Entry{PrincipalARN: role(rig, "", "R2"), Username: "{{SessionName}}"}, "must come after a colon"},
		{eks.Entry{PrincipalARN: "arn:aws:sts::" + acct + ":assumed-role/Dev/alice"}, "STS session ARN"},
		{eks.Entry{PrincipalARN: role(rig, "aws-service-role/eks.amazonaws.com/", "AWSServiceRoleForAmazonEKS")}, "service-linked"},
		{eks.Entry{PrincipalARN: "arn:aws:iam::" + acct + ":role/AWSReservedSSO_Admin_0123456789abcdef"}, "invalid principal"},
	} {
		err := c.Create(ctx, tc.e)
		if err == nil || !strings.Contains(err.Error(), "InvalidParameterException") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("create %+v: %v", tc.e, err)
		}
	}
	// And what kubeiam refuses before any call.
	for _, u := range []string{"system:x", "eks:x", "aws:x", "amazon:x", "iam:x", "{{SessionName}}", "x-{{SessionNameRaw}}"} {
		if err := eks.ValidateUsername("--username", u); err == nil {
			t.Errorf("username %q accepted", u)
		}
	}
	if err := eks.ValidateUsername("--username", "sso:{{SessionName}}"); err != nil {
		t.Error(err)
	}
	for _, a := range []string{"arn:aws:sts::" + acct + ":assumed-role/Dev/alice", "arn:aws:iam::" + acct + ":role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS",
		"arn:aws:iam::12:role/x", "role/x", "arn:aws:s3:::bucket"} {
		if _, err := eks.ParsePrincipal("--role-arn", a); err == nil {
			t.Errorf("principal %q accepted", a)
		}
	}
	if err := c.Delete(ctx, dev); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, dev); got != nil || err != nil {
		t.Errorf("after delete: %+v, %v", got, err)
	}
}

func TestExplainSSOWithPath(t *testing.T) {
	rig, c := accessSetup(t, ststest.EKSCluster{AuthenticationMode: "API_AND_CONFIG_MAP"})
	ctx := t.Context()
	sso := role(rig, "aws-reserved/sso.amazonaws.com/us-west-2/", "AWSReservedSSO_Admin_0123456789abcdef")
	both := role(rig, "", "Both")
	rig.EKS.AddAccessEntry(acct, "us-west-2", "prod", ststest.AccessEntry{PrincipalARN: sso, Username: "sso:{{SessionName}}",
		Policies: []ststest.AccessPolicy{{PolicyARN: eks.ClusterAdminPolicy, ScopeType: "cluster"}}})
	rig.EKS.AddAccessEntry(acct, "us-west-2", "prod", ststest.AccessEntry{PrincipalARN: both, Username: "entry-both", Groups: []string{"g1"}})
	auth := &eks.AWSAuth{Mappings: []mappings.Mapping{
		{Kind: "role", ARN: both, Username: "aws-auth-both", Groups: []string{"system:masters"}, Source: "aws-auth mapRoles", Key: strings.ToLower(both)},
		{Kind: "user", ARN: "arn:aws:iam::" + acct + ":user/bob", Username: "bob", Groups: []string{"readers"}, Source: "aws-auth mapUsers", Key: "arn:aws:iam::" + acct + ":user/bob"},
	}}
	loads := 0
	load := func(context.Context) (*eks.AWSAuth, error) { loads++; return auth, nil }
	cl, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}

	a, err := eks.Explain(ctx, c, cl, "arn:aws:sts::"+acct+":assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com", load)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Mapped || a.Principal != sso || a.Source != "access entry "+sso || a.Username != "sso:alice-example.com" || a.Policies[0].Scope != "cluster" {
		t.Errorf("sso: %+v", a)
	}
	a, _ = eks.Explain(ctx, c, cl, "arn:aws:sts::"+acct+":assumed-role/Both/s1", load)
	if !a.Mapped || a.Username != "entry-both" || !slices.Equal(a.Groups, []string{"g1"}) || loads != 0 {
		t.Errorf("both (entry wins, aws-auth not read): %+v loads=%d", a, loads)
	}
	a, _ = eks.Explain(ctx, c, cl, "arn:aws:iam::"+acct+":user/bob", load)
	if !a.Mapped || a.Source != "aws-auth mapUsers" || a.Username != "bob" || loads != 1 {
		t.Errorf("bob through aws-auth: %+v", a)
	}
	a, _ = eks.Explain(ctx, c, cl, "arn:aws:iam::"+acct+":user/mallory", load)
	if a.Mapped {
		t.Errorf("mallory: %+v", a)
	}
}

// awsAuth builds a ConfigMap from mapRoles/mapUsers/mapAccounts YAML.
func awsAuthCM(roles, users, accounts string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "aws-auth", "namespace": "kube-system"},
		"data":     map[string]any{"mapRoles": roles, "mapUsers": users, "mapAccounts": accounts}}}
}

// thirty builds 30 aws-auth mappings of every kind and the IAM roles and
// node groups behind them; it returns the session ARN of one caller per
// mapping that admits someone (key: mapping ARN).
func thirty(t *testing.T, rig *ststest.Rig) (*unstructured.Unstructured, map[string]string, []string) {
	var roles, users strings.Builder
	callers := map[string]string{}
	var nodeGroups []string
	add := func(b *strings.Builder, key, arn, username string, groups ...string) {
		fmt.Fprintf(b, "- %s: %s\n  username: %q\n", key, arn, username)
		if len(groups) > 0 {
			fmt.Fprintf(b, "  groups:\n")
			for _, g := range groups {
				fmt.Fprintf(b, "  - %s\n", g)
			}
		}
	}
	for i := range 8 { // plain roles
		arn := role(rig, "", fmt.Sprintf("Team%d", i))
		add(&roles, "rolearn", arn, fmt.Sprintf("team%d:{{SessionName}}", i), fmt.Sprintf("team%d", i))
		callers[arn] = fmt.Sprintf("arn:aws:sts::%s:assumed-role/Team%d/s", acct, i)
	}
	for i := range 5 { // SSO roles, written without their path as aws-auth needs
		name := fmt.Sprintf("AWSReservedSSO_Set%d_0123456789abcde%d", i, i)
		role(rig, "aws-reserved/sso.amazonaws.com/us-west-2/", name)
		arn := "arn:aws:iam::" + acct + ":role/" + name
		add(&roles, "rolearn", arn, "sso:{{SessionName}}", "readers")
		callers[arn] = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/carol@example.com", acct, name)
	}
	for i := range 3 { // admins
		arn := role(rig, "admins/", fmt.Sprintf("Admin%d", i))
		// aws-auth written with the path never matches a session: keep
		// one so, as clusters in the wild have them.
		if i == 0 {
			add(&roles, "rolearn", arn, "admin", "system:masters")
			continue
		}
		plain := "arn:aws:iam::" + acct + fmt.Sprintf(":role/Admin%d", i)
		add(&roles, "rolearn", plain, "admin:{{SessionName}}", "system:masters", "ops")
		callers[plain] = fmt.Sprintf("arn:aws:sts::%s:assumed-role/Admin%d/a", acct, i)
	}
	for i := range 3 { // Linux nodes: two are managed node groups
		arn := role(rig, "", fmt.Sprintf("Node%d", i))
		add(&roles, "rolearn", arn, "system:node:{{EC2PrivateDNSName}}", "system:bootstrappers", "system:nodes")
		if i < 2 {
			nodeGroups = append(nodeGroups, arn)
		}
		callers[arn] = fmt.Sprintf("arn:aws:sts::%s:assumed-role/Node%d/i-0123456789abcdef0", acct, i)
	}
	win := role(rig, "", "WinNode")
	add(&roles, "rolearn", win, "system:node:{{EC2PrivateDNSName}}", "system:bootstrappers", "system:nodes", "eks:kube-proxy-windows")
	far := role(rig, "", "FargatePod")
	add(&roles, "rolearn", far, "system:node:{{SessionName}}", "system:bootstrappers", "system:nodes", "system:node-proxier")
	slr := role(rig, "aws-service-role/eks.amazonaws.com/", "AWSServiceRoleForAmazonEKS")
	add(&roles, "rolearn", slr, "eks-slr")
	nocolon := role(rig, "", "NoColon")
	add(&roles, "rolearn", nocolon, "{{SessionName}}", "devs")
	callers[nocolon] = "arn:aws:sts::" + acct + ":assumed-role/NoColon/dave"
	extra := role(rig, "", "Extra")
	add(&roles, "rolearn", extra, "extra", "system:authenticated", "extras")
	callers[extra] = "arn:aws:sts::" + acct + ":assumed-role/Extra/e"
	add(&roles, "rolearn", "arn:aws:iam::"+acct+":role/Gone", "gone", "devs")
	for i := range 4 { // users
		id := rig.NewUser(acct, fmt.Sprintf("user%d", i))
		add(&users, "userarn", id.ARN, fmt.Sprintf("user%d", i), "devs")
		callers[id.ARN] = id.ARN
	}
	if strings.Count(roles.String()+users.String(), "arn: arn:") != 29 {
		t.Fatalf("%d role/user mappings", strings.Count(roles.String()+users.String(), "arn: arn:"))
	}
	return awsAuthCM(roles.String(), users.String(), "- \""+ststest.AccountB+"\"\n"), callers, nodeGroups
}

func TestMigrateThirty(t *testing.T) {
	rig, c := accessSetup(t, ststest.EKSCluster{AuthenticationMode: "CONFIG_MAP"})
	cm, callers, nodeGroups := thirty(t, rig)
	rig.EKS.AddCluster(ststest.EKSCluster{Account: acct, Region: "us-west-2", Name: "prod", AuthenticationMode: "CONFIG_MAP", NodeRoles: nodeGroups})
	rig.EKS.SetUpdateDelay(50 * time.Millisecond)
	ctx := t.Context()
	maps, err := mappings.ParseAWSAuth(cm)
	if err != nil || len(maps) != 30 {
		t.Fatalf("%d mappings, %v", len(maps), err)
	}
	auth := &eks.AWSAuth{Object: cm, Mappings: maps}
	load := func(context.Context) (*eks.AWSAuth, error) { return auth, nil }
	cl, _ := c.Describe(ctx)
	before := map[string]*eks.Answer{}
	for arn, caller := range callers {
		a, err := eks.Explain(ctx, c, cl, caller, load)
		if err != nil || !a.Mapped {
			t.Fatalf("before: %s not admitted: %+v %v", caller, a, err)
		}
		before[arn] = a
	}

	plan, err := eks.MakePlan(ctx, c, cl, maps, nil, eks.ModeAPI)
	if err != nil {
		t.Fatal(err)
	}
	decisions := map[string]string{}
	for _, s := range plan.Steps {
		d := s.Decision
		if s.Entry != nil {
			d += " " + s.Entry.Type + " " + s.Entry.PrincipalARN
		}
		decisions[s.From.ARN] = d + " " + s.Reason + " " + strings.Join(s.Notes, "; ")
	}
	for arn, want := range map[string]string{
		"arn:aws:iam::" + acct + ":role/AWSReservedSSO_Set0_0123456789abcde0": "create STANDARD arn:aws:iam::" + acct + ":role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_Set0_0123456789abcde0",
		"arn:aws:iam::" + acct + ":role/Admin1":                               "system:masters → AmazonEKSClusterAdminPolicy (cluster scope)",
		nodeGroups[0]:                                                         "create EC2_LINUX",
		"arn:aws:iam::" + acct + ":role/WinNode":                              "create EC2_WINDOWS",
		"arn:aws:iam::" + acct + ":role/FargatePod":                           "create FARGATE_LINUX",
		"arn:aws:iam::" + acct + ":role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS": "skip a service-linked role",
		ststest.AccountB:                         "skip mapAccounts",
		"arn:aws:iam::" + acct + ":role/NoColon": "skip username {{SessionName}} is one EKS refuses",
		"arn:aws:iam::" + acct + ":role/Extra":   "group system:authenticated dropped",
		"arn:aws:iam::" + acct + ":role/Gone":    "skip IAM has no role Gone",
	} {
		if !strings.Contains(decisions[arn], want) {
			t.Errorf("%s: %q, want %q", arn, decisions[arn], want)
		}
	}
	if plan.Target != eks.ModeAPIAndConfigMap || !strings.Contains(plan.Held, "mode stays API_AND_CONFIG_MAP: 3 aws-auth mappings have no access entry can replace") {
		t.Errorf("target %s held %q", plan.Target, plan.Held)
	}

	// Interrupted half way: the context ends after 10 entries are made.
	rig.EKS.ResetCounts()
	cctx, cancel := context.WithCancel(ctx)
	var made atomic.Int32
	_, err = eks.Migrate(cctx, c, plan, eks.MigrateOptions{Progress: func(s string) {
		if strings.HasPrefix(s, "created") && made.Add(1) == 10 {
			cancel()
		}
	}})
	cancel()
	if err == nil {
		t.Fatal("interrupted run reported no error")
	}
	half := len(rig.EKS.AccessEntries(acct, "us-west-2", "prod"))
	if half < 10 || half >= 26 {
		t.Fatalf("after interruption: %d entries", half)
	}
	// Re-run: a fresh plan over what is there, to completion.
	cl, _ = c.Describe(ctx)
	existing, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	plan, err = eks.MakePlan(ctx, c, cl, maps, existing, eks.ModeAPI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eks.Migrate(ctx, c, plan, eks.MigrateOptions{Progress: logf(t)}); err != nil {
		t.Fatal(err)
	}
	entries := rig.EKS.AccessEntries(acct, "us-west-2", "prod")
	if len(entries) != 26 {
		t.Errorf("%d entries after migration, want 26", len(entries))
	}
	cl, _ = c.Describe(ctx)
	for arn, caller := range callers {
		a, err := eks.Explain(ctx, c, cl, caller, load)
		if err != nil || !a.Mapped {
			t.Errorf("after: %s not admitted: %+v %v", caller, a, err)
			continue
		}
		b := before[arn]
		if a.Username != b.Username {
			t.Errorf("%s: username %q, was %q", caller, a.Username, b.Username)
		}
	}

	// A third run makes no change call at all.
	rig.EKS.ResetCounts()
	existing, _ = c.List(ctx)
	plan, _ = eks.MakePlan(ctx, c, cl, maps, existing, eks.ModeAPI)
	if n := plan.Changes(); n != 0 {
		t.Errorf("third plan has %d changes", n)
	}
	if _, err := eks.Migrate(ctx, c, plan, eks.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := rig.EKS.ChangeCalls(); n != 0 {
		t.Errorf("third run made %d change calls", n)
	}
}

func logf(t *testing.T) func(string) { return func(s string) { t.Log(s) } }

// The walk follows the mode: CONFIG_MAP reads only aws-auth (no access
// entry call), API only access entries (aws-auth never read); a plan never
// moves a cluster back.
func TestExplainFollowsTheMode(t *testing.T) {
	rig, c := accessSetup(t, ststest.EKSCluster{AuthenticationMode: "CONFIG_MAP"})
	rig.EKS.AddCluster(ststest.EKSCluster{Account: acct, Region: "us-west-2", Name: "api", AuthenticationMode: "API"})
	ctx := t.Context()
	bob := "arn:aws:iam::" + acct + ":user/bob"
	auth := &eks.AWSAuth{Mappings: []mappings.Mapping{{Kind: "user", ARN: bob, Username: "bob", Groups: []string{"readers"}, Source: "aws-auth mapUsers", Key: bob}}}
	loads := 0
	load := func(context.Context) (*eks.AWSAuth, error) { loads++; return auth, nil }
	cl, _ := c.Describe(ctx)
	rig.EKS.ResetCounts()
	a, err := eks.Explain(ctx, c, cl, bob, load)
	if err != nil || !a.Mapped || a.Source != "aws-auth mapUsers" || !slices.Equal(a.Backends, []string{"aws-auth"}) || rig.EKS.Count("DescribeAccessEntry") != 0 {
		t.Errorf("CONFIG_MAP: %+v %v", a, err)
	}
	cfg, _ := eks.LoadProfile(ctx, "alice", "us-west-2")
	api := eks.NewAccessClient(cfg, "alice", "us-west-2", "api", eks.AccessOptions{})
	acl, _ := api.Describe(ctx)
	a, err = eks.Explain(ctx, api, acl, bob, load)
	if err != nil || a.Mapped || loads != 1 || !slices.Equal(a.Backends, []string{eks.BackendName}) {
		t.Errorf("API: %+v %v loads=%d", a, err, loads)
	}
	if _, err := eks.MakePlan(ctx, api, acl, auth.Mappings, nil, eks.ModeAPIAndConfigMap); err == nil || !strings.Contains(err.Error(), "never moves back") {
		t.Errorf("backwards plan: %v", err)
	}
}
