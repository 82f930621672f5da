// Package scenario holds the e2e scenarios as plain functions over a running
// rig, so the Go tests (e2e/scenarios_test.go) and `make demo` run the very
// same steps; the demo only narrates them more loudly.
package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/e2e/internal/rig"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// Env is what every scenario needs.
type Env struct {
	Rig *rig.Rig
	// Out receives the narration: each step, each kubectl command and its
	// output.
	Out io.Writer
	// Token says how a kubeconfig's exec block makes tokens: kubeiam or
	// aws-iam-authenticator.
	Token TokenCommand
	// Modes is the spec's backendMode; [EKSConfigMap] when empty.
	Modes []string
}

// TokenCommand builds the exec block of a kubeconfig for a cluster ID and,
// optionally, a role to assume.
type TokenCommand struct {
	Name string
	Exec func(clusterID, roleARN string) rig.Exec
}

// Kubeiam runs `kubeiam token -i ID [-r ROLE]` with the token cache off,
// so every kubectl call signs afresh and the scenarios see the server's
// current answer (modulo the apiserver's own cache).
func Kubeiam(bin string) TokenCommand {
	return TokenCommand{Name: "kubeiam", Exec: func(clusterID, role string) rig.Exec {
		args := []string{"token", "-i", clusterID}
		if role != "" {
			args = append(args, "-r", role, "-s", "e2e-session")
		}
		return rig.Exec{Command: bin, Args: args, Env: [][2]string{{"KUBEIAM_CACHE", "none"}}}
	}}
}

// Authenticator runs aws-iam-authenticator v0.7.2's own `token`, which
// signs for the global endpoint: the rig's reference client.
func Authenticator(bin string) TokenCommand {
	return TokenCommand{Name: "aws-iam-authenticator", Exec: func(clusterID, role string) rig.Exec {
		args := []string{"token", "-i", clusterID}
		if role != "" {
			args = append(args, "-r", role, "-s", "e2e-session")
		}
		return rig.Exec{Command: bin, Args: args}
	}}
}

// The seed's mappings: a role that administers the cluster and a user that
// may only look.
var (
	AdminRoleARN = "arn:aws:iam::" + ststest.AccountA + ":role/KubeAdmin"
	SeedUser     = "alice"
	// RoleCaller assumes AdminRoleARN; bob has no mapping of his own, so
	// any access he gets comes from the role.
	RoleCaller = "bob"
	ViewGroup  = "e2e:viewers"
)

// Mapping is one aws-auth entry.
type Mapping struct {
	ARN      string
	Username string
	Groups   []string
}

func (e *Env) step(format string, args ...any) {
	fmt.Fprintf(e.Out, "\n==> "+format+"\n", args...)
}

func (e *Env) say(format string, args ...any) {
	fmt.Fprintf(e.Out, "    "+format+"\n", args...)
}

// kubectl runs and narrates one kubectl command.
func (e *Env) kubectl(ctx context.Context, who, kubeconfig string, env []string, stdin string, args ...string) rig.Result {
	fmt.Fprintf(e.Out, "  [%s] $ kubectl %s\n", who, strings.Join(args, " "))
	res := e.Rig.Kubectl(ctx, kubeconfig, env, stdin, args...)
	for _, s := range []string{res.Stdout, res.Stderr} {
		for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			if l != "" {
				fmt.Fprintf(e.Out, "      %s\n", l)
			}
		}
	}
	return res
}

func (e *Env) admin(ctx context.Context, stdin string, args ...string) error {
	return e.kubectl(ctx, "admin", e.Rig.AdminKubeconfig, nil, stdin, args...).Err
}

// Whoami is the part of `kubectl auth whoami -o json` the scenarios check.
type Whoami struct {
	Username string
	Groups   []string
	Extra    map[string][]string
}

// user is a kubeconfig plus environment acting as one AWS identity.
type user struct {
	label      string
	kubeconfig string
	env        []string
}

func (e *Env) user(label string, id ststest.Identity, clusterID, role string) (user, error) {
	x := e.Token.Exec(clusterID, role)
	kc, err := e.Rig.UserKubeconfig(strings.NewReplacer("/", "-", ":", "-").Replace(label), &x)
	if err != nil {
		return user{}, err
	}
	return user{label: label, kubeconfig: kc, env: e.Rig.ClientEnv(id)}, nil
}

func (e *Env) whoami(ctx context.Context, u user) (Whoami, rig.Result) {
	res := e.kubectl(ctx, u.label, u.kubeconfig, u.env, "", "auth", "whoami", "-o", "json")
	var w struct {
		Status struct {
			UserInfo Whoami `json:"userInfo"`
		} `json:"status"`
	}
	if res.Err == nil {
		if err := json.Unmarshal([]byte(res.Stdout), &w); err != nil {
			res.Err = fmt.Errorf("could not parse whoami output: %w", err)
		}
	}
	return w.Status.UserInfo, res
}

// expectUser checks that u is authenticated as username with group.
func (e *Env) expectUser(ctx context.Context, u user, usernamePrefix, group string) error {
	w, res := e.whoami(ctx, u)
	if res.Err != nil {
		return fmt.Errorf("%s: whoami failed: %w\n%s", u.label, res.Err, res.Stderr)
	}
	if !strings.HasPrefix(w.Username, usernamePrefix) || !slices.Contains(w.Groups, group) {
		return fmt.Errorf("%s: whoami = %q %v, want username %q… in group %q", u.label, w.Username, w.Groups, usernamePrefix, group)
	}
	return nil
}

// expectDenied checks that u is not authenticated at all.
func (e *Env) expectDenied(ctx context.Context, u user) error {
	_, res := e.whoami(ctx, u)
	if res.Err == nil {
		return fmt.Errorf("%s: whoami succeeded, want Unauthorized:\n%s", u.label, res.Stdout)
	}
	if !strings.Contains(res.Stderr, "Unauthorized") {
		return fmt.Errorf("%s: whoami failed for another reason than Unauthorized: %v\n%s", u.label, res.Err, res.Stderr)
	}
	return nil
}

// eventually retries check every 2 s. Mapping changes reach the
// authenticator through its ConfigMap informer, and the apiserver caches
// webhook answers for ~10 s per token, so a change shows within seconds but
// not at once.
func (e *Env) eventually(ctx context.Context, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		e.say("(not yet; retrying in 2s)")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}
