package installer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/internal/kubeerr"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeiam/kubeiam/internal/deadline"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/mappings"
)

// FieldManager is kubeiam's server-side apply field manager.
const FieldManager = "kubeiam"

// Client is the part of the Kubernetes API the installer uses; tests
// replace it with a fake.
type Client interface {
	// Get returns nil, nil when the object does not exist.
	Get(ctx context.Context, kind, namespace, name string) (*unstructured.Unstructured, error)
	Apply(ctx context.Context, obj *unstructured.Unstructured, opts ApplyOptions) (*unstructured.Unstructured, error)
}

// ApplyOptions are the server-side apply knobs the installer uses.
type ApplyOptions struct {
	DryRun bool
	Force  bool
}

// resources maps the kinds the installer touches to their resources; a
// fixed table spares a discovery round-trip on every run.
var resources = map[string]schema.GroupVersionResource{
	"Namespace":                {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":           {Version: "v1", Resource: "serviceaccounts"},
	"ConfigMap":                {Version: "v1", Resource: "configmaps"},
	"Secret":                   {Version: "v1", Resource: "secrets"},
	"DaemonSet":                {Group: "apps", Version: "v1", Resource: "daemonsets"},
	"ClusterRole":              {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding":       {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"SelfSubjectReview":        {Group: "authentication.k8s.io", Version: "v1", Resource: "selfsubjectreviews"},
	"CustomResourceDefinition": {Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
	mappings.CRDKind:           {Group: mappings.CRDGroup, Version: mappings.CRDVersion, Resource: mappings.CRDResource},
	"Pod":                      {Version: "v1", Resource: "pods"},
}

type dynamicClient struct {
	dyn     dynamic.Interface
	timeout time.Duration // each request's bound, for the messages
	// http and host read pod logs, which are text, not objects.
	http *http.Client
	host string
}

// NewClient returns a Client for the cluster rest config points at.
func NewClient(cfg *rest.Config) (Client, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("could not create Kubernetes client: %w", err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("could not create Kubernetes client: %w", err)
	}
	return &dynamicClient{dyn: dyn, timeout: cfg.Timeout, http: hc, host: strings.TrimSuffix(cfg.Host, "/")}, nil
}

// PodLog returns the last lines of a container's log.
func (c *dynamicClient) PodLog(ctx context.Context, namespace, pod, container string, previous bool) (string, error) {
	q := url.Values{"container": {container}, "tailLines": {"5"}, "previous": {strconv.FormatBool(previous)}}
	u := c.host + "/api/v1/namespaces/" + url.PathEscape(namespace) + "/pods/" + url.PathEscape(pod) + "/log?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("could not read the log of pod %s: %w", objName(namespace, pod), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("could not read the log of pod %s: %w", objName(namespace, pod), err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("could not read the log of pod %s: %s", objName(namespace, pod), resp.Status)
	}
	return string(b), nil
}

// requestTimeout bounds each Kubernetes API request of the installer, the
// mapping verbs and whoami; KUBEIAM_ATTEMPT_TIMEOUT changes it. A variable
// so that client_timeout_test can shorten it.
var requestTimeout = 30 * time.Second

// RESTConfig loads a kubeconfig the way kubectl does: the explicit path,
// else KUBECONFIG, else ~/.kube/config; context "" is the current one.
func RESTConfig(kubeconfig, context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("could not load kubeconfig: %w", kubeerr.Scrub(err))
	}
	cfg.UserAgent = "kubeiam"
	// client-go's default limiter (5 QPS, burst 10) would throttle an
	// install's ~25 small requests into seconds of waiting.
	cfg.QPS, cfg.Burst = 50, 100
	// Every request the installer makes is small (get, apply, list; no
	// watches), so each gets a bound of its own: an API server that accepts
	// the connection and never answers ends the request, not the user's
	// patience. The command's context (Ctrl-C, --timeout) bounds the rest.
	if cfg.Timeout == 0 {
		if cfg.Timeout, err = deadline.Duration(os.Getenv, deadline.AttemptTimeoutEnv, requestTimeout); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

func (c *dynamicClient) res(kind, namespace string) (dynamic.ResourceInterface, error) {
	gvr, ok := resources[kind]
	if !ok {
		return nil, fmt.Errorf("kind %s is not one the installer manages", kind)
	}
	if namespace == "" {
		return c.dyn.Resource(gvr), nil
	}
	return c.dyn.Resource(gvr).Namespace(namespace), nil
}

func (c *dynamicClient) Get(ctx context.Context, kind, namespace, name string) (*unstructured.Unstructured, error) {
	r, err := c.res(kind, namespace)
	if err != nil {
		return nil, err
	}
	u, err := r.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, c.explain(fmt.Errorf("could not get %s %s: %w", kind, objName(namespace, name), err))
	}
	return u, nil
}

func (c *dynamicClient) Apply(ctx context.Context, obj *unstructured.Unstructured, opts ApplyOptions) (*unstructured.Unstructured, error) {
	r, err := c.res(obj.GetKind(), obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	ao := metav1.ApplyOptions{FieldManager: FieldManager, Force: opts.Force}
	if opts.DryRun {
		ao.DryRun = []string{metav1.DryRunAll}
	}
	u, err := r.Apply(ctx, obj.GetName(), obj, ao)
	if apierrors.IsConflict(err) {
		return nil, conflictOf(obj, fmt.Errorf("could not apply %s %s: %w", obj.GetKind(), objName(obj.GetNamespace(), obj.GetName()), err))
	}
	if err != nil {
		return nil, c.explain(fmt.Errorf("could not apply %s %s: %w", obj.GetKind(), objName(obj.GetNamespace(), obj.GetName()), err))
	}
	return u, nil
}

func objName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// ConflictError is a server-side apply conflict: other field managers
// (EKS Anywhere's controller, kubectl) own fields kubeiam would change.
// Fields lists each with its owner, from the API's status causes.
type ConflictError struct {
	Err    error
	Fields []FieldConflict
}

// FieldConflict is one field another manager owns.
type FieldConflict struct {
	// Object is "DaemonSet kube-system/aws-iam-authenticator".
	Object string
	// Field is the managed-fields path, e.g.
	// .spec.template.spec.containers[name="aws-iam-authenticator"].image.
	Field string
	// Owner is the API's own words: conflict with "eks-a" using apps/v1.
	Owner string
}

func (e *ConflictError) Error() string {
	if len(e.Fields) == 0 {
		return e.Err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s owned by another field manager (server-side apply conflict):", len(e.Fields), text.Plural(len(e.Fields), "field is", "fields are"))
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "\n  %s %s: %s", f.Object, f.Field, f.Owner)
	}
	return b.String()
}

func (e *ConflictError) Unwrap() error { return e.Err }

// conflictOf reads the conflicting fields of an apply error.
func conflictOf(obj *unstructured.Unstructured, err error) *ConflictError {
	ce := &ConflictError{Err: err}
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Details != nil {
		for _, c := range st.Status().Details.Causes {
			if c.Type == metav1.CauseTypeFieldManagerConflict {
				ce.Fields = append(ce.Fields, FieldConflict{Object: obj.GetKind() + " " + objName(obj.GetNamespace(), obj.GetName()), Field: c.Field, Owner: c.Message})
			}
		}
	}
	return ce
}

// ForbiddenError is an RBAC denial.
type ForbiddenError struct{ Err error }

func (e *ForbiddenError) Error() string { return e.Err.Error() }
func (e *ForbiddenError) Unwrap() error { return e.Err }

// explain types the API errors the command layer gives hints for.
func (c *dynamicClient) explain(err error) error {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		// A network failure says what happened in one line, as the AWS
		// calls do: "could not get ConfigMap …: no answer from HOST in 30s".
		if ne := deadline.Describe(context.Background(), err); ne != nil {
			if ne.TimedOut && c.timeout > 0 && !strings.Contains(ne.Msg, " in ") {
				ne.Msg += " in " + deadline.String(c.timeout)
			}
			if ne.TimedOut {
				ne.Fix = "check the network and that the API server is up; or allow each request more time with " + deadline.AttemptTimeoutEnv
			}
			what, _, _ := strings.Cut(err.Error(), ": ")
			return fmt.Errorf("%s: %w", what, ne)
		}
		return err
	}
	switch {
	case apierrors.IsConflict(err):
		return &ConflictError{Err: err}
	case apierrors.IsForbidden(err):
		return &ForbiddenError{Err: err}
	}
	return err
}

func (c *dynamicClient) List(ctx context.Context, kind, namespace string) ([]*unstructured.Unstructured, error) {
	r, err := c.res(kind, namespace)
	if err != nil {
		return nil, err
	}
	l, err := r.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, c.explain(fmt.Errorf("could not list %s: %w", kind, err))
	}
	out := make([]*unstructured.Unstructured, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out, nil
}

// SelfSubjectReview asks the apiserver who the client is, as `kubectl auth
// whoami` does; nil, nil where the API is missing (before Kubernetes 1.27).
func (c *dynamicClient) SelfSubjectReview(ctx context.Context) (*unstructured.Unstructured, error) {
	r, _ := c.res("SelfSubjectReview", "")
	req := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}}
	u, err := r.Create(ctx, req, metav1.CreateOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, c.explain(fmt.Errorf("could not ask the cluster who this kubeconfig is: %w", err))
	}
	return u, nil
}

// Delete deletes an object; one already gone is no error.
func (c *dynamicClient) Delete(ctx context.Context, kind, namespace, name string) error {
	r, err := c.res(kind, namespace)
	if err != nil {
		return err
	}
	if err := r.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return c.explain(fmt.Errorf("could not delete %s %s: %w", kind, objName(namespace, name), err))
	}
	return nil
}
