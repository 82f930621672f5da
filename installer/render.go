package installer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
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
	OwnedARNsAnnotation = "kubeiam/owned-arns"
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
	awsAuth, err := AWSAuth(spec.Config)
	if err != nil {
		return nil, err
	}
	typed := []runtime.Object{
		&corev1.Namespace{TypeMeta: tm("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: CANamespace}},
		clusterRole(),
		&corev1.ServiceAccount{TypeMeta: tm("v1", "ServiceAccount"), ObjectMeta: meta(Name, Namespace)},
		&rbacv1.ClusterRoleBinding{
			TypeMeta:   tm("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
			ObjectMeta: metav1.ObjectMeta{Name: Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: Name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: Name, Namespace: Namespace}},
		},
		&corev1.ConfigMap{
			TypeMeta:   tm("v1", "ConfigMap"),
			ObjectMeta: withLabels(meta(Name, Namespace)),
			Data:       map[string]string{ConfigKey: config},
		},
		awsAuth,
	}
	if len(opts.CertPEM) > 0 {
		typed = append(typed, &corev1.Secret{
			TypeMeta: tm("v1", "Secret"),
			ObjectMeta: metav1.ObjectMeta{Name: CASecretName(spec.ClusterName), Namespace: CANamespace,
				// clusterctl move carries it with the cluster, as EKS-A marks it.
				Labels: map[string]string{"clusterctl.cluster.x-k8s.io/move": "true"}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"cert.pem": opts.CertPEM, "key.pem": opts.KeyPEM},
		})
	}
	typed = append(typed, daemonSet(spec.Config, opts.Image))
	out := make([]*unstructured.Unstructured, 0, len(typed))
	for _, o := range typed {
		u, err := toUnstructured(o)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func toUnstructured(o runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, fmt.Errorf("could not convert %T: %w", o, err)
	}
	u := &unstructured.Unstructured{Object: m}
	// The typed structs carry zero-valued fields that mean nothing here
	// but would make kubeiam co-own them under server-side apply.
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	switch u.GetKind() {
	case "DaemonSet":
		unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	case "Namespace":
		unstructured.RemoveNestedField(u.Object, "spec")
	}
	return u, nil
}

func tm(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func meta(name, ns string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }

func withLabels(m metav1.ObjectMeta) metav1.ObjectMeta {
	m.Labels = map[string]string{labelApp: Name}
	return m
}

func clusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		TypeMeta:   tm("rbac.authorization.k8s.io/v1", "ClusterRole"),
		ObjectMeta: metav1.ObjectMeta{Name: Name},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"iamauthenticator.k8s.aws"}, Resources: []string{"iamidentitymappings"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"iamauthenticator.k8s.aws"}, Resources: []string{"iamidentitymappings/status"}, Verbs: []string{"patch", "update"}},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "update", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{AWSAuthName}, Verbs: []string{"get"}},
		},
	}
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

func daemonSet(c IAMConfig, image string) *appsv1.DaemonSet {
	labels := map[string]string{labelApp: Name}
	hostFile := func(name, path string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}}
	}
	return &appsv1.DaemonSet{
		TypeMeta:   tm("apps/v1", "DaemonSet"),
		ObjectMeta: withLabels(meta(Name, Namespace)),
		Spec: appsv1.DaemonSetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: labels},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: Name,
					// The apiserver reaches the server on localhost: no CNI needed.
					HostNetwork:       true,
					PriorityClassName: "system-node-critical",
					NodeSelector:      map[string]string{"node-role.kubernetes.io/control-plane": ""},
					Tolerations: []corev1.Toleration{
						{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule},
						{Key: "node-role.kubernetes.io/master", Effect: corev1.TaintEffectNoSchedule},
						{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
					},
					SecurityContext: &corev1.PodSecurityContext{
						RunAsUser:      ptr.To[int64](ServerUID),
						RunAsGroup:     ptr.To[int64](ServerUID),
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  Name,
						Image: image,
						Env:   []corev1.EnvVar{{Name: "AWS_REGION", Value: c.AWSRegion}},
						Args:  ServerArgs(c),
						Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 21363, HostPort: 21363, Protocol: corev1.ProtocolTCP}},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("20Mi"), corev1.ResourceCPU: resource.MustParse("10m")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("20Mi"), corev1.ResourceCPU: resource.MustParse("100m")},
						},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "config", MountPath: "/etc/aws-iam-authenticator/"},
							{Name: "state", MountPath: "/var/aws-iam-authenticator/"},
							{Name: "kubeconfig", MountPath: WebhookConfigPath},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: Name}}}},
						hostFile("kubeconfig", HostDir+"/kubeconfig.yaml"),
						hostFile("state", HostDir+"/pki/"),
					},
				},
			},
		},
	}
}

// awsAuthEntry is one aws-auth list entry in the server's own key names.
type awsAuthEntry struct {
	RoleARN  string   `yaml:"rolearn,omitempty" json:"rolearn,omitempty"`
	UserARN  string   `yaml:"userarn,omitempty" json:"userarn,omitempty"`
	Username string   `yaml:"username" json:"username"`
	Groups   []string `yaml:"groups,omitempty" json:"groups,omitempty"`
}

// AWSAuth builds ConfigMap kube-system/aws-auth. The mapRoles and mapUsers
// keys are always present (empty when there are no entries), as EKS-A
// writes them, so a server-side apply that drops the last entry clears the
// key instead of leaving the old list behind.
func AWSAuth(c IAMConfig) (*corev1.ConfigMap, error) {
	var roles, users []awsAuthEntry
	var owned []string
	for _, m := range c.MapRoles {
		roles = append(roles, awsAuthEntry{RoleARN: m.ARN, Username: m.Username, Groups: m.Groups})
		owned = append(owned, strings.ToLower(m.ARN))
	}
	for _, m := range c.MapUsers {
		users = append(users, awsAuthEntry{UserARN: m.ARN, Username: m.Username, Groups: m.Groups})
		owned = append(owned, strings.ToLower(m.ARN))
	}
	data := map[string]string{}
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
	cm := &corev1.ConfigMap{TypeMeta: tm("v1", "ConfigMap"), ObjectMeta: meta(AWSAuthName, Namespace), Data: data}
	cm.Annotations = map[string]string{OwnedARNsAnnotation: string(ann)}
	return cm, nil
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
