package installer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeiam/kubeiam/mappings"
)

// Names and paths EKS Anywhere uses; kubeiam must use the same ones so it
// can take over, or hand back, a cluster EKS Anywhere set up.
const (
	Name              = "aws-iam-authenticator"
	Namespace         = "kube-system"
	AWSAuthName       = "aws-auth"
	CANamespace       = "eksa-system"
	ConfigKey         = "config.yaml"
	HostDir           = "/var/lib/kubeadm/aws-iam-authenticator"
	APIServerHostDir  = "/etc/kubernetes/aws-iam-authenticator"
	WebhookConfigPath = APIServerHostDir + "/kubeconfig.yaml"
	// ServerUID is the distroless "nonroot" user the server image runs as;
	// the host files must be readable by it (the crash loop users hit when
	// key.pem is root-only).
	ServerUID = 65532
	// OwnedARNsAnnotation records, on aws-auth, the ARNs kubeiam wrote, so
	// sync can tell its own entries from ones others added (node roles).
	OwnedARNsAnnotation = mappings.OwnedARNsAnnotation
	labelApp            = "k8s-app"
)

// CASecretName is the Secret holding the server's certificate and key.
func CASecretName(cluster string) string { return cluster + "-aws-iam-authenticator-ca" }

// RenderOptions are what the spec does not say.
type RenderOptions struct {
	Image     string
	ClusterID string
	// CertPEM and KeyPEM go into the CA Secret; it is left out when empty.
	CertPEM, KeyPEM []byte
}

// Render builds the objects for spec in apply order: namespace, RBAC,
// config, mappings, CA Secret, DaemonSet last so it starts with its inputs
// in place.
func Render(spec *Spec, opts RenderOptions) ([]*unstructured.Unstructured, error) {
	if opts.Image == "" {
		return nil, fmt.Errorf("could not render manifests: no image")
	}
	config, err := ConfigYAML(opts.ClusterID)
	if err != nil {
		return nil, fmt.Errorf("could not render manifests: %w", err)
	}
	mapObjs, err := MappingObjects(spec.Config)
	if err != nil {
		return nil, err
	}
	out := []*unstructured.Unstructured{object("v1", "Namespace", meta(CANamespace, ""))}
	if mappings.Reads(spec.Config.BackendMode, mappings.ModeCRD) {
		// First, so the API serves the kind by the time the objects come.
		out = append(out, IdentityMappingCRD())
	}
	out = append(out,
		clusterRole(),
		object("v1", "ServiceAccount", meta(Name, Namespace)),
		object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", meta(Name, ""), "roleRef", obj{
			"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": Name,
		}, "subjects", list(obj{"kind": "ServiceAccount", "name": Name, "namespace": Namespace})),
		object("v1", "ConfigMap", withLabels(meta(Name, Namespace)), "data", obj{ConfigKey: config}),
	)
	out = append(out, mapObjs...)
	if len(opts.CertPEM) > 0 {
		md := meta(CASecretName(spec.ClusterName), CANamespace)
		// clusterctl move carries it with the cluster, as EKS-A marks it.
		md["labels"] = obj{"clusterctl.cluster.x-k8s.io/move": "true"}
		out = append(out, object("v1", "Secret", md, "type", "Opaque", "data", obj{
			"cert.pem": base64.StdEncoding.EncodeToString(opts.CertPEM),
			"key.pem":  base64.StdEncoding.EncodeToString(opts.KeyPEM),
		}))
	}
	return append(out, daemonSet(spec.Config, opts.Image)), nil
}

// obj is a JSON object as unstructured holds it. The objects are built as
// such rather than as k8s.io/api structs converted: those packages cost
// every kubeiam-core start their init (~1 ms, 150 KB) for four objects
// only `server` writes.
type obj = map[string]any

// object is a Kubernetes object with metadata and then fields as
// key, value pairs.
func object(apiVersion, kind string, metadata obj, fields ...any) *unstructured.Unstructured {
	o := obj{"apiVersion": apiVersion, "kind": kind, "metadata": metadata}
	for i := 0; i+1 < len(fields); i += 2 {
		o[fields[i].(string)] = fields[i+1]
	}
	return &unstructured.Unstructured{Object: o}
}

func meta(name, ns string) obj {
	m := obj{"name": name}
	if ns != "" {
		m["namespace"] = ns
	}
	return m
}

func withLabels(m obj) obj {
	m["labels"] = obj{labelApp: Name}
	return m
}

func list(items ...any) []any { return items }

