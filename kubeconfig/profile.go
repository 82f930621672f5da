package kubeconfig

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/internal/suggest"
)

// ContextNotFoundError names a context that no kubeconfig file defines.
type ContextNotFoundError struct {
	Name  string
	Files []string
	Known []string
}

// Error lists the known contexts when there are a few, else the close ones:
// a kubeconfig of hundreds of contexts would not fit on the one line.
func (e *ContextNotFoundError) Error() string {
	known := "contexts: none"
	switch close := suggest.Close(e.Name, e.Known, 5); {
	case len(e.Known) > 0 && len(e.Known) <= 8:
		known = "contexts: " + strings.Join(e.Known, ", ")
	case len(close) > 0:
		known = fmt.Sprintf("did you mean %s? %d contexts", strings.Join(close, ", "), len(e.Known))
	case len(e.Known) > 0:
		known = fmt.Sprintf("none close among %d contexts", len(e.Known))
	}
	return fmt.Sprintf("could not find context %q in %s (%s)", e.Name, strings.Join(e.Files, ", "), known)
}

// Loaded is a set of kubeconfig files, each parsed, in precedence order.
type Loaded struct {
	Files   []string
	Configs []*clientcmdapi.Config // nil where the file does not exist
}

// LoadFiles parses each file; missing files are skipped (as kubectl does for
// KUBECONFIG entries), malformed ones are an error naming the file.
func LoadFiles(files []string) (*Loaded, error) {
	l := &Loaded{Files: files, Configs: make([]*clientcmdapi.Config, len(files))}
	for i, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("could not read kubeconfig: %w", err)
		}
		if l.Configs[i], err = Parse(f, data); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Merged is the view kubectl has: for each name the first file's entry wins,
// current-context from the first file that sets it.
func (l *Loaded) Merged() *clientcmdapi.Config {
	out := clientcmdapi.NewConfig()
	for _, c := range l.Configs {
		if c == nil {
			continue
		}
		if out.CurrentContext == "" {
			out.CurrentContext = c.CurrentContext
		}
		for k, v := range c.Clusters {
			if _, ok := out.Clusters[k]; !ok {
				out.Clusters[k] = v
			}
		}
		for k, v := range c.AuthInfos {
			if _, ok := out.AuthInfos[k]; !ok {
				out.AuthInfos[k] = v
			}
		}
		for k, v := range c.Contexts {
			if _, ok := out.Contexts[k]; !ok {
				out.Contexts[k] = v
			}
		}
	}
	return out
}

// UserFile returns the file that defines the user of the named context, the
// one to edit to change how that context logs in.
func (l *Loaded) UserFile(contextName string) (string, string, error) {
	m := l.Merged()
	c, ok := m.Contexts[contextName]
	if !ok {
		return "", "", &ContextNotFoundError{Name: contextName, Files: l.Files, Known: slices.Sorted(maps.Keys(m.Contexts))}
	}
	u, ok := m.AuthInfos[c.AuthInfo]
	if !ok {
		return "", "", fmt.Errorf("could not find user %q of context %q in %s", c.AuthInfo, contextName, strings.Join(l.Files, ", "))
	}
	return u.LocationOfOrigin, c.AuthInfo, nil
}

// SetProfile binds an AWS profile (and, when roleSet, a role) to the exec
// block of user. The profile goes in as an argument where the client has
// one, so AWS_ACCESS_KEY_ID in the caller's environment cannot override it.
// It returns a warning for clients that only read AWS_PROFILE.
func SetProfile(cfg *clientcmdapi.Config, user, profile string, roleARN string, roleSet bool) (string, error) {
	if err := input.Text("--profile", profile); err != nil {
		return "", err
	}
	if err := ValidateRoleARN("--role-arn", roleARN); err != nil {
		return "", err
	}
	u, ok := cfg.AuthInfos[user]
	if !ok {
		return "", fmt.Errorf("could not find user %q", user)
	}
	if u.Exec == nil {
		return "", fmt.Errorf("could not set profile: user %q has no exec plugin (it does not log in with AWS IAM)", user)
	}
	c := ClientOf(u.Exec.Command)
	d, ok := dialects[c]
	if !ok {
		return "", fmt.Errorf("could not set profile: user %q runs %q, not kubeiam, aws-iam-authenticator or aws", user, u.Exec.Command)
	}
	warning := ""
	if len(d.profile) > 0 {
		u.Exec.Args = withFlag(u.Exec.Args, d.profile, d.profileCanon, profile)
		// A profile argument makes an AWS_PROFILE entry dead weight that
		// would only mislead a reader.
		u.Exec.Env = withEnv(u.Exec.Env, "AWS_PROFILE", "")
	} else {
		u.Exec.Env = withEnv(u.Exec.Env, "AWS_PROFILE", profile)
		if profile != "" {
			warning = fmt.Sprintf("user %q runs %s, which only reads the profile from AWS_PROFILE: AWS_ACCESS_KEY_ID in your environment will override it; `kubeiam kubeconfig adopt` switches it to kubeiam", user, u.Exec.Command)
		}
	}
	if roleSet {
		u.Exec.Args = withFlag(u.Exec.Args, d.role, d.roleCanon, roleARN)
	}
	return warning, nil
}

// Binding is one row of `kubeiam profile list`.
type Binding struct {
	Context   string `json:"context"`
	Cluster   string `json:"cluster"`
	ClusterID string `json:"clusterID,omitempty"`
	Profile   string `json:"profile,omitempty"`
	RoleARN   string `json:"roleARN,omitempty"`
	Command   string `json:"command,omitempty"`
	Current   bool   `json:"current,omitempty"`
}

// Bindings lists every context with its AWS identity, sorted by context;
// contexts that log in some other way are listed with an empty identity.
func Bindings(cfg *clientcmdapi.Config) []Binding {
	var out []Binding
	for _, name := range slices.Sorted(maps.Keys(cfg.Contexts)) {
		c := cfg.Contexts[name]
		b := Binding{Context: name, Cluster: c.Cluster, Current: name == cfg.CurrentContext}
		if u, ok := cfg.AuthInfos[c.AuthInfo]; ok && u.Exec != nil {
			b.Command = u.Exec.Command
			if id, ok := IdentityOf(u.Exec); ok {
				b.ClusterID, b.Profile, b.RoleARN = id.ClusterID, id.Profile, id.RoleARN
			}
		}
		out = append(out, b)
	}
	return out
}
