package installer

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubeiam/kubeiam/mappings"
)

// fakeClient stores objects as applied; Apply replaces the whole object,
// which is what server-side apply does when one manager owns everything.
type fakeClient struct {
	objs    map[string]*unstructured.Unstructured
	applies int // real (not dry-run) applies
	deletes int
}

func newFake() *fakeClient { return &fakeClient{objs: map[string]*unstructured.Unstructured{}} }

func (f *fakeClient) Get(_ context.Context, kind, ns, name string) (*unstructured.Unstructured, error) {
	if o, ok := f.objs[kind+"/"+ns+"/"+name]; ok {
		return o.DeepCopy(), nil
	}
	return nil, nil
}

func (f *fakeClient) Apply(_ context.Context, o *unstructured.Unstructured, opts ApplyOptions) (*unstructured.Unstructured, error) {
	if !opts.DryRun {
		f.applies++
		f.objs[key(o)] = o.DeepCopy()
	}
	return o.DeepCopy(), nil
}

// List returns the stored objects of a kind; a kind the API would not
// serve yet (IAMIdentityMapping without its CRD) is NotFound, as there.
func (f *fakeClient) List(_ context.Context, kind, _ string) ([]*unstructured.Unstructured, error) {
	if kind == mappings.CRDKind && f.objs["CustomResourceDefinition//"+mappings.CRDName] == nil {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: mappings.CRDGroup, Resource: mappings.CRDResource}, "")
	}
	var out []*unstructured.Unstructured
	for _, k := range slices.Sorted(maps.Keys(f.objs)) {
		if o := f.objs[k]; o.GetKind() == kind {
			out = append(out, o.DeepCopy())
		}
	}
	return out, nil
}

func (f *fakeClient) Delete(_ context.Context, kind, ns, name string) error {
	delete(f.objs, kind+"/"+ns+"/"+name)
	f.deletes++
	return nil
}

func seedSpec(t *testing.T) *Spec {
	s, err := load(t, "testdata/seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInstallTwiceIsANoOpAndKeepsIDAndCA(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	res, err := Install(ctx, f, seedSpec(t), Options{Image: "img"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ClusterIDKept || res.CAKept || !res.Changed() || f.applies != 8 {
		t.Fatalf("first install: %+v, %d applies", res, f.applies)
	}
	ca := f.objs["Secret/eksa-system/my-cluster-name-aws-iam-authenticator-ca"]
	// A second run, even asking for no image, keeps everything.
	res2, err := Install(ctx, f, seedSpec(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res2.ClusterID != res.ClusterID || !res2.ClusterIDKept || !res2.CAKept || res2.Changed() || f.applies != 8 {
		t.Fatalf("second install: %+v, %d applies", res2, f.applies)
	}
	if got := f.objs["Secret/eksa-system/my-cluster-name-aws-iam-authenticator-ca"]; clean(got) != clean(ca) {
		t.Error("CA replaced")
	}
	// Asking for another cluster ID is refused before any write.
	_, err = Install(ctx, f, seedSpec(t), Options{ClusterID: "other"})
	var ide *ClusterIDError
	if !errors.As(err, &ide) || ide.Installed != res.ClusterID || f.applies != 8 {
		t.Errorf("err = %v, applies %d", err, f.applies)
	}
}

func TestSyncRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	if _, err := Sync(ctx, f, seedSpec(t), Options{}); !errors.As(err, new(*NotInstalledError)) {
		t.Fatalf("sync before install: %v", err)
	}
	if _, err := Install(ctx, f, seedSpec(t), Options{Image: "img", ClusterID: "id"}); err != nil {
		t.Fatal(err)
	}
	n := f.applies

	s := seedSpec(t)
	s.Config.AWSRegion, s.Config.BackendMode = "eu-west-1", []string{"CRD"}
	_, err := Sync(ctx, f, s, Options{})
	var ie *ImmutableError
	if !errors.As(err, &ie) || len(ie.Fields) != 2 || !strings.Contains(err.Error(), `spec.awsRegion: Forbidden: field is immutable (installed "us-west-1", spec "eu-west-1")`) {
		t.Errorf("immutable: %v", err)
	}

	// An entry kubeiam did not write (a node role added by hand).
	cm := f.objs["ConfigMap/kube-system/aws-auth"]
	roles, _, _ := unstructured.NestedString(cm.Object, "data", "mapRoles")
	node := "arn:aws:iam::111122223333:role/NodeInstanceRole"
	_ = unstructured.SetNestedField(cm.Object, roles+"- rolearn: "+node+"\n  username: system:node:{{EC2PrivateDNSName}}\n", "data", "mapRoles")
	_, err = Sync(ctx, f, seedSpec(t), Options{})
	var fe *ForeignEntriesError
	if !errors.As(err, &fe) || len(fe.Entries) != 1 || !strings.Contains(fe.Entries[0], node) {
		t.Errorf("foreign: %v", err)
	}
	if f.applies != n {
		t.Fatalf("a refused sync applied %d objects", f.applies-n)
	}
	res, err := Sync(ctx, f, seedSpec(t), Options{Prune: true})
	if err != nil || len(res.Mappings.Removed) != 1 || f.applies != n+1 {
		t.Errorf("prune: %+v %v", res, err)
	}

	// Removing an entry kubeiam wrote needs no --prune.
	s = seedSpec(t)
	s.Config.MapUsers = nil
	res, err = Sync(ctx, f, s, Options{})
	if err != nil || len(res.Mappings.Removed) != 1 || !strings.HasPrefix(res.Mappings.Removed[0], "user arn:aws:iam::111122223333:user/myUser") {
		t.Errorf("remove own: %+v %v", res, err)
	}
	if got, _, _ := unstructured.NestedString(f.objs["ConfigMap/kube-system/aws-auth"].Object, "data", "mapUsers"); got != "" {
		t.Errorf("mapUsers = %q", got)
	}
}

func TestRolloutStatus(t *testing.T) {
	ds := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"generation": int64(2)},
		"status": map[string]any{"observedGeneration": int64(2), "desiredNumberScheduled": int64(3), "updatedNumberScheduled": int64(3), "numberAvailable": int64(2)}}}
	if done, msg := rolloutStatus(ds); done || msg != "3 of 3 updated, 2 available" {
		t.Errorf("%v %q", done, msg)
	}
	_ = unstructured.SetNestedField(ds.Object, int64(3), "status", "numberAvailable")
	if done, _ := rolloutStatus(ds); !done {
		t.Error("not done")
	}
	_ = unstructured.SetNestedField(ds.Object, int64(0), "status", "desiredNumberScheduled")
	if done, msg := rolloutStatus(ds); done || !strings.Contains(msg, "node-role.kubernetes.io/control-plane") {
		t.Errorf("%v %q", done, msg)
	}
}