func strs(ss ...string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func clusterRole() *unstructured.Unstructured {
	rule := func(group, resource string, names []string, verbs ...string) obj {
		r := obj{"apiGroups": strs(group), "resources": strs(resource), "verbs": strs(verbs...)}
		if names != nil {
			r["resourceNames"] = strs(names...)
		}
		return r
	}
	return object("rbac.authorization.k8s.io/v1", "ClusterRole", meta(Name, ""), "rules", list(
		rule("iamauthenticator.k8s.aws", "iamidentitymappings", nil, "get", "list", "watch"),
		rule("iamauthenticator.k8s.aws", "iamidentitymappings/status", nil, "patch", "update"),
		rule("", "events", nil, "create", "update", "patch"),
		rule("", "configmaps", nil, "list", "watch"),
		rule("", "configmaps", []string{AWSAuthName}, "get"),
	))
}

// ServerArgs are the server's arguments, as EKS Anywhere passes them.
func ServerArgs(c IAMConfig) []string {
	return []string{
		"server",
		"--backend-mode=" + strings.Join(c.BackendMode, ","),
		"--partition=" + partitionOf(c),
		"--config=/etc/aws-iam-authenticator/config.yaml",
		"--state-dir=/var/aws-iam-authenticator",
		"--generate-kubeconfig=" + WebhookConfigPath,
		"--kubeconfig-pregenerated=true",
	}
}

func partitionOf(c IAMConfig) string {
	if c.Partition == "" {
		return DefaultPartition
	}
	return c.Partition
}

func daemonSet(c IAMConfig, image string) *unstructured.Unstructured {
	hostFile := func(name, path string) obj {
		return obj{"name": name, "hostPath": obj{"path": path}}
	}
	resources := func(mem, cpu string) obj { return obj{"memory": mem, "cpu": cpu} }
	return object("apps/v1", "DaemonSet", withLabels(meta(Name, Namespace)), "spec", obj{
		"selector":       obj{"matchLabels": obj{labelApp: Name}},
		"updateStrategy": obj{"type": "RollingUpdate"},
		"template": obj{
			"metadata": obj{"labels": obj{labelApp: Name}},
			"spec": obj{
				"serviceAccountName": Name,
				// The apiserver reaches the server on localhost: no CNI needed.
				"hostNetwork":       true,
				"priorityClassName": "system-node-critical",
				"nodeSelector":      obj{"node-role.kubernetes.io/control-plane": ""},
				"tolerations": list(
					obj{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
					obj{"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"},
					obj{"key": "CriticalAddonsOnly", "operator": "Exists"},
				),
				"securityContext": obj{
					"runAsUser": int64(ServerUID), "runAsGroup": int64(ServerUID), "runAsNonRoot": true,
					"seccompProfile": obj{"type": "RuntimeDefault"},
				},
				"containers": list(obj{
					"name":  Name,
					"image": image,
					"env":   list(obj{"name": "AWS_REGION", "value": c.AWSRegion}),
					"args":  strs(ServerArgs(c)...),
					"ports": list(obj{"name": "metrics", "containerPort": int64(21363), "hostPort": int64(21363), "protocol": "TCP"}),
					"securityContext": obj{
						"allowPrivilegeEscalation": false,
						"readOnlyRootFilesystem":   true,
						"capabilities":             obj{"drop": strs("ALL")},
					},
					"resources": obj{"requests": resources("20Mi", "10m"), "limits": resources("20Mi", "100m")},
					"volumeMounts": list(
						obj{"name": "config", "mountPath": "/etc/aws-iam-authenticator/"},
						obj{"name": "state", "mountPath": "/var/aws-iam-authenticator/"},
						obj{"name": "kubeconfig", "mountPath": WebhookConfigPath},
					),
				}),
				"volumes": list(
					obj{"name": "config", "configMap": obj{"name": Name}},
					hostFile("kubeconfig", HostDir+"/kubeconfig.yaml"),
					hostFile("state", HostDir+"/pki/"),
				),
			},
		},
	})
}

// MappingObjects are the objects that carry the spec's mappings where its
// server reads them: ConfigMap aws-auth for EKSConfigMap (as EKS Anywhere
// writes it), one IAMIdentityMapping per mapRoles/mapUsers entry for CRD.
// A CRD-only server never reads aws-auth, so none is written for it.
func MappingObjects(c IAMConfig) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	if mappings.Reads(c.BackendMode, mappings.ModeEKSConfigMap) {
		a, err := AWSAuth(c)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if mappings.Reads(c.BackendMode, mappings.ModeCRD) {
		out = append(out, IdentityMappings(c)...)
	}
	return out, nil
}

// IdentityMappingCRD is the IAMIdentityMapping CustomResourceDefinition as
// aws-iam-authenticator v0.7.2 ships it (deploy/iamidentitymapping.yaml).
// The status subresource is what matters: the server matches callers on
// status.canonicalARN, which it writes through /status; a CRD without it
// never matches anyone (upstream issue 406).
func IdentityMappingCRD() *unstructured.Unstructured {
	str := obj{"type": "string"}
	return object("apiextensions.k8s.io/v1", "CustomResourceDefinition", meta(mappings.CRDName, ""), "spec", obj{
		"group": mappings.CRDGroup,
		"scope": "Cluster",
		"names": obj{"plural": mappings.CRDResource, "singular": "iamidentitymapping", "kind": mappings.CRDKind, "categories": strs("all")},
		"versions": list(obj{
			"name": mappings.CRDVersion, "served": true, "storage": true,
			"schema": obj{"openAPIV3Schema": obj{
				"type": "object",
				"properties": obj{
					"spec": obj{"type": "object", "required": strs("arn", "username"), "properties": obj{
						"arn": str, "username": str, "groups": obj{"type": "array", "items": str},
					}},
					"status": obj{"type": "object", "properties": obj{"canonicalARN": str, "userID": str}},
				},
			}},
			"subresources": obj{"status": obj{}},
		}),
	})
}

// IdentityMappings are one IAMIdentityMapping per mapRoles and mapUsers
// entry, named from the ARN (mappings.ObjectName) so every sync finds the
// same objects, and labelled as kubeiam's so a sync never touches objects
// made by hand. mapAccounts has no CRD form: the CRD backend maps no
// accounts.
func IdentityMappings(c IAMConfig) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, m := range append(append([]Mapping{}, c.MapRoles...), c.MapUsers...) {
		md := meta(mappings.ObjectName(m.ARN), "")
		md["labels"] = obj{mappings.ManagedByLabel: mappings.ManagedByValue}
		spec := obj{"arn": m.ARN, "username": m.Username}
		if len(m.Groups) > 0 {
			spec["groups"] = strs(m.Groups...)
		}
		out = append(out, object(mappings.CRDGroup+"/"+mappings.CRDVersion, mappings.CRDKind, md, "spec", spec))
	}
	return out
}

// AWSAuth builds ConfigMap kube-system/aws-auth. The mapRoles and mapUsers
// keys are always present (empty when there are no entries), as EKS-A
// writes them, so a server-side apply that drops the last entry clears the
// key instead of leaving the old list behind.
func AWSAuth(c IAMConfig) (*unstructured.Unstructured, error) {
	var roles, users []mappings.AWSAuthEntry
	var owned []string
	for _, m := range c.MapRoles {
		roles = append(roles, mappings.AWSAuthEntry{RoleARN: m.ARN, Username: m.Username, Groups: m.Groups})
		owned = append(owned, strings.ToLower(m.ARN))
	}
	for _, m := range c.MapUsers {
		users = append(users, mappings.AWSAuthEntry{UserARN: m.ARN, Username: m.Username, Groups: m.Groups})
		owned = append(owned, strings.ToLower(m.ARN))
	}
	data := obj{}
	var err error
	if data["mapRoles"], err = yamlList(roles); err != nil {
		return nil, err
	}
	if data["mapUsers"], err = yamlList(users); err != nil {
		return nil, err
	}
	if len(c.MapAccounts) > 0 {
		if data["mapAccounts"], err = yamlList(c.MapAccounts); err != nil {
			return nil, err
		}
	}
	slices.Sort(owned)
	ann, err := json.Marshal(owned)
	if err != nil {
		return nil, err
	}
	if owned == nil {
		ann = []byte("[]")
	}
	md := meta(AWSAuthName, Namespace)
	md["annotations"] = obj{OwnedARNsAnnotation: string(ann)}
	return object("v1", "ConfigMap", md, "data", data), nil
}

func yamlList[T any](items []T) (string, error) {
	if len(items) == 0 {
		return "", nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(items); err != nil {
		return "", fmt.Errorf("could not encode aws-auth entries: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Encode writes objects as a YAML stream or a JSON List.
func Encode(objs []*unstructured.Unstructured, format string) ([]byte, error) {
	switch format {
	case "", "yaml":
		var b bytes.Buffer
		for _, o := range objs {
			j, err := json.Marshal(o.Object)
			if err != nil {
				return nil, err
			}
			var n yaml.Node
			if err := yaml.Unmarshal(j, &n); err != nil {
				return nil, err
			}
			restyle(&n)
			b.WriteString("---\n")
			enc := yaml.NewEncoder(&b)
			enc.SetIndent(2)
			if err := enc.Encode(&n); err != nil {
				return nil, err
			}
			enc.Close()
		}
		return b.Bytes(), nil
	case "json":
		items := make([]any, len(objs))
		for i, o := range objs {
			items[i] = o.Object
		}
		b, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	}
	return nil, fmt.Errorf("unknown output format %q: use yaml or json", format)
}

// restyle turns the JSON-flavoured nodes (flow style, quoted strings) into
// block YAML, with multi-line strings (the aws-auth lists) as literal
// blocks so they read as they do in EKS-A's manifest.
func restyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if strings.Contains(n.Value, "\n") {
			n.Style = yaml.LiteralStyle
		}
	}
	for _, c := range n.Content {
		restyle(c)
	}
}
