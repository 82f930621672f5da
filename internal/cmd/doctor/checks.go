package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/internal/buildinfo"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/kubeconfig"
	"github.com/kubeiam/kubeiam/token/execargs"
)

// target is the context under examination and how its exec block asks for
// a token.
type target struct {
	// signIn, when not empty, is the sign-in the credentials wait for
	// (an SSO session nobody is signed in to): they are not loaded.
	signIn string

	merged  *clientcmdapi.Config
	context string
	exec    *clientcmdapi.ExecConfig
	id      kubeconfig.Identity
	// req holds the exec block's token flags as kubeiam reads them; getenv
	// is the process environment overlaid with the exec block's env, which
	// is what the plugin sees when kubectl runs it.
	req    execargs.Request
	getenv func(string) string
	// aws tells whether the exec block is one of the AWS IAM clients, so the
	// AWS checks apply.
	aws bool
}

// Diagnose runs every check and returns the report; it never fails as a
// whole, a check that cannot run says so in its own line.
func Diagnose(ctx context.Context, opts *Options) *Report {
	rep := &Report{}
	tgt := checkKubeconfig(rep, opts)
	if tgt != nil {
		rep.Context, rep.ClusterID = tgt.context, tgt.req.ClusterID
		checkExecs(ctx, rep, opts, tgt)
	}
	getenv := opts.Getenv
	req := &execargs.Request{}
	if tgt != nil {
		getenv, req = tgt.getenv, &tgt.req
	}
	if tgt != nil && tgt.aws {
		tgt.signIn = checkSignIn(ctx, rep, opts, tgt)
		checkAWS(ctx, rep, opts, tgt)
	} else {
		rep.skip("credentials", "the context does not log in with AWS IAM")
	}
	checkCache(ctx, rep, opts, req, getenv)
	checkEKSA(rep, opts, tgt)
	return rep
}

func checkKubeconfig(rep *Report, opts *Options) *target {
	const name = "kubeconfig"
	files := kubeconfig.DefaultFiles(opts.Kubeconfig)
	loaded, err := kubeconfig.LoadFiles(files)
	if err != nil {
		rep.failErr(name, err, "fix the file's YAML, or point KUBECONFIG elsewhere")
		return nil
	}
	present := 0
	for _, c := range loaded.Configs {
		if c != nil {
			present++
		}
	}
	if present == 0 {
		rep.fail(name, "kubeiam kubeconfig write --cluster NAME --cluster-id ID --server URL, or set KUBECONFIG",
			"no kubeconfig file at %s", strings.Join(files, ", "))
		return nil
	}
	merged := loaded.Merged()
	ctxName := opts.Context
	if ctxName == "" {
		ctxName = merged.CurrentContext
	}
	if ctxName == "" {
		rep.fail(name, "kubeiam use CONTEXT (or pass --context)", "no current context in %s (contexts: %s)",
			strings.Join(files, ", "), strings.Join(slices.Sorted(maps.Keys(merged.Contexts)), ", "))
		return &target{merged: merged, getenv: opts.Getenv}
	}
	file, user, err := loaded.UserFile(ctxName)
	if err != nil {
		rep.failErr(name, err, "kubectl config get-contexts lists the contexts")
		return &target{merged: merged, getenv: opts.Getenv}
	}
	tgt := &target{merged: merged, context: ctxName, getenv: opts.Getenv}
	ai := merged.AuthInfos[user]
	if ai == nil || ai.Exec == nil {
		rep.warn(name, "kubeiam kubeconfig write (or adopt) sets up IAM login for a cluster",
			"context %q (user %q in %s) does not log in through an exec plugin, so not with AWS IAM", ctxName, user, file)
		return tgt
	}
	tgt.exec = ai.Exec
	tgt.getenv = overlay(opts.Getenv, ai.Exec.Env)
	id, known := kubeconfig.IdentityOf(ai.Exec)
	tgt.id = id
	if !known {
		rep.warn(name, "", "context %q runs %q, which is not kubeiam, aws-iam-authenticator or aws; the AWS checks do not apply", ctxName, ai.Exec.Command)
		return tgt
	}
	tgt.aws = true
	tgt.req, _ = kubeconfig.TokenRequest(ai.Exec)
	tgt.req.ClusterIDFrom(tgt.getenv)
	if ai.Exec.APIVersion == "client.authentication.k8s.io/v1alpha1" {
		rep.fail(name, fmt.Sprintf("set the exec apiVersion of user %q in %s to %s", user, file, kubeconfig.ExecAPIv1beta1),
			"context %q uses exec apiVersion client.authentication.k8s.io/v1alpha1, which kubectl dropped in Kubernetes 1.24", ctxName)
		return tgt
	}
	if tgt.req.ClusterID == "" {
		rep.fail(name, "kubeiam kubeconfig write --cluster-id ID (EKS-A keeps it in ConfigMap kube-system/aws-iam-authenticator)",
			"context %q: the exec block names no cluster ID (-i)", ctxName)
		return tgt
	}
	msg := fmt.Sprintf("context %q in %s: %s, cluster ID %s", ctxName, file, id.Client, tgt.req.ClusterID)
	if p := profileOf(tgt); p != "" {
		msg += ", profile " + p
	}
	if tgt.req.RoleARN != "" {
		msg += ", role " + tgt.req.RoleARN
	}
	if id.Client != kubeconfig.ClientKubeiam {
		msg += fmt.Sprintf(" (kubeiam kubeconfig adopt %s switches it to kubeiam)", ctxName)
	}
	rep.ok(name, "%s", msg)
	return tgt
}

