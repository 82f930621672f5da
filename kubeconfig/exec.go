package kubeconfig

import (
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/token/execargs"
)

// Exec plugin API versions as they appear in a kubeconfig.
const (
	ExecAPIv1      = "client.authentication.k8s.io/v1"
	ExecAPIv1beta1 = "client.authentication.k8s.io/v1beta1"
)

// Client is the kind of credential plugin an exec block calls.
type Client string

// The plugins kubeiam recognises in an exec block; ClientOther is any other
// command, which kubeiam leaves alone.
const (
	ClientKubeiam       Client = "kubeiam"
	ClientAuthenticator Client = "aws-iam-authenticator"
	ClientAWSCLI        Client = "aws"
	ClientOther         Client = ""
)

// ClientOf names the plugin an exec command runs, by the base name of the
// command (absolute paths and .exe are common in written kubeconfigs).
func ClientOf(command string) Client {
	base := strings.TrimSuffix(filepath.Base(filepath.ToSlash(command)), ".exe")
	switch Client(base) {
	case ClientKubeiam, ClientAuthenticator, ClientAWSCLI:
		return Client(base)
	}
	return ClientOther
}

// dialect is how one client spells the identity flags. The profile is an
// argument where the client has one: the issue with AWS_PROFILE in the exec
// env is that AWS_ACCESS_KEY_ID in the user's environment wins over it.
type dialect struct {
	cluster      []string
	role         []string
	roleCanon    string
	profile      []string // empty: the client only reads AWS_PROFILE
	profileCanon string
}

var dialects = map[Client]dialect{
	// kubeiam token also accepts aws-iam-authenticator's -r/--role, being a
	// drop-in for it; what it writes is --role-arn.
	ClientKubeiam:       {cluster: []string{"-i", "--cluster-id"}, role: []string{"--role-arn", "-r", "--role"}, roleCanon: "--role-arn", profile: []string{"--profile"}, profileCanon: "--profile"},
	ClientAuthenticator: {cluster: []string{"-i", "--cluster-id"}, role: []string{"-r", "--role"}, roleCanon: "-r"},
	ClientAWSCLI:        {cluster: []string{"--cluster-name", "--cluster-id"}, role: []string{"--role-arn", "--role"}, roleCanon: "--role-arn", profile: []string{"--profile"}, profileCanon: "--profile"},
}

// Identity is what an exec block says about who the user is on which cluster.
type Identity struct {
	Client    Client `json:"client"`
	Command   string `json:"command"`
	ClusterID string `json:"clusterID,omitempty"`
	Profile   string `json:"profile,omitempty"`
	RoleARN   string `json:"roleARN,omitempty"`
}

// IdentityOf reads the identity from an exec block; ok is false for exec
// blocks of other plugins.
func IdentityOf(e *clientcmdapi.ExecConfig) (Identity, bool) {
	if e == nil {
		return Identity{}, false
	}
	c := ClientOf(e.Command)
	d, ok := dialects[c]
	if !ok {
		return Identity{Command: e.Command}, false
	}
	id := Identity{Client: c, Command: e.Command}
	id.ClusterID, _ = flagValue(e.Args, d.cluster)
	id.RoleARN, _ = flagValue(e.Args, d.role)
	if p, ok := flagValue(e.Args, d.profile); ok {
		id.Profile = p
	} else {
		id.Profile = envValue(e.Env, "AWS_PROFILE")
	}
	return id, true
}

// flagValue returns the last value of any of the named flags, in either the
// "--flag value" or the "--flag=value" form (the last wins, as with pflag).
func flagValue(args []string, names []string) (string, bool) {
	var val string
	found := false
	for i := 0; i < len(args); i++ {
		for _, n := range names {
			switch {
			case args[i] == n && i+1 < len(args):
				val, found = args[i+1], true
				i++
			case strings.HasPrefix(args[i], n+"="):
				val, found = strings.TrimPrefix(args[i], n+"="), true
			default:
				continue
			}
			break
		}
	}
	return val, found
}

// withoutFlag drops every occurrence of the named flags with their values.
func withoutFlag(args []string, names []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		drop := false
		for _, n := range names {
			if args[i] == n && i+1 < len(args) {
				drop = true
				i++
				break
			}
			if strings.HasPrefix(args[i], n+"=") {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, args[i])
		}
	}
	return out
}

// withFlag replaces the named flags with "canon value", or just drops them
// when value is empty.
func withFlag(args []string, names []string, canon, value string) []string {
	args = withoutFlag(args, names)
	if value != "" {
		args = append(args, canon, value)
	}
	return args
}

func envValue(env []clientcmdapi.ExecEnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func withEnv(env []clientcmdapi.ExecEnvVar, name, value string) []clientcmdapi.ExecEnvVar {
	out := make([]clientcmdapi.ExecEnvVar, 0, len(env)+1)
	for _, e := range env {
		if e.Name != name {
			out = append(out, e)
		}
	}
	if value != "" {
		out = append(out, clientcmdapi.ExecEnvVar{Name: name, Value: value})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// TokenRequest reads an exec block the way the plugin will parse it, for
// commands that act as that plugin (doctor, whoami): kubeiam and its
// aws-iam-authenticator drop-in share the token flags; `aws eks get-token`
// spells cluster and role its own way, which IdentityOf knows. The cluster ID
// falls back to KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID in the exec env.
// Request.Profile is the flag's only; Identity.Profile also carries
// AWS_PROFILE from the exec env, and callers decide how to show the two.
func TokenRequest(e *clientcmdapi.ExecConfig) (execargs.Request, Identity) {
	var req execargs.Request
	id, _ := IdentityOf(e)
	if e == nil {
		return req, id
	}
	if id.Client == ClientAWSCLI {
		req.ClusterID, req.RoleARN, req.Profile = id.ClusterID, id.RoleARN, id.Profile
		req.Region, _ = flagValue(e.Args, []string{"--region"})
		return req, id
	}
	fs := pflag.NewFlagSet("token", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	req.AddFlags(fs)
	args := e.Args
	if len(args) > 0 && args[0] == "token" {
		args = args[1:]
	}
	_ = fs.Parse(args) // a bad exec block shows when the plugin runs
	if req.ClusterID == "" {
		req.ClusterID = envValue(e.Env, execargs.ClusterIDEnv)
	}
	return req, id
}
