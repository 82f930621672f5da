package installer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/diff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubeiam/kubeiam/mappings"
)

// Options configure Install and Sync.
type Options struct {
	// Image is the server image; Install needs it unless the DaemonSet is
	// installed already (then its image is kept).
	Image string
	// ClusterID is asked for on the command line. An installed cluster ID
	// wins; asking for another one is an error, since every client's
	// token is signed for the installed one.
	ClusterID string
	// CertPEM/KeyPEM come from `server init`; used only when the cluster
	// has no CA Secret yet.
	CertPEM, KeyPEM []byte
	DryRun          bool
	// ForceConflicts takes fields over from other field managers.
	ForceConflicts bool
	// Prune lets the apply drop aws-auth entries kubeiam did not write.
	Prune bool
	// AllowLockout applies a mapping change after which no mapping
	// reaches cluster-admin, or that unmaps the command's own identity.
	AllowLockout bool
	// Wait for the DaemonSet rollout, up to Timeout.
	Wait    bool
	Timeout time.Duration
	// Poll is the rollout poll interval (2 s when zero).
	Poll time.Duration
	// Settle is how long a rolled-out DaemonSet must stay so, with the
	// same containers, before the wait ends (5 s when zero): the server
	// has no readiness probe, so a crashing pod is briefly available.
	Settle time.Duration
	// Progress receives human progress lines; nil is silent.
	Progress io.Writer
}

// ObjectChange is what an apply did, or would do, to one object.
type ObjectChange struct {
	Kind, Namespace, Name string
	// Action is "created", "configured" or "unchanged" ("would be …" on a
	// dry run is the caller's wording).
	Action string
	Diff   []byte
}

// Result reports an Install or Sync.
type Result struct {
	ClusterID     string
	ClusterIDKept bool
	CAKept        bool
	Objects       []ObjectChange
	// Mappings is the aws-auth change (EKSConfigMap mode),
	// ObjectMappings the IAMIdentityMapping change (CRD mode).
	Mappings, ObjectMappings MappingDiff
	// LeftAlone are IAMIdentityMapping objects kubeiam did not write: a
	// sync neither changes nor deletes them, and says so.
	LeftAlone []string
	// CRDMissing: the cluster had no IAMIdentityMapping CRD yet.
	CRDMissing bool
	// Admins are the mappings with cluster-admin power after the change,
	// judged against AdminSource.
	Admins      []string
	AdminSource string
	DryRun      bool
}

// Changed tells whether anything was (or would be) changed.
func (r *Result) Changed() bool {
	for _, o := range r.Objects {
		if o.Action != "unchanged" {
			return true
		}
	}
	return false
}

// state is what is installed already.
type state struct {
	clusterID string
	caSecret  *unstructured.Unstructured
	daemonSet *unstructured.Unstructured
	awsAuth   *unstructured.Unstructured
	namespace *unstructured.Unstructured
	// objects are the IAMIdentityMapping objects, read when the spec's
	// server reads the CRD backend; crdMissing when the CRD is not there.
	objects    []*unstructured.Unstructured
	crdMissing bool
}

