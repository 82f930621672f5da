// Package completion adds dynamic shell completion to the kubeiam command
// tree: kubeconfig context names, AWS profiles and cluster IDs. cobra
// generates the shell scripts (`kubeiam completion bash|zsh|fish|powershell`);
// those scripts call the hidden `__complete` command, which the kubeiam front
// hands to kubeiam-core like any verb other than `token`, so the answers come
// from the functions here.
//
// Completion is attached by flag name, as a convention of the whole tree:
// every --context completes contexts, every --profile AWS profiles, every
// -i/--cluster-id cluster IDs. A verb added later gets completion without
// wiring of its own, and no verb package imports this one.
package completion

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// flagCompletions maps a flag name to the function that completes it.
var flagCompletions = map[string]cobra.CompletionFunc{
	"context":     Contexts,
	"profile":     Profiles,
	"cluster-id":  ClusterIDs,
	"sso-session": SSOSessions,
}

// contextFirst are the verbs whose first argument is a kubeconfig context.
var contextFirst = map[string]bool{"use": true, "shell": true}

// Register walks the tree under root and attaches completion functions to
// the flags named in flagCompletions (where none is attached yet) and to the
// CONTEXT argument of `use` and `shell`.
func Register(root *cobra.Command) {
	walk(root, func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			fn, ok := flagCompletions[f.Name]
			if !ok {
				return
			}
			if _, exists := c.GetFlagCompletionFunc(f.Name); exists {
				return
			}
			// Errors only mean "already registered"; checked above.
			_ = c.RegisterFlagCompletionFunc(f.Name, fn)
		})
		if contextFirst[c.Name()] && c.Parent() == root && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				switch {
				case len(args) == 0:
					return Contexts(cmd, args, toComplete)
				case c.Name() == "shell":
					// The command after the context: files and
					// commands, as the shell would complete them.
					return nil, cobra.ShellCompDirectiveDefault
				}
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
		}
	})
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// Contexts completes the context names of the kubeconfig files the command
// would read: its --kubeconfig flag when set, else KUBECONFIG or
// ~/.kube/config. Each is described by the cluster it points at.
func Contexts(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	explicit := ""
	if f := cmd.Flags().Lookup("kubeconfig"); f != nil {
		explicit = f.Value.String()
	}
	loaded, err := kubeconfig.LoadFiles(kubeconfig.DefaultFiles(explicit))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	merged := loaded.Merged()
	var out []cobra.Completion
	for name, c := range merged.Contexts {
		if strings.HasPrefix(name, toComplete) {
			out = append(out, cobra.CompletionWithDesc(name, "cluster "+c.Cluster))
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

// Profiles completes the AWS profiles in the shared config and credentials
// files, where the AWS SDK and CLI look for them.
func Profiles(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, p := range AWSProfiles() {
		if strings.HasPrefix(p, toComplete) {
			out = append(out, p)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// AWSProfiles lists the profile names of AWS_CONFIG_FILE (default
// ~/.aws/config: "[default]" and "[profile NAME]") and
// AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials: "[NAME]"),
// sorted and without duplicates. Unreadable files contribute nothing.
func AWSProfiles() []string {
	home, _ := os.UserHomeDir()
	cfg := awsConfigFile()
	creds := os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	if creds == "" {
		creds = filepath.Join(home, ".aws", "credentials")
	}
	seen := map[string]bool{}
	for _, name := range iniSections(cfg) {
		// The config file also holds [sso-session X] and [services X]
		// sections, which are not profiles.
		switch {
		case name == "default":
			seen[name] = true
		case strings.HasPrefix(name, "profile "):
			seen[strings.TrimSpace(strings.TrimPrefix(name, "profile "))] = true
		}
	}
	for _, name := range iniSections(creds) {
		seen[name] = true
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		if p != "" {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// SSOSessions completes the [sso-session NAME] sections of AWS_CONFIG_FILE
// (default ~/.aws/config).
func SSOSessions(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, name := range iniSections(awsConfigFile()) {
		if n, ok := strings.CutPrefix(name, "sso-session "); ok {
			if n = strings.TrimSpace(n); n != "" && strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func awsConfigFile() string {
	if f := os.Getenv("AWS_CONFIG_FILE"); f != "" {
		return f
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".aws", "config")
}

func iniSections(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			out = append(out, strings.TrimSpace(line[1:len(line)-1]))
		}
	}
	return out
}

// ClusterIDs completes the cluster IDs that have cached tokens, then those
// named by kubeconfig exec blocks, each described by where it was found.
// Listing the cache reads only its non-secret parts and never asks the
// keyring, so a completion never waits on it.
func ClusterIDs(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	desc := map[string]string{}
	if c, err := cache.Open(cache.Options{}); err == nil {
		if entries, err := c.List(ctx); err == nil {
			for _, e := range entries {
				if _, ok := desc[e.Key.ClusterID]; !ok && e.Key.ClusterID != "" {
					desc[e.Key.ClusterID] = "cached token"
				}
			}
		}
	}
	explicit := ""
	if f := cmd.Flags().Lookup("kubeconfig"); f != nil {
		explicit = f.Value.String()
	}
	if loaded, err := kubeconfig.LoadFiles(kubeconfig.DefaultFiles(explicit)); err == nil {
		merged := loaded.Merged()
		for name, c := range merged.Contexts {
			u, ok := merged.AuthInfos[c.AuthInfo]
			if !ok {
				continue
			}
			if id, ok := kubeconfig.IdentityOf(u.Exec); ok && id.ClusterID != "" {
				if _, seen := desc[id.ClusterID]; !seen {
					desc[id.ClusterID] = "context " + name
				}
			}
		}
	}
	var out []cobra.Completion
	for id, d := range desc {
		if strings.HasPrefix(id, toComplete) {
			out = append(out, cobra.CompletionWithDesc(id, d))
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}
