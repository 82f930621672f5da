package rig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// AuthenticatorOptions say how the rig runs the aws-iam-authenticator
// server; the zero value is the rig's default (EKSConfigMap, as admin).
type AuthenticatorOptions struct {
	// BackendModes is --backend-mode in the server's order, e.g. the
	// spec's [CRD, EKSConfigMap]; EKSConfigMap when empty.
	BackendModes []string
	// As is the user the server's API client impersonates, e.g.
	// system:serviceaccount:kube-system:aws-iam-authenticator, so it has
	// exactly the RBAC an install gave that account; the rig's admin when
	// empty.
	As string
}

func (o AuthenticatorOptions) modes() string {
	if len(o.BackendModes) == 0 {
		return "EKSConfigMap"
	}
	return strings.Join(o.BackendModes, ",")
}

// RestartAuthenticator stops the authenticator server and starts it again
// with o, on the same port (the apiserver's webhook config stays valid),
// and waits until it serves. Restart with the zero value to go back to the
// default.
//
// With a node there is no rig process to restart: the server is the
// DaemonSet's pod, whose --backend-mode is what kubeiam rendered from the
// spec that was installed, under its own ServiceAccount. Then this waits
// for the DaemonSet's rollout instead (nothing when it is not installed).
func (r *Rig) RestartAuthenticator(ctx context.Context, o AuthenticatorOptions) error {
	if r.Node != "" {
		r.logf("the server is the DaemonSet's pod (backend modes as rendered from the installed spec); waiting for its rollout")
		if res := r.Kubectl(ctx, r.AdminKubeconfig, nil, "", "-n", "kube-system", "get", "daemonset", "aws-iam-authenticator"); res.Err != nil {
			return nil
		}
		if res := r.Kubectl(ctx, r.AdminKubeconfig, nil, "", "-n", "kube-system", "rollout", "status", "daemonset/aws-iam-authenticator", "--timeout=2m"); res.Err != nil {
			return fmt.Errorf("could not see the DaemonSet roll out: %v: %s", res.Err, res.Stderr)
		}
		return nil
	}
	i := slices.IndexFunc(r.procs, func(p *proc) bool { return p.name == "aws-iam-authenticator" })
	if i < 0 {
		return fmt.Errorf("could not restart the authenticator: it is not running")
	}
	r.procs[i].stop()
	// Keep the old log apart: the new process writes a fresh one.
	_ = os.Rename(r.procs[i].log, r.procs[i].log+"."+strconv.Itoa(r.procs[i].cmd.Process.Pid))
	r.procs = slices.Delete(r.procs, i, i+1)
	r.auth = o
	as := "the admin"
	if o.As != "" {
		as = o.As
	}
	r.logf("restarting aws-iam-authenticator with --backend-mode=%s, reaching the API as %s", o.modes(), as)
	return r.startAuthenticator(ctx)
}

// AuthenticatorLog is the running authenticator server's log file.
func (r *Rig) AuthenticatorLog() string {
	return filepath.Join(r.Dir, "logs", "aws-iam-authenticator.log")
}

// authenticatorKubeconfig is the kubeconfig the server reaches the API
// with: the admin's, impersonating r.auth.As when set.
func (r *Rig) authenticatorKubeconfig() (string, error) {
	if r.auth.As == "" {
		return r.AdminKubeconfig, nil
	}
	b, err := os.ReadFile(r.AdminKubeconfig)
	if err != nil {
		return "", fmt.Errorf("could not read admin kubeconfig: %w", err)
	}
	s := strings.Replace(string(b), "\n  user:\n", "\n  user:\n    as: "+strconv.Quote(r.auth.As)+"\n", 1)
	path := filepath.Join(r.Dir, "authenticator", "server.kubeconfig")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		return "", fmt.Errorf("could not write authenticator kubeconfig: %w", err)
	}
	return path, nil
}