// profileOf is the profile the plugin will use: its flag, else AWS_PROFILE
// as the plugin sees it.
func profileOf(tgt *target) string {
	if tgt.req.Profile != "" {
		return tgt.req.Profile
	}
	return firstNonEmpty(tgt.getenv("AWS_PROFILE"), tgt.getenv("AWS_DEFAULT_PROFILE"))
}

func overlay(getenv func(string) string, env []clientcmdapi.ExecEnvVar) func(string) string {
	if len(env) == 0 {
		return getenv
	}
	m := map[string]string{}
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return func(k string) string {
		if v, ok := m[k]; ok {
			return v
		}
		return getenv(k)
	}
}

// checkExecs looks up the exec command of each context (only the chosen one
// with --context), once per distinct command, and asks it for its version.
func checkExecs(ctx context.Context, rep *Report, opts *Options, tgt *target) {
	type use struct {
		exec     *clientcmdapi.ExecConfig
		origin   string
		contexts []string
	}
	byCommand := map[string]*use{}
	var order []string
	for _, name := range slices.Sorted(maps.Keys(tgt.merged.Contexts)) {
		if opts.Context != "" && name != opts.Context {
			continue
		}
		c := tgt.merged.Contexts[name]
		ai := tgt.merged.AuthInfos[c.AuthInfo]
		if ai == nil || ai.Exec == nil {
			continue
		}
		u := byCommand[ai.Exec.Command]
		if u == nil {
			u = &use{exec: ai.Exec, origin: ai.LocationOfOrigin}
			byCommand[ai.Exec.Command] = u
			order = append(order, ai.Exec.Command)
		}
		u.contexts = append(u.contexts, name)
	}
	if len(order) == 0 {
		rep.skip("exec", "no context runs an exec plugin")
		return
	}
	for _, command := range order {
		u := byCommand[command]
		checkExec(ctx, rep, opts, command, u.exec, u.origin, u.contexts)
	}
}

