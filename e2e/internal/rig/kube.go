package rig

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

// ClientEnv is the environment of a kubectl (and so of its exec plugin)
// acting as id: the identity's keys and nothing else from AWS (no profiles,
// no IMDS), STS through the stand-in, and kubectl's cache inside the rig
// directory so nothing is written to ~/.kube.
func (r *Rig) ClientEnv(id ststest.Identity) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), strings.HasPrefix(k, "KUBEIAM_"), k == "KUBECONFIG",
			strings.EqualFold(k, "HTTPS_PROXY"), strings.EqualFold(k, "HTTP_PROXY"), strings.EqualFold(k, "NO_PROXY"), k == "SSL_CERT_FILE":
		default:
			env = append(env, kv)
		}
	}
	env = append(env, r.ProxyEnv()...)
	env = append(env,
		"AWS_ACCESS_KEY_ID="+id.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+id.SecretAccessKey,
		"AWS_REGION=us-west-2",
		"AWS_CONFIG_FILE="+filepath.Join(r.Dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(r.Dir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"KUBECACHEDIR="+filepath.Join(r.Dir, "kubecache"),
	)
	if id.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+id.SessionToken)
	}
	return env
}

// Result is one finished kubectl run.
type Result struct {
	Args           []string
	Stdout, Stderr string
	Err            error
}

// Kubectl runs kubectl against kubeconfig with env (nil: the admin's
// environment).
func (r *Rig) Kubectl(ctx context.Context, kubeconfig string, env []string, stdin string, args ...string) Result {
	full := append([]string{"--kubeconfig=" + kubeconfig}, args...)
	cmd := exec.CommandContext(ctx, r.Bins.Kubectl, full...)
	if env == nil {
		env = append(os.Environ(), "KUBECACHEDIR="+filepath.Join(r.Dir, "kubecache"), "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	}
	cmd.Env = env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return Result{Args: args, Stdout: out.String(), Stderr: errb.String(), Err: err}
}
