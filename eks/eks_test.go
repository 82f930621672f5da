package eks_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/eks"
	"github.com/kubeiam/kubeiam/internal/ststest"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// setup starts the stand-ins and writes an AWS config with one profile per
// identity named; the environment holds no keys of its own.
func setup(t *testing.T, profiles ...string) *ststest.Rig {
	t.Helper()
	rig := ststest.Start(t, ststest.Options{Logf: func(string, ...any) {}})
	dir := t.TempDir()
	var cfg strings.Builder
	for _, p := range profiles {
		id := rig.Identity(p)
		fmt.Fprintf(&cfg, "[profile %s]\nregion = us-west-2\naws_access_key_id = %s\naws_secret_access_key = %s\n", p, id.AccessKeyID, id.SecretAccessKey)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL_EKS": rig.EKSEndpoint, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
	} {
		t.Setenv(k, v)
	}
	return rig
}

func client(t *testing.T, profile, region string) *eks.Client {
	t.Helper()
	cfg, err := eks.LoadProfile(t.Context(), profile, region)
	if err != nil {
		t.Fatal(err)
	}
	return eks.NewClient(cfg, profile, region, eks.ClientOptions{})
}

func TestDescribe(t *testing.T) {
	rig := setup(t, "alice")
	prod := rig.EKS.AddCluster(ststest.EKSCluster{Account: ststest.AccountA, Region: "us-west-2", Name: "prod"})
	rig.EKS.AddCluster(ststest.EKSCluster{Account: ststest.AccountA, Region: "us-west-2", Name: "edge", ID: "0a1b2c3d-edge",
		Outpost: &ststest.EKSOutpostConfig{OutpostARNs: []string{"arn:aws:outposts:us-west-2:111122223333:outpost/op-1"}}})
	rig.EKS.AddCluster(ststest.EKSCluster{Account: ststest.AccountA, Region: "us-west-2", Name: "new", Status: "CREATING"})
	c := client(t, "alice", "us-west-2")

	got, err := c.Describe(t.Context(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	if got.ARN != prod.ARN() || got.Endpoint != prod.Endpoint || got.ClusterID() != "prod" || got.Account != ststest.AccountA || !strings.Contains(string(got.CAData), "BEGIN CERTIFICATE") {
		t.Errorf("prod = %+v", got)
	}
	// An Outposts local cluster is named by its id, whatever else its
	// outpostConfig holds (the stand-in leaves controlPlaneInstanceType out).
	edge, err := c.Describe(t.Context(), "edge")
	if err != nil || edge.ClusterID() != "0a1b2c3d-edge" {
		t.Errorf("edge: %+v, %v", edge, err)
	}
	e, err := eks.Entries(edge, eks.EntryOptions{})
	if err != nil || !slices.Equal(e.User.Exec.Args, []string{"token", "-i", "0a1b2c3d-edge", "--region", "us-west-2"}) {
		t.Errorf("edge exec: %v, %v", e, err)
	}

	_, err = c.Describe(t.Context(), "nope")
	if !errors.Is(err, eks.ErrNotFound) || err.Error() != "could not describe cluster nope: no such cluster in us-west-2 (profile alice)" {
		t.Errorf("unknown cluster: %v", err)
	}
	creating, err := c.Describe(t.Context(), "new")
	if err != nil {
		t.Fatal(err)
	}
	var se *eks.StatusError
	if _, err := eks.Entries(creating, eks.EntryOptions{}); !errors.As(err, &se) || !strings.Contains(err.Error(), "status is CREATING") {
		t.Errorf("CREATING: %v", err)
	}
	// The request is signed for eks in the region: another region has
	// other clusters.
	if _, err := client(t, "alice", "eu-west-1").Describe(t.Context(), "prod"); !errors.Is(err, eks.ErrNotFound) {
		t.Errorf("prod in eu-west-1: %v", err)
	}
}

func TestSignatureChecked(t *testing.T) {
	rig := setup(t, "alice")
	rig.EKS.AddCluster(ststest.EKSCluster{Account: ststest.AccountA, Region: "us-west-2", Name: "prod"})
	// Alice's key with a wrong secret.
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte("[profile bad]\naws_access_key_id = "+rig.Identity("alice").AccessKeyID+"\naws_secret_access_key = wrong\n"), 0o600)
	t.Setenv("AWS_CONFIG_FILE", cfg)
	_, err := client(t, "bad", "us-west-2").Describe(t.Context(), "prod")
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestListPaginates(t *testing.T) {
	rig := setup(t, "alice")
	for i := range 230 {
		rig.EKS.AddCluster(ststest.EKSCluster{Account: ststest.AccountA, Region: "us-west-2", Name: fmt.Sprintf("c%03d", i)})
	}
	names, err := client(t, "alice", "us-west-2").List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 230 || names[229] != "c229" || rig.EKS.Count("ListClusters") != 3 {
		t.Errorf("%d names, %d calls", len(names), rig.EKS.Count("ListClusters"))
	}
}

func TestSecondRoleGetsItsOwnEntries(t *testing.T) {
	c := eks.Cluster{Name: "prod", ARN: "arn:aws:eks:us-west-2:111122223333:cluster/prod", Region: "us-west-2", Status: "ACTIVE", Endpoint: "https://x"}
	admin, err := eks.Entries(c, eks.EntryOptions{Profile: "p", RoleARN: "arn:aws:iam::111122223333:role/KubeAdmin"})
	if err != nil {
		t.Fatal(err)
	}
	viewer, _ := eks.Entries(c, eks.EntryOptions{Profile: "p", RoleARN: "arn:aws:iam::111122223333:role/Viewer"})
	plain, _ := eks.Entries(c, eks.EntryOptions{Profile: "p"})
	if admin.UserName == viewer.UserName || admin.ContextName == viewer.ContextName || plain.UserName == admin.UserName {
		t.Errorf("names collide: %s %s %s", admin.UserName, viewer.UserName, plain.UserName)
	}
	if admin.ClusterName != c.ARN || plain.ContextName != c.ARN || admin.ContextName != c.ARN+"@KubeAdmin" {
		t.Errorf("names: %s %s %s", admin.ClusterName, plain.ContextName, admin.ContextName)
	}
	want := []string{"token", "-i", "prod", "--role-arn", "arn:aws:iam::111122223333:role/KubeAdmin", "--region", "us-west-2", "--profile", "p"}
	if !slices.Equal(admin.User.Exec.Args, want) {
		t.Errorf("args %q", admin.User.Exec.Args)
	}
	if _, err := eks.Entries(c, eks.EntryOptions{Alias: "a\nb"}); err == nil {
		t.Error("a newline in --alias was accepted")
	}
}

func TestDiscoverAndPrune(t *testing.T) {
	rig := setup(t, "alice", "carol")
	a, b := ststest.AccountA, ststest.AccountB
	rig.EKS.AddCluster(ststest.EKSCluster{Account: a, Region: "us-west-2", Name: "prod"})
	rig.EKS.AddCluster(ststest.EKSCluster{Account: a, Region: "us-west-2", Name: "new", Status: "CREATING"})
	rig.EKS.AddCluster(ststest.EKSCluster{Account: a, Region: "eu-west-1", Name: "eu"})
	rig.EKS.AddCluster(ststest.EKSCluster{Account: b, Region: "eu-west-1", Name: "analytics"})
	rig.EKS.DisableRegion(a, "ap-east-1")
	rig.EKS.Deny(rig.Identity("carol").ARN, "us-west-2")

	scan := eks.Scan{Profiles: []string{"alice", "ghost", "carol"}, Regions: []string{"us-west-2", "eu-west-1", "ap-east-1"}}
	res, err := eks.Discover(t.Context(), scan)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Found {
		got = append(got, f.Profile+"/"+f.Cluster.Region+"/"+f.Cluster.Name+"/"+f.Cluster.Status)
	}
	want := []string{"alice/eu-west-1/eu/ACTIVE", "alice/us-west-2/new/CREATING", "alice/us-west-2/prod/ACTIVE", "carol/eu-west-1/analytics/ACTIVE"}
	if !slices.Equal(got, want) {
		t.Errorf("found %q, want %q", got, want)
	}
	warnings := strings.Join(res.Warnings, "\n")
	for _, w := range []string{`skipping profile ghost: could not load AWS profile "ghost"`, "skipping alice in ap-east-1: could not list clusters in ap-east-1 (profile alice): the region is not enabled",
		"skipping carol in us-west-2: could not list clusters in us-west-2 (profile carol): access denied"} {
		if !strings.Contains(warnings, w) {
			t.Errorf("no warning %q in:\n%s", w, warnings)
		}
	}
	if len(res.Warnings) != 3 { // carol's ap-east-1 answers: account B has it enabled
		t.Errorf("%d warnings:\n%s", len(res.Warnings), warnings)
	}

	// One edit writes everything usable; a context someone else wrote is kept.
	path := filepath.Join(t.TempDir(), "config")
	prodARN := "arn:aws:eks:us-west-2:" + a + ":cluster/prod"
	hand := "arn:aws:eks:eu-west-1:" + a + ":cluster/eu"
	writeHand(t, path, hand)
	_, ch, err := eks.Apply(t.Context(), path, res, eks.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Written, []string{prodARN, "arn:aws:eks:eu-west-1:" + b + ":cluster/analytics"}) {
		t.Errorf("written %q", ch.Written)
	}
	cfg, err := kubeconfig.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := eks.MarkOf(cfg.Contexts[prodARN]); !ok || m.Profile != "alice" || m.Region != "us-west-2" {
		t.Errorf("mark of prod: %+v %t", m, ok)
	}
	if cfg.AuthInfos[hand].Token != "hand" || cfg.CurrentContext != hand {
		t.Errorf("the hand-written entry changed: %+v, current %q", cfg.AuthInfos[hand], cfg.CurrentContext)
	}

	// prod goes away: --prune removes its entries, and nothing of a pair
	// that was not scanned this time.
	rig.EKS.RemoveCluster(a, "us-west-2", "prod")
	rig.EKS.RemoveCluster(b, "eu-west-1", "analytics")
	res, err = eks.Discover(t.Context(), eks.Scan{Profiles: []string{"alice"}, Regions: []string{"us-west-2"}})
	if err != nil {
		t.Fatal(err)
	}
	_, ch, err = eks.Apply(t.Context(), path, res, eks.ApplyOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ = kubeconfig.LoadFile(path)
	if !slices.Equal(ch.Pruned, []string{prodARN}) || cfg.Contexts[prodARN] != nil || cfg.AuthInfos[prodARN] != nil || cfg.Clusters[prodARN] != nil {
		t.Errorf("pruned %q; left %v", ch.Pruned, cfg.Contexts[prodARN])
	}
	if cfg.Contexts["arn:aws:eks:eu-west-1:"+b+":cluster/analytics"] == nil || cfg.Contexts[hand] == nil {
		t.Error("prune removed an entry outside the scan, or one it did not write")
	}
}

// writeHand writes a kubeconfig whose current context, named name, was
// written by hand (a token user), as if by `aws eks update-kubeconfig`.
func writeHand(t *testing.T, path, name string) {
	t.Helper()
	data := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: https://hand.example
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s
current-context: %[1]s
users:
- name: %[1]s
  user:
    token: hand
`, name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDiscoverBounds: the calls in flight stay within the bounds, overall and
// per (profile, region), and a scan over a second reports progress.
func TestDiscoverBounds(t *testing.T) {
	rig := setup(t, "alice", "carol")
	regions := []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2"}
	for _, acct := range []string{ststest.AccountA, ststest.AccountB} {
		for _, r := range regions {
			for i := range 6 {
				rig.EKS.AddCluster(ststest.EKSCluster{Account: acct, Region: r, Name: fmt.Sprintf("c%d", i)})
			}
		}
	}
	rig.EKS.SetLatency(150 * time.Millisecond)
	var progress strings.Builder
	res, err := eks.Discover(t.Context(), eks.Scan{Profiles: []string{"alice", "carol"}, Regions: regions, MaxInFlight: 8, PerPair: 2, Progress: &progress})
	if err != nil || len(res.Found) != 72 {
		t.Fatalf("found %d: %v", len(res.Found), err)
	}
	overall, perPair := rig.EKS.Peak()
	if overall > 8 || perPair > 2 || overall < 4 {
		t.Errorf("peak in flight %d (bound 8), per pair %d (bound 2)", overall, perPair)
	}
	// 12 lists + 72 descriptions, 8 at a time, 150 ms each: ~1.6 s. Not a
	// terminal (a log): one summary line at the end, no lines while it runs.
	if progress.String() != "kubeiam: scanned 12 of 12 (profile, region) pairs, 72 clusters\n" {
		t.Errorf("not one summary line for a scan over a second: %q", progress.String())
	}

	// A quick scan says nothing.
	rig.EKS.SetLatency(0)
	progress.Reset()
	if _, err := eks.Discover(t.Context(), eks.Scan{Profiles: []string{"alice"}, Regions: regions[:1], Progress: &progress}); err != nil || progress.Len() > 0 {
		t.Errorf("quick scan: %v, progress %q", err, progress.String())
	}
}

// TestDiscoverSameClusterTwice: two profiles of one account see the same
// cluster; the first profile's entry is written, the second is reported.
func TestDiscoverSameClusterTwice(t *testing.T) {
	rig := setup(t, "alice", "bob")
	rig.EKS.AddCluster(ststest.EKSCluster{Account: ststest.AccountA, Region: "us-west-2", Name: "prod"})
	res, err := eks.Discover(t.Context(), eks.Scan{Profiles: []string{"bob", "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config")
	_, ch, err := eks.Apply(t.Context(), path, res, eks.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Written) != 1 || len(res.Found) != 2 || res.Found[1].Note != "same cluster as profile bob" {
		t.Fatalf("written %q, found %+v", ch.Written, res.Found)
	}
	cfg, _ := kubeconfig.LoadFile(path)
	if args := cfg.AuthInfos[ch.Written[0]].Exec.Args; args[len(args)-1] != "bob" {
		t.Errorf("the entry runs as %q, want the first profile (bob)", args)
	}
}