func checkExec(ctx context.Context, rep *Report, opts *Options, command string, e *clientcmdapi.ExecConfig, origin string, contexts []string) {
	const name = "exec"
	which := fmt.Sprintf("%s (context %s)", command, strings.Join(contexts, ", "))
	if len(contexts) > 1 {
		which = fmt.Sprintf("%s (contexts %s)", command, strings.Join(contexts, ", "))
	}
	client := kubeconfig.ClientOf(command)
	path, err := resolveCommand(command, origin, opts.LookPath)
	if err != nil {
		rep.fail(name, installFix(client, e, contexts[0]), "%s: %v", which, err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	switch client {
	case kubeconfig.ClientKubeiam:
		out, err := run(ctx, path, "version", "-o", "json")
		if err != nil {
			rep.fail(name, "install kubeiam and kubeiam-core side by side: go install github.com/kubeiam/kubeiam/cmd/...@latest",
				"%s at %s does not run: %v", which, path, err)
			return
		}
		var info buildinfo.Info
		if err := json.Unmarshal(out, &info); err != nil {
			rep.warn(name, "reinstall kubeiam", "%s at %s: could not read its version: %v", which, path, err)
			return
		}
		if self := buildinfo.Get(); info.Version != self.Version {
			rep.warn(name, fmt.Sprintf("install the same kubeiam everywhere: %s is %s, this doctor is %s", path, info.Version, self.Version),
				"%s at %s is version %s, not %s", which, path, info.Version, self.Version)
			return
		}
		rep.ok(name, "%s: %s, version %s", which, path, info.Version)
	case kubeconfig.ClientAuthenticator:
		out, err := run(ctx, path, "version")
		if err != nil {
			rep.fail(name, installFix(client, e, contexts[0]), "%s at %s does not run: %v", which, path, err)
			return
		}
		var v struct{ Version string }
		if json.Unmarshal(out, &v) != nil || v.Version == "" {
			v.Version = firstLine(out)
		}
		rep.ok(name, "%s: %s, version %s", which, path, v.Version)
	case kubeconfig.ClientAWSCLI:
		out, err := run(ctx, path, "--version")
		if err != nil {
			rep.fail(name, installFix(client, e, contexts[0]), "%s at %s does not run: %v", which, path, err)
			return
		}
		v := firstLine(out)
		// `aws eks get-token` arrived in AWS CLI 1.16.156; v2 always had it.
		if strings.HasPrefix(v, "aws-cli/1.") && versionLess(strings.TrimPrefix(strings.Fields(v)[0], "aws-cli/"), "1.16.156") {
			rep.fail(name, "upgrade to AWS CLI v2, or kubeiam kubeconfig adopt "+contexts[0], "%s at %s is %s, older than 1.16.156 (no eks get-token)", which, path, v)
			return
		}
		rep.ok(name, "%s: %s, %s", which, path, v)
	default:
		rep.ok(name, "%s: %s", which, path)
	}
}

// resolveCommand finds an exec command as client-go does: a bare name on
// PATH, a relative path against the kubeconfig file's folder.
func resolveCommand(command, origin string, lookPath func(string) (string, error)) (string, error) {
	if command == "" {
		return "", errors.New("the exec block has no command")
	}
	if !strings.ContainsAny(command, `/\`) {
		p, err := lookPath(command)
		if err != nil {
			return "", fmt.Errorf("not found on PATH")
		}
		return p, nil
	}
	p := command
	if !filepath.IsAbs(p) && origin != "" {
		p = filepath.Join(filepath.Dir(origin), p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("could not find %s", p)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", p)
	}
	return p, nil
}

func installFix(client kubeconfig.Client, e *clientcmdapi.ExecConfig, context string) string {
	switch client {
	case kubeconfig.ClientKubeiam:
		return "install kubeiam and kubeiam-core side by side on PATH: go install github.com/kubeiam/kubeiam/cmd/...@latest"
	case kubeconfig.ClientAuthenticator:
		return "kubeiam kubeconfig adopt " + context + " (or link kubeiam as aws-iam-authenticator on PATH)"
	case kubeconfig.ClientAWSCLI:
		return "install the AWS CLI v2, or kubeiam kubeconfig adopt " + context
	}
	if e.InstallHint != "" {
		return text.OneLine(e.InstallHint)
	}
	return "install " + e.Command + " or fix the exec command in the kubeconfig"
}

// run runs a command with an empty stdin and returns its stdout; on failure
// the error carries the first line of its stderr.
func run(ctx context.Context, path string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no answer: %w", ctx.Err())
		}
		if line := firstLine(stderr.Bytes()); line != "" {
			return nil, fmt.Errorf("%w: %s", err, line)
		}
		return nil, err
	}
	return stdout.Bytes(), nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// versionLess compares dotted numeric versions.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			fmt.Sscanf(as[i], "%d", &x)
		}
		if i < len(bs) {
			fmt.Sscanf(bs[i], "%d", &y)
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// checkEKSA checks the folder `eksctl anywhere create cluster` leaves:
// ./<cluster>/<cluster>-eks-a-cluster.kubeconfig (admin) and
// ./<cluster>/<cluster>-aws.kubeconfig (IAM users). Without --cluster it
// looks only when the context is named <cluster>-aws, as EKS-A names it, and
// the folder is there.
func checkEKSA(rep *Report, opts *Options, tgt *target) {
	const name = "eks-a"
	cluster, explicit := opts.Cluster, opts.Cluster != ""
	if !explicit && tgt != nil {
		cluster, _ = strings.CutSuffix(tgt.context, "-aws")
		if cluster == tgt.context {
			cluster = ""
		}
	}
	if cluster == "" {
		return
	}
	// The name becomes paths: only names kubeconfig write accepts.
	if err := kubeconfig.ValidateClusterName(cluster); err != nil {
		if explicit {
			rep.fail(name, "pass the EKS Anywhere cluster name", "%v", err)
		}
		return
	}
	if fi, err := os.Stat(cluster); err != nil || !fi.IsDir() {
		if explicit {
			rep.fail(name, "run doctor in the folder where eksctl anywhere create cluster ran",
				"no cluster folder ./%s", cluster)
		}
		return
	}
	awsPath, adminPath := kubeconfig.DefaultOutput(cluster), kubeconfig.DefaultAdminKubeconfig(cluster)
	fi, err := os.Stat(awsPath)
	switch {
	case err != nil:
		rep.fail(name, fmt.Sprintf("kubeiam kubeconfig write --cluster %s --cluster-id ID", cluster), "%s is missing", awsPath)
	case fi.Mode().Perm()&0o077 != 0:
		rep.warn(name, "chmod 0600 "+awsPath, "%s is readable by others (mode %04o; EKS-A writes 0600)", awsPath, fi.Mode().Perm())
	default:
		rep.ok(name, "%s present", awsPath)
	}
	if _, err := os.Stat(adminPath); err != nil {
		// IAM users are usually given only the -aws kubeconfig; the admin
		// one is needed to install the server side or read the cluster ID.
		rep.warn(name, "copy it from the machine that created the cluster if you install or upgrade the server side",
			"%s is missing (needed only for admin tasks)", adminPath)
	} else {
		rep.ok(name, "%s present", adminPath)
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