func readState(ctx context.Context, c Client, spec *Spec, withDS bool) (*state, error) {
	st := &state{}
	cm, err := c.Get(ctx, "ConfigMap", Namespace, Name)
	if err != nil {
		return nil, err
	}
	if cm != nil {
		cfg, _, _ := unstructured.NestedString(cm.Object, "data", ConfigKey)
		var parsed struct {
			ClusterID string `json:"clusterID"`
		}
		if err := sigsyaml.Unmarshal([]byte(cfg), &parsed); err != nil {
			return nil, fmt.Errorf("could not read the cluster ID from ConfigMap %s/%s: %w", Namespace, Name, err)
		}
		st.clusterID = parsed.ClusterID
	}
	if st.awsAuth, err = c.Get(ctx, "ConfigMap", Namespace, AWSAuthName); err != nil {
		return nil, err
	}
	if st.daemonSet, err = c.Get(ctx, "DaemonSet", Namespace, Name); err != nil {
		return nil, err
	}
	if spec != nil && mappings.Reads(spec.Config.BackendMode, mappings.ModeCRD) {
		st.objects, err = ListIdentityMappings(ctx, c)
		var nc *NoCRDError
		if errors.As(err, &nc) {
			st.crdMissing, err = true, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if !withDS {
		return st, nil
	}
	if st.namespace, err = c.Get(ctx, "Namespace", "", CANamespace); err != nil {
		return nil, err
	}
	if st.namespace != nil {
		if st.caSecret, err = c.Get(ctx, "Secret", CANamespace, CASecretName(spec.ClusterName)); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// ImmutableError lists fields the installed server was set up with that the
// spec would change; EKS Anywhere refuses these on upgrade as well.
type ImmutableError struct {
	Config string
	Fields []string
}

func (e *ImmutableError) Error() string {
	return fmt.Sprintf("AWSIamConfig %s: %s", e.Config, strings.Join(e.Fields, "; "))
}

// checkImmutable compares the installed DaemonSet's region, partition and
// backend modes with the spec's.
func checkImmutable(spec *Spec, ds *unstructured.Unstructured) error {
	if ds == nil {
		return nil
	}
	installed := installedConfig(ds)
	var fields []string
	cmp := func(field, have, want string) {
		if have != want {
			fields = append(fields, fmt.Sprintf("spec.%s: Forbidden: field is immutable (installed %q, spec %q)", field, have, want))
		}
	}
	cmp("awsRegion", installed.AWSRegion, spec.Config.AWSRegion)
	cmp("partition", installed.Partition, partitionOf(spec.Config))
	cmp("backendMode", strings.Join(installed.BackendMode, ","), strings.Join(spec.Config.BackendMode, ","))
	if len(fields) > 0 {
		return &ImmutableError{Config: spec.Config.Name, Fields: fields}
	}
	return nil
}

// installedConfig reads region, partition and backend modes back from a
// DaemonSet's container.
func installedConfig(ds *unstructured.Unstructured) (c IAMConfig) {
	containers, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "containers")
	for _, x := range containers {
		m, _ := x.(map[string]any)
		if m["name"] != Name {
			continue
		}
		args, _, _ := unstructured.NestedStringSlice(m, "args")
		c.Partition = DefaultPartition
		for _, a := range args {
			if v, ok := strings.CutPrefix(a, "--backend-mode="); ok {
				c.BackendMode = strings.Split(v, ",")
			}
			if v, ok := strings.CutPrefix(a, "--partition="); ok {
				c.Partition = v
			}
		}
		env, _, _ := unstructured.NestedSlice(m, "env")
		for _, e := range env {
			em, _ := e.(map[string]any)
			if em["name"] == "AWS_REGION" {
				c.AWSRegion, _ = em["value"].(string)
			}
		}
	}
	return c
}

func installedImage(ds *unstructured.Unstructured) string {
	if ds == nil {
		return ""
	}
	containers, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "containers")
	for _, x := range containers {
		m, _ := x.(map[string]any)
		if m["name"] == Name {
			s, _ := m["image"].(string)
			return s
		}
	}
	return ""
}

// Install applies every object for spec. Everything is checked, and
// dry-run applied on the server, before the first write, so a refusal
// leaves the cluster as it was.
func Install(ctx context.Context, c Client, spec *Spec, opts Options) (*Result, error) {
	st, err := readState(ctx, c, spec, true)
	if err != nil {
		return nil, err
	}
	res := &Result{DryRun: opts.DryRun}
	if err := checkImmutable(spec, st.daemonSet); err != nil {
		return nil, err
	}
	switch {
	case st.clusterID != "" && opts.ClusterID != "" && st.clusterID != opts.ClusterID:
		return nil, &ClusterIDError{Installed: st.clusterID, Asked: opts.ClusterID}
	case st.clusterID != "":
		res.ClusterID, res.ClusterIDKept = st.clusterID, true
	case opts.ClusterID != "":
		res.ClusterID = opts.ClusterID
	default:
		if res.ClusterID, err = NewClusterID(); err != nil {
			return nil, err
		}
	}
	ro := RenderOptions{Image: opts.Image, ClusterID: res.ClusterID}
	if ro.Image == "" {
		ro.Image = installedImage(st.daemonSet)
	}
	if ro.Image == "" {
		return nil, errors.New("could not install: no image (the DaemonSet is not installed yet, so --image is required)")
	}
	if st.caSecret != nil {
		d, _, _ := unstructured.NestedStringMap(st.caSecret.Object, "data")
		ro.CertPEM, ro.KeyPEM = b64(d["cert.pem"]), b64(d["key.pem"])
		if err := CheckKeyPair(ro.CertPEM, ro.KeyPEM); err != nil {
			return nil, fmt.Errorf("could not use Secret %s/%s: %w", CANamespace, CASecretName(spec.ClusterName), err)
		}
		res.CAKept = true
	} else if len(opts.CertPEM) > 0 {
		if err := CheckKeyPair(opts.CertPEM, opts.KeyPEM); err != nil {
			return nil, err
		}
		ro.CertPEM, ro.KeyPEM = opts.CertPEM, opts.KeyPEM
	} else if ro.CertPEM, ro.KeyPEM, err = NewServerCertificate(time.Now()); err != nil {
		return nil, err
	}
	if err := plan(ctx, c, st, spec, opts, res); err != nil {
		return nil, err
	}
	objs, err := Render(spec, ro)
	if err != nil {
		return nil, err
	}
	before := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		cur, err := c.Get(ctx, o.GetKind(), o.GetNamespace(), o.GetName())
		if err != nil {
			return nil, err
		}
		before[key(o)] = cur
	}
	if err := applyAll(ctx, c, objs, before, st.namespace == nil, st.crdMissing, opts, res); err != nil {
		return nil, err
	}
	if err := deleteStale(ctx, c, st, objs, opts, res); err != nil {
		return nil, err
	}
	if opts.DryRun || !opts.Wait {
		return res, nil
	}
	if err := WaitForRollout(ctx, c, opts); err != nil {
		return res, err
	}
	return res, WaitForIdentityMappings(ctx, c, objs, opts)
}

// Sync applies only the mappings (aws-auth, and the IAMIdentityMapping
// CRD and objects in CRD mode), after the same checks as Install: the
// seed's "upgrade cluster" step, without the rest of an upgrade.
func Sync(ctx context.Context, c Client, spec *Spec, opts Options) (*Result, error) {
	st, err := readState(ctx, c, spec, false)
	if err != nil {
		return nil, err
	}
	if st.daemonSet == nil && st.clusterID == "" {
		return nil, &NotInstalledError{}
	}
	if err := checkImmutable(spec, st.daemonSet); err != nil {
		return nil, err
	}
	res := &Result{DryRun: opts.DryRun, ClusterID: st.clusterID, ClusterIDKept: true}
	if err := plan(ctx, c, st, spec, opts, res); err != nil {
		return nil, err
	}
	objs, err := MappingObjects(spec.Config)
	if err != nil {
		return nil, err
	}
	if mappings.Reads(spec.Config.BackendMode, mappings.ModeCRD) {
		objs = append([]*unstructured.Unstructured{IdentityMappingCRD()}, objs...)
	}
	before := map[string]*unstructured.Unstructured{}
	live := map[string]*unstructured.Unstructured{}
	for _, o := range st.objects {
		live[o.GetName()] = o
	}
	for _, o := range objs {
		switch o.GetKind() {
		case "ConfigMap":
			before[key(o)] = st.awsAuth
		case mappings.CRDKind:
			before[key(o)] = live[o.GetName()]
		default:
			if before[key(o)], err = c.Get(ctx, o.GetKind(), o.GetNamespace(), o.GetName()); err != nil {
				return nil, err
			}
		}
	}
	if err := applyAll(ctx, c, objs, before, false, st.crdMissing, opts, res); err != nil {
		return nil, err
	}
	if err := deleteStale(ctx, c, st, objs, opts, res); err != nil {
		return nil, err
	}
	if opts.DryRun || !opts.Wait {
		return res, nil
	}
	return res, WaitForIdentityMappings(ctx, c, objs, opts)
}

// plan works out the mapping change in each backend the spec's server
// reads and checks it against a lockout.
func plan(ctx context.Context, c Client, st *state, spec *Spec, opts Options, res *Result) error {
	var err error
	if mappings.Reads(spec.Config.BackendMode, mappings.ModeEKSConfigMap) {
		if res.Mappings, err = planMappings(spec.Config, st.awsAuth, opts.Prune); err != nil {
			return err
		}
	}
	if mappings.Reads(spec.Config.BackendMode, mappings.ModeCRD) {
		res.ObjectMappings, res.LeftAlone = planObjects(spec.Config, st.objects)
		res.CRDMissing = st.crdMissing
	}
	return guardLockout(ctx, c, st, spec, opts, res)
}

// guardLockout checks the mapping change, across every backend the
// server reads, against the cluster's cluster-admin bindings and the
// command's own identity, and records who will be admin. Neither lookup
// is essential: without them the check falls back to system:masters and
// skips the caller.
func guardLockout(ctx context.Context, c Client, st *state, spec *Spec, opts Options, res *Result) error {
	before, err := st.chain(spec)
	if err != nil {
		return err
	}
	lc := mappings.LockoutCheck{Before: before, After: SpecChain(spec.Config, spec.File, st.foreignObjects())}
	if lc.Admins, err = ReadAdminSubjects(ctx, c); err != nil {
		lc.Admins.Source += fmt.Sprintf(" (%v)", err)
	}
	lc.Caller, _ = CallerOf(ctx, c)
	res.AdminSource = lc.Admins.Source
	if opts.AllowLockout {
		res.Admins = lc.After.Admins(lc.Admins)
		return nil
	}
	res.Admins, err = mappings.CheckLockout(lc)
	return err
}

// chain is what the server reads now: the installed server's backends
// (the spec's when none is installed yet) over the live aws-auth and
// IAMIdentityMapping objects.
func (st *state) chain(spec *Spec) (mappings.Chain, error) {
	modes := spec.Config.BackendMode
	if st.daemonSet != nil {
		modes = installedConfig(st.daemonSet).BackendMode
	}
	live, err := mappings.ParseAWSAuth(st.awsAuth)
	if err != nil {
		return mappings.Chain{}, err
	}
	var objs []mappings.Mapping
	for _, o := range st.objects {
		objs = append(objs, mappings.FromObject(o))
	}
	return mappings.ChainOf(modes, mappings.Sources{ConfigMap: live, CRD: objs}), nil
}

// foreignObjects are the live IAMIdentityMapping objects kubeiam did not
// write: a sync leaves them, so they still map after it.
func (st *state) foreignObjects() []mappings.Mapping {
	var out []mappings.Mapping
	for _, o := range st.objects {
		if m := mappings.FromObject(o); !m.Managed {
			out = append(out, m)
		}
	}
	return out
}

// NotInstalledError: sync found nothing to sync.
type NotInstalledError struct{}

func (*NotInstalledError) Error() string {
	return "could not sync: the authenticator is not installed (no DaemonSet or ConfigMap " + Namespace + "/" + Name + ")"
}

// ClusterIDError: the cluster has a cluster ID and another was asked for.
type ClusterIDError struct{ Installed, Asked string }

func (e *ClusterIDError) Error() string {
	return fmt.Sprintf("could not install: the cluster's ID is %s, not %s; it is never changed, because every client signs its tokens for it", e.Installed, e.Asked)
}

func key(o *unstructured.Unstructured) string {
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

// applyAll dry-runs every object on the server, then, unless opts.DryRun,
// applies them for real. nsMissing: eksa-system does not exist yet, so
// objects in it cannot be dry-run before the namespace is created.
// crdMissing: the IAMIdentityMapping CRD is not there yet, so its objects
// cannot be dry-run either, and are applied once the API serves the kind.
func applyAll(ctx context.Context, c Client, objs []*unstructured.Unstructured, before map[string]*unstructured.Unstructured, nsMissing, crdMissing bool, opts Options, res *Result) error {
	ao := ApplyOptions{DryRun: true, Force: opts.ForceConflicts}
	after := map[string]*unstructured.Unstructured{}
	// Every object's conflicts are gathered before refusing, so one run
	// shows all the fields another manager owns.
	var conflicts *ConflictError
	for _, o := range objs {
		if nsMissing && o.GetNamespace() == CANamespace || crdMissing && o.GetKind() == mappings.CRDKind {
			after[key(o)] = o
			continue
		}
		got, err := c.Apply(ctx, o, ao)
		var ce *ConflictError
		if errors.As(err, &ce) && len(ce.Fields) > 0 {
			if conflicts == nil {
				conflicts = &ConflictError{Err: ce.Err}
			}
			conflicts.Fields = append(conflicts.Fields, ce.Fields...)
			continue
		}
		if err != nil {
			return err
		}
		after[key(o)] = got
	}
	if conflicts != nil {
		return conflicts
	}
	for _, o := range objs {
		k := key(o)
		ch := ObjectChange{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
		b, a := clean(before[k]), clean(after[k])
		switch {
		case before[k] == nil:
			ch.Action = "created"
		case b == a:
			ch.Action = "unchanged"
		default:
			ch.Action = "configured"
		}
		if ch.Action != "unchanged" {
			ch.Diff = diff.Diff(k+" (cluster)", []byte(b), k+" (applied)", []byte(a))
		}
		res.Objects = append(res.Objects, ch)
	}
	if opts.DryRun {
		return nil
	}
	ao.DryRun = false
	established := !crdMissing
	for i, o := range objs {
		ch := &res.Objects[i]
		if ch.Action == "unchanged" {
			continue // nothing to write: the second install is a no-op
		}
		if o.GetKind() == mappings.CRDKind && !established {
			if err := waitEstablished(ctx, c, opts); err != nil {
				return err
			}
			established = true
		}
		if _, err := c.Apply(ctx, o, ao); err != nil {
			return err
		}
		progress(opts.Progress, "%s %s %s", ch.Kind, objName(ch.Namespace, ch.Name), ch.Action)
	}
	return nil
}

// clean renders an object for comparison and diffs: no server bookkeeping,
// and no Secret values (a diff must never print key.pem).
func clean(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	o := u.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"} {
		unstructured.RemoveNestedField(o.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(o.Object, "status")
	if ann := o.GetAnnotations(); ann != nil {
		delete(ann, "deprecated.daemonset.template.generation")
		delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
		if len(ann) == 0 {
			ann = nil
		}
		o.SetAnnotations(ann)
	}
	if o.GetKind() == "Secret" {
		d, _, _ := unstructured.NestedStringMap(o.Object, "data")
		for k, v := range d {
			sum := sha256.Sum256([]byte(v))
			d[k] = fmt.Sprintf("(%d bytes, sha256 %s…)", len(b64(v)), hex.EncodeToString(sum[:4]))
		}
		_ = unstructured.SetNestedStringMap(o.Object, d, "data")
	}
	b, err := sigsyaml.Marshal(o.Object)
	if err != nil {
		return fmt.Sprintf("%v", o.Object)
	}
	return string(b)
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

func b64(s string) []byte {
	out, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	return out
}
