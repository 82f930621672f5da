package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/e2e/internal/rig"
	"github.com/kubeiam/kubeiam/e2e/internal/scenario"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// whoamiReport is the part of `kubeiam whoami -o json` compared here.
type whoamiReport struct {
	CanonicalARN string `json:"canonicalARN"`
	Verified     bool   `json:"verified"`
	Mapped       bool   `json:"mapped"`
	Mapping      *struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"mapping"`
}

// kubeiamWhoami runs `kubeiam whoami --kubeconfig ADMIN -o json` as the
// user whose kubeconfig (KUBECONFIG) and environment are given.
func kubeiamWhoami(ctx context.Context, kubeconfig string, env []string) (whoamiReport, string, error) {
	cmd := exec.CommandContext(ctx, stack.Bins.Kubeiam, "whoami", "--kubeconfig", stack.AdminKubeconfig, "-o", "json")
	cmd.Env = append(env, "KUBECONFIG="+kubeconfig)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	runErr := cmd.Run()
	var rep whoamiReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return rep, errb.String(), fmt.Errorf("kubeiam whoami printed no report (%v): %v\n%s", runErr, err, errb.String())
	}
	return rep, errb.String(), runErr
}

// kubectlWhoami is what the cluster itself says: `kubectl auth whoami`.
func kubectlWhoami(ctx context.Context, kubeconfig string, env []string) (string, []string, rig.Result) {
	res := stack.Kubectl(ctx, kubeconfig, env, "", "auth", "whoami", "-o", "json")
	var w struct {
		Status struct {
			UserInfo struct {
				Username string
				Groups   []string
			} `json:"userInfo"`
		} `json:"status"`
	}
	if res.Err == nil {
		if err := json.Unmarshal([]byte(res.Stdout), &w); err != nil {
			res.Err = err
		}
	}
	return w.Status.UserInfo.Username, w.Status.UserInfo.Groups, res
}

// TestWhoami: kubeiam whoami, reading aws-auth through the admin
// kubeconfig and asking the rig's STS with the user's own context, predicts
// exactly the username and groups `kubectl auth whoami` then reports, for a
// mapped user and for a role session with a {{SessionName}} template; and
// says denied (non-zero exit) where kubectl gets Unauthorized.
func TestWhoami(t *testing.T) {
	env, ctx := kubeiamEnv(t)
	users, roles := scenario.SeedMappings()
	if err := env.Install(ctx, users, roles); err != nil {
		t.Fatal(err)
	}
	token := scenario.Kubeiam(stack.Bins.Kubeiam)
	kubeconfigFor := func(t *testing.T, name, role string) string {
		x := token.Exec(stack.ClusterID, role)
		kc, err := stack.UserKubeconfig(name, &x)
		if err != nil {
			t.Fatal(err)
		}
		return kc
	}

	for _, c := range []struct {
		name, who, role string
		canonical       string
	}{
		{"user", scenario.SeedUser, "", "arn:aws:iam::" + ststest.AccountA + ":user/" + scenario.SeedUser},
		{"role", scenario.RoleCaller, scenario.AdminRoleARN, scenario.AdminRoleARN},
	} {
		t.Run(c.name, func(t *testing.T) {
			kc := kubeconfigFor(t, "whoami-"+c.name, c.role)
			cenv := stack.ClientEnv(stack.STS.Identity(c.who))
			rep, stderr, err := kubeiamWhoami(ctx, kc, cenv)
			if err != nil {
				t.Fatalf("kubeiam whoami: %v\n%s", err, stderr)
			}
			if !rep.Verified || !rep.Mapped || rep.Mapping == nil || rep.CanonicalARN != c.canonical {
				t.Fatalf("report %+v", rep)
			}
			// aws-auth was just applied; the authenticator's informer may
			// need a moment before kubectl sees the mapping.
			deadline := time.Now().Add(30 * time.Second)
			for {
				user, groups, res := kubectlWhoami(ctx, kc, cenv)
				if res.Err == nil {
					// The apiserver adds system:authenticated itself.
					groups = slices.DeleteFunc(groups, func(g string) bool { return g == "system:authenticated" })
					if user != rep.Mapping.Username || !slices.Equal(groups, rep.Mapping.Groups) {
						t.Errorf("kubeiam whoami says %q %v, kubectl auth whoami %q %v", rep.Mapping.Username, rep.Mapping.Groups, user, groups)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("kubectl auth whoami: %v\n%s", res.Err, res.Stderr)
				}
				time.Sleep(2 * time.Second)
			}
		})
	}

	t.Run("unmapped", func(t *testing.T) {
		nobody := stack.STS.NewUser(ststest.AccountA, "whoami-nobody")
		kc := kubeconfigFor(t, "whoami-nobody", "")
		cenv := stack.ClientEnv(nobody)
		rep, stderr, err := kubeiamWhoami(ctx, kc, cenv)
		if err == nil || rep.Mapped || !rep.Verified || rep.CanonicalARN != nobody.ARN {
			t.Fatalf("kubeiam whoami = %+v, %v; want a verified, unmapped identity and an error", rep, err)
		}
		if !strings.Contains(stderr, "no mapping: the server will deny this identity") {
			t.Errorf("stderr:\n%s", stderr)
		}
		if _, _, res := kubectlWhoami(ctx, kc, cenv); res.Err == nil || !strings.Contains(res.Stderr, "Unauthorized") {
			t.Errorf("kubectl auth whoami: %v\n%s%s", res.Err, res.Stdout, res.Stderr)
		}
	})
}