// podFake adds the server's pods and their logs to fakeClient.
type podFake struct {
	*fakeClient
	pods []*unstructured.Unstructured
	logs map[string]string
}

func (f *podFake) List(_ context.Context, kind, ns string) ([]*unstructured.Unstructured, error) {
	if kind != "Pod" || ns != Namespace {
		return nil, errors.New("unexpected list")
	}
	return f.pods, nil
}

func (f *podFake) PodLog(_ context.Context, ns, pod, container string, previous bool) (string, error) {
	if !previous {
		return "", errors.New("want the previous instance's log")
	}
	return f.logs[pod+"/"+container], nil
}

// TestWaitReportsCrashLoop: a server pod in CrashLoopBackOff ends the wait
// at once with its last log line, instead of a timeout that says nothing.
func TestWaitReportsCrashLoop(t *testing.T) {
	f := &podFake{fakeClient: newFake(), logs: map[string]string{
		"aws-iam-authenticator-x1/aws-iam-authenticator": "time=1 level=info msg=\"starting\"\ntime=2 level=fatal msg=\"could not load/generate a certificate\" error=\"open /var/aws-iam-authenticator/key.pem: permission denied\"\n",
	}}
	ds := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet",
		"metadata": map[string]any{"name": Name, "namespace": Namespace, "generation": int64(1)},
		"status":   map[string]any{"observedGeneration": int64(1), "desiredNumberScheduled": int64(1), "updatedNumberScheduled": int64(1), "numberAvailable": int64(0)}}}
	f.objs[key(ds)] = ds
	pod := func(name, reason string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": name, "namespace": Namespace, "labels": map[string]any{labelApp: Name}},
			"status": map[string]any{"containerStatuses": []any{map[string]any{"name": Name, "restartCount": int64(3), "state": map[string]any{"waiting": map[string]any{"reason": reason}}}}}}}
	}
	// Still starting: the wait goes on until its timeout.
	f.pods = []*unstructured.Unstructured{pod("aws-iam-authenticator-x1", "ContainerCreating")}
	err := WaitForRollout(context.Background(), f, Options{Timeout: 300 * time.Millisecond, Poll: 50 * time.Millisecond})
	var te *RolloutTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("starting pod: %v, want a timeout", err)
	}
	f.pods = []*unstructured.Unstructured{pod("aws-iam-authenticator-x1", "CrashLoopBackOff")}
	start := time.Now()
	err = WaitForRollout(context.Background(), f, Options{Timeout: time.Minute, Poll: 50 * time.Millisecond})
	var ce *CrashLoopError
	if !errors.As(err, &ce) || ce.Pod != "aws-iam-authenticator-x1" || ce.Restarts != 3 {
		t.Fatalf("crash loop: %v", err)
	}
	if !strings.HasSuffix(err.Error(), `its last log line: time=2 level=fatal msg="could not load/generate a certificate" error="open /var/aws-iam-authenticator/key.pem: permission denied"`) {
		t.Errorf("message: %s", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the crash loop was reported after %s", time.Since(start))
	}

	// With no readiness probe a pod that exits at once is "available" for
	// a moment: a DaemonSet that looks rolled out on one poll, with its
	// pod crash-looping by the next, is a crash loop, not a success.
	_ = unstructured.SetNestedField(ds.Object, int64(1), "status", "numberAvailable")
	f.pods = []*unstructured.Unstructured{pod("aws-iam-authenticator-x1", "")}
	fl := &flipFake{podFake: f, after: pod("aws-iam-authenticator-x1", "CrashLoopBackOff")}
	err = WaitForRollout(context.Background(), fl, Options{Timeout: time.Minute, Poll: 50 * time.Millisecond, Settle: 200 * time.Millisecond})
	if !errors.As(err, &ce) {
		t.Fatalf("briefly available, then crash-looping: %v", err)
	}
	// Available for the settle time with the same containers is done.
	err = WaitForRollout(context.Background(), f, Options{Timeout: time.Minute, Poll: 50 * time.Millisecond, Settle: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("rolled out: %v", err)
	}
}

// flipFake's pods turn into after from the second List on.
type flipFake struct {
	*podFake
	after *unstructured.Unstructured
	lists int
}

func (f *flipFake) List(ctx context.Context, kind, ns string) ([]*unstructured.Unstructured, error) {
	f.lists++
	if f.lists > 1 {
		return []*unstructured.Unstructured{f.after}, nil
	}
	return f.podFake.List(ctx, kind, ns)
}
