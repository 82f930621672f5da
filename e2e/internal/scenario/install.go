package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kubeiam/kubeiam/e2e/internal/rig"
)

// ServerImage is the DaemonSet image install writes. No registry is
// reachable: the rig imports an image of this name, holding the
// aws-iam-authenticator v0.7.2 it built, into the node's containerd, so the
// rendered imagePullPolicy (unset: IfNotPresent for a tagged image) finds
// it without a pull. Without a node the rig's own server process plays the
// DaemonSet's part.
const ServerImage = "public.ecr.aws/eks-distro/kubernetes-sigs/aws-iam-authenticator:v0.7.2-eks-1-31-1"

// EKSDManifest is the EKS-D release manifest the --bundles tests serve; the
// image kubeiam resolves from it is imported into the node as well.
const EKSDManifest = "bundle/testdata/kubernetes-1-31-eks-12.yaml"

// Images are the image references the node must hold: ServerImage and the
// one `kubeiam server manifests --manifest` resolves from EKSDManifest,
// asked of kubeiam itself so the name is the one `--bundles` installs.
func Images(ctx context.Context, kubeiam, repo string) ([]string, error) {
	dir, err := os.MkdirTemp("", "kubeiam-e2e-images-")
	if err != nil {
		return nil, fmt.Errorf("could not create temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	spec := filepath.Join(dir, "spec.yaml")
	users, roles := SeedMappings()
	if err := os.WriteFile(spec, []byte(ClusterSpecYAML(users, roles)), 0o644); err != nil {
		return nil, fmt.Errorf("could not write spec: %w", err)
	}
	cmd := exec.CommandContext(ctx, kubeiam, "server", "manifests", "-f", spec, "--cluster-id", "images", "--manifest", filepath.Join(repo, EKSDManifest), "-o", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kubeiam server manifests --manifest: %w\n%s", err, stderr.String())
	}
	var list struct {
		Items []struct {
			Kind string
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct{ Image string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("could not parse manifests: %w", err)
	}
	for _, it := range list.Items {
		if it.Kind == "DaemonSet" && len(it.Spec.Template.Spec.Containers) > 0 {
			return []string{ServerImage, it.Spec.Template.Spec.Containers[0].Image}, nil
		}
	}
	return nil, fmt.Errorf("kubeiam server manifests --manifest printed no DaemonSet")
}

// WaitArgs are install's rollout flags: with a node the DaemonSet's pod is
// the server, so install waits for it; without one nothing would ever run
// it.
func (e *Env) WaitArgs() []string {
	if e.Rig.Node != "" {
		return []string{"--wait", "--timeout=2m"}
	}
	return []string{"--wait=false"}
}

// ClusterName is the EKS Anywhere cluster name in the scenarios' spec; the
// CA Secret is eksa-system/<ClusterName>-aws-iam-authenticator-ca.
const ClusterName = "e2e"

// ClusterSpecYAML renders the seed's cluster spec as a GitOps repository
// holds it: the Cluster naming its AWSIamConfig, and the AWSIamConfig with
// the mappings, in the rig's region.
func ClusterSpecYAML(users, roles []Mapping) string {
	return ClusterSpecYAMLIn("us-west-2", users, roles)
}

// ClusterSpecYAMLIn is ClusterSpecYAML with another awsRegion (an
// immutable field, for the refusal cases).
func ClusterSpecYAMLIn(region string, users, roles []Mapping) string {
	var b strings.Builder
	b.WriteString(`# clusters/` + ClusterName + `/eksa-system/eksa-cluster.yaml (abridged to what kubeiam reads)
apiVersion: anywhere.eks.amazonaws.com/v1alpha1
kind: Cluster
metadata:
  name: ` + ClusterName + `
spec:
  kubernetesVersion: "1.31"
  # IAM Authenticator
  identityProviderRefs:
    - kind: AWSIamConfig
      name: aws-iam-auth-config
---
apiVersion: anywhere.eks.amazonaws.com/v1alpha1
kind: AWSIamConfig
metadata:
  name: aws-iam-auth-config
spec:
  awsRegion: ` + region + `
  backendMode:
    - EKSConfigMap
  mapRoles:
`)
	writeMappings(&b, "roleARN", roles)
	b.WriteString("  mapUsers:\n")
	writeMappings(&b, "userARN", users)
	b.WriteString("  partition: aws\n")
	return b.String()
}

func writeMappings(b *strings.Builder, key string, ms []Mapping) {
	if len(ms) == 0 {
		// An empty list, not null: null would drop the key from the
		// AWSIamConfig altogether.
		b.WriteString("    []\n")
	}
	for _, m := range ms {
		fmt.Fprintf(b, "    - %s: %s\n      username: %q\n      groups:\n", key, m.ARN, m.Username)
		for _, g := range m.Groups {
			fmt.Fprintf(b, "        - %s\n", g)
		}
	}
}

// SpecFile is where the scenarios keep the cluster spec: EKS Anywhere's
// GitOps path inside the rig's directory.
func (e *Env) SpecFile() string {
	return filepath.Join(e.Rig.Dir, "gitops", "clusters", ClusterName, "eksa-system", "eksa-cluster.yaml")
}

// writeSpec writes the cluster spec and narrates it.
func (e *Env) writeSpec(users, roles []Mapping) error {
	path := e.SpecFile()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("could not create spec directory: %w", err)
	}
	y := ClusterSpecYAML(users, roles)
	if len(e.Modes) > 0 {
		list := ""
		for _, m := range e.Modes {
			list += "    - " + m + "\n"
		}
		y = strings.Replace(y, "    - EKSConfigMap\n", list, 1)
	}
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		return fmt.Errorf("could not write cluster spec: %w", err)
	}
	e.say("%s:", e.rel(path))
	for _, l := range strings.Split(strings.TrimRight(y, "\n"), "\n") {
		e.say("| %s", l)
	}
	return nil
}

// rel shortens rig paths in the narration.
func (e *Env) rel(path string) string {
	if r, err := filepath.Rel(e.Rig.Dir, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.Join("$RIG", r)
	}
	return path
}

// kubeiam runs and narrates one kubeiam command as the cluster admin.
func (e *Env) kubeiam(ctx context.Context, args ...string) rig.Result {
	shown := make([]string, len(args))
	for i, a := range args {
		shown[i] = strings.ReplaceAll(a, e.Rig.Dir, "$RIG")
	}
	fmt.Fprintf(e.Out, "  [admin] $ kubeiam %s\n", strings.Join(shown, " "))
	cmd := exec.CommandContext(ctx, e.Rig.Bins.Kubeiam, args...)
	// The apiserver is on 127.0.0.1; keep any proxy of the caller off it.
	cmd.Env = append(os.Environ(), "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	for _, s := range []string{out.String(), errb.String()} {
		for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			if l != "" {
				fmt.Fprintf(e.Out, "      %s\n", strings.ReplaceAll(l, e.Rig.Dir, "$RIG"))
			}
		}
	}
	if err != nil {
		err = fmt.Errorf("kubeiam %s: %w\n%s", strings.Join(shown, " "), err, errb.String())
	}
	return rig.Result{Args: args, Stdout: out.String(), Stderr: errb.String(), Err: err}
}

// Install sets up the server side the way a user would: RBAC for the view
// group (the cluster's own business, not the authenticator's), then
// `kubeiam server install` from the cluster spec, keeping the cluster ID
// the rig's authenticator server was started with.
func (e *Env) Install(ctx context.Context, users, roles []Mapping) error {
	e.step("RBAC for group %s: read-only everywhere (the cluster's own RBAC, not part of the installer)", ViewGroup)
	// Not the built-in "view": that role is aggregated by
	// kube-controller-manager, which the rig does not run, so it stays empty.
	rbac := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: e2e-viewer
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: e2e-viewers
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: e2e-viewer
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: ` + ViewGroup + "\n"
	if err := e.admin(ctx, rbac, "apply", "-f", "-"); err != nil {
		return err
	}

	e.step("the cluster spec with the seed's AWSIamConfig")
	if err := e.writeSpec(users, roles); err != nil {
		return err
	}

	if len(e.Modes) > 0 && e.Rig.Node != "" {
		e.step("backendMode %v: the installed server's mode cannot change in place, so its DaemonSet goes first", e.Modes)
		if err := e.admin(ctx, "", "-n", "kube-system", "delete", "daemonset", "aws-iam-authenticator", "--ignore-not-found", "--cascade=orphan"); err != nil {
			return err
		}
		// v0.7.2 may ignore SIGTERM: without a short grace the new pod
		// waits 30 s for the old one's host ports.
		if err := e.admin(ctx, "", "-n", "kube-system", "delete", "pods", "-l", "k8s-app=aws-iam-authenticator", "--grace-period=1"); err != nil {
			return err
		}
	}
	e.step("kubeiam server install: the authenticator's objects from the spec (cluster ID %s)", e.Rig.ClusterID)
	args := []string{"server", "install", "-f", e.SpecFile(), "--kubeconfig", e.Rig.AdminKubeconfig,
		"--cluster-id", e.Rig.ClusterID, "--image", ServerImage}
	if e.Rig.Node != "" {
		e.say("the DaemonSet runs on node %s; its hostPath files are the ones server init wrote to %s", e.Rig.Node, rig.InitDir)
		args = append(args, "--cert-dir", rig.InitDir)
	} else {
		e.say("no node (%s): the rig runs aws-iam-authenticator itself, so the DaemonSet", e.Rig.NodeSkip)
		e.say("is applied but never scheduled; the running server reads the aws-auth install writes")
	}
	if err := e.kubeiam(ctx, append(args, e.WaitArgs()...)...).Err; err != nil {
		return err
	}
	if e.Rig.Node != "" {
		return e.admin(ctx, "", "-n", "kube-system", "get", "pods", "-l", "k8s-app=aws-iam-authenticator", "-o", "wide")
	}
	return nil
}

// EditAndSync is the GitOps flow for a mapping change: `kubeiam mappings
// ARGS -f SPEC` edits the spec in place (shown first as a --dry-run diff,
// the change a user would commit), then `kubeiam server sync` applies it.
// want is a line sync must print, so a sync that quietly did nothing fails
// here rather than as a timeout later.
func (e *Env) EditAndSync(ctx context.Context, want string, args ...string) error {
	edit := append([]string{"mappings"}, args...)
	edit = append(edit, "-f", e.SpecFile())
	if res := e.kubeiam(ctx, append(edit, "--dry-run")...); res.Err != nil {
		return res.Err
	}
	if res := e.kubeiam(ctx, edit...); res.Err != nil {
		return res.Err
	}
	res := e.kubeiam(ctx, "server", "sync", "-f", e.SpecFile(), "--kubeconfig", e.Rig.AdminKubeconfig)
	if res.Err != nil {
		return res.Err
	}
	if !strings.Contains(res.Stderr, want) {
		return fmt.Errorf("kubeiam server sync did not report %q:\n%s", want, res.Stderr)
	}
	return nil
}
