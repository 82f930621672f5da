package kubeconfig

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/internal/input"
)

// Adoption is the outcome for one context.
type Adoption struct {
	Context string
	User    string
	// Adopted is false when the context was left alone; Reason says why.
	Adopted bool
	Reason  string
	From    []string // old command line
	To      []string // new command line
}

// Adopt switches the exec blocks of the named contexts (all when names is
// empty) from `aws-iam-authenticator token …` or `aws eks get-token …` to the
// equivalent `kubeiam token …`, keeping the identity: the cluster ID, role,
// external ID, session name, region and the profile (moved from AWS_PROFILE
// to --profile). An exec block with a flag that has no kubeiam equivalent is
// left unchanged and reported, rather than converted to something that logs
// in as someone else.
func Adopt(cfg *clientcmdapi.Config, names []string) ([]Adoption, error) {
	all := len(names) == 0
	if all {
		names = slices.Sorted(maps.Keys(cfg.Contexts))
	}
	var out []Adoption
	done := map[string]bool{}
	for _, name := range names {
		c, ok := cfg.Contexts[name]
		if !ok {
			return nil, &ContextNotFoundError{Name: name, Files: []string{c0(cfg)}, Known: slices.Sorted(maps.Keys(cfg.Contexts))}
		}
		a := Adoption{Context: name, User: c.AuthInfo}
		u, ok := cfg.AuthInfos[c.AuthInfo]
		switch {
		case !ok:
			a.Reason = fmt.Sprintf("user %q is not defined", c.AuthInfo)
		case u.Exec == nil:
			a.Reason = "no exec plugin"
		case done[c.AuthInfo]:
			a.Adopted, a.Reason = true, "user already adopted through another context"
		default:
			a.From = append([]string{u.Exec.Command}, u.Exec.Args...)
			e, reason := adoptExec(u.Exec)
			if e == nil {
				a.Reason = reason
			} else {
				u.Exec = e
				a.Adopted = true
				a.To = append([]string{e.Command}, e.Args...)
				done[c.AuthInfo] = true
			}
		}
		// With --all, say nothing about contexts that never were IAM ones.
		if all && !a.Adopted && (a.Reason == "no exec plugin" || strings.HasPrefix(a.Reason, "not an IAM")) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

func c0(cfg *clientcmdapi.Config) string {
	for _, c := range cfg.Contexts {
		return c.LocationOfOrigin
	}
	return "kubeconfig"
}

// tokenArgs is the identity an upstream exec block carries, in kubeiam's terms.
type tokenArgs struct {
	clusterID, role, externalID, sessionName, region, profile string
	forwardSession                                            bool
}

func (t tokenArgs) kubeiam() []string {
	args := []string{"token", "-i", t.clusterID}
	add := func(flag, v string) {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	add("--role-arn", t.role)
	add("--external-id", t.externalID)
	add("--session-name", t.sessionName)
	if t.forwardSession {
		args = append(args, "--forward-session-name")
	}
	add("--region", t.region)
	add("--profile", t.profile)
	return args
}

// check refuses to carry over what kubeiam would not write itself: control
// characters anywhere, a role that is not an IAM role ARN (kubeiam token
// refuses it before calling STS), a cluster ID with whitespace. The entry is
// then left as it is, with the reason.
func (t tokenArgs) check(env []clientcmdapi.ExecEnvVar) string {
	if err := input.ClusterID("cluster ID", t.clusterID); err != nil {
		return err.Error()
	}
	if err := ValidateRoleARN("role", t.role); err != nil {
		return err.Error()
	}
	for _, f := range []struct{ name, v string }{
		{"external ID", t.externalID}, {"session name", t.sessionName}, {"region", t.region}, {"profile", t.profile},
	} {
		if err := input.Text(f.name, f.v); err != nil {
			return err.Error()
		}
	}
	for _, e := range env {
		if err := input.Env("env", e.Name+"="+e.Value); err != nil {
			return err.Error()
		}
	}
	return ""
}

func adoptExec(old *clientcmdapi.ExecConfig) (*clientcmdapi.ExecConfig, string) {
	var t tokenArgs
	var reason string
	switch ClientOf(old.Command) {
	case ClientKubeiam:
		return nil, "already kubeiam"
	case ClientAuthenticator:
		t, reason = parseAuthenticator(old.Args)
	case ClientAWSCLI:
		t, reason = parseAWSCLI(old.Args)
	default:
		return nil, fmt.Sprintf("not an IAM exec plugin (%s)", old.Command)
	}
	if reason != "" {
		return nil, reason
	}
	if t.clusterID == "" {
		return nil, "no cluster ID in the exec arguments"
	}
	env := old.Env
	if p := envValue(env, "AWS_PROFILE"); p != "" && t.profile == "" {
		t.profile = p
	}
	if reason := t.check(env); reason != "" {
		return nil, reason
	}
	env = withEnv(env, "AWS_PROFILE", "")
	apiVersion := old.APIVersion
	if apiVersion != ExecAPIv1 {
		// v1alpha1 is gone from client-go since Kubernetes 1.24.
		apiVersion = ExecAPIv1beta1
	}
	mode := old.InteractiveMode
	if mode == "" {
		mode = clientcmdapi.IfAvailableExecInteractiveMode
	}
	return &clientcmdapi.ExecConfig{
		APIVersion:         apiVersion,
		Command:            string(ClientKubeiam),
		Args:               t.kubeiam(),
		Env:                env,
		InteractiveMode:    mode,
		ProvideClusterInfo: old.ProvideClusterInfo,
		InstallHint:        installHint(ClientKubeiam),
	}, ""
}

// parseFlags walks "--flag value", "--flag=value" and bool flags; value
// flags are named in vals, bool flags in bools, anything else is refused.
func parseFlags(args []string, vals map[string]*string, bools map[string]*bool) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, v, hasEq := strings.Cut(a, "=")
		if p, ok := vals[name]; ok {
			if !hasEq {
				if i+1 >= len(args) {
					return fmt.Sprintf("flag %s has no value", name)
				}
				i++
				v = args[i]
			}
			*p = v
			continue
		}
		if p, ok := bools[name]; ok {
			*p = !hasEq || v == "true"
			continue
		}
		return fmt.Sprintf("argument %q has no kubeiam equivalent", a)
	}
	return ""
}

func parseAuthenticator(args []string) (tokenArgs, string) {
	var t tokenArgs
	if len(args) == 0 || args[0] != "token" {
		return t, "not an `aws-iam-authenticator token` call"
	}
	var cache, tokenOnly bool
	reason := parseFlags(args[1:], map[string]*string{
		"-i": &t.clusterID, "--cluster-id": &t.clusterID,
		"-r": &t.role, "--role": &t.role,
		"-e": &t.externalID, "--external-id": &t.externalID,
		"-s": &t.sessionName, "--session-name": &t.sessionName,
		"--region": &t.region,
	}, map[string]*bool{
		"--forward-session-name": &t.forwardSession,
		// kubeiam caches on its own; the flag changes no identity.
		"--cache":      &cache,
		"--token-only": &tokenOnly,
	})
	if reason == "" && tokenOnly {
		reason = "--token-only output is not an ExecCredential"
	}
	return t, reason
}

func parseAWSCLI(args []string) (tokenArgs, string) {
	var t tokenArgs
	// Global options may stand before and after `eks get-token`.
	var rest []string
	var output string
	var words []string
	for i := 0; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") {
			words = append(words, args[i])
			continue
		}
		rest = append(rest, args[i])
		if !strings.Contains(args[i], "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && takesValue(args[i]) {
			rest = append(rest, args[i+1])
			i++
		}
	}
	if len(words) != 2 || words[0] != "eks" || words[1] != "get-token" {
		return t, "not an `aws eks get-token` call"
	}
	reason := parseFlags(rest, map[string]*string{
		"--cluster-name": &t.clusterID, "--cluster-id": &t.clusterID,
		// `aws eks update-kubeconfig --role-arn R` writes `--role R`, which
		// the CLI's argparse takes as an abbreviation of --role-arn.
		"--role-arn": &t.role, "--role": &t.role, "--region": &t.region, "--profile": &t.profile,
		"--output": &output,
	}, nil)
	return t, reason
}

// takesValue lists the aws CLI options that take a value, to tell option
// values from the `eks get-token` words.
func takesValue(flag string) bool {
	switch flag {
	case "--cluster-name", "--cluster-id", "--role-arn", "--role", "--region", "--profile", "--output", "--endpoint-url", "--query", "--color", "--cli-read-timeout", "--cli-connect-timeout", "--ca-bundle":
		return true
	}
	return false
}
