// Package root assembles the kubeiam command tree. Commands are built by
// constructors from here, never registered from init().
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	agentcmd "github.com/kubeiam/kubeiam/internal/cmd/agent"
	bundlecmd "github.com/kubeiam/kubeiam/internal/cmd/bundle"
	cachecmd "github.com/kubeiam/kubeiam/internal/cmd/cache"
	doctorcmd "github.com/kubeiam/kubeiam/internal/cmd/doctor"
	kubeconfigcmd "github.com/kubeiam/kubeiam/internal/cmd/kubeconfig"
	logincmd "github.com/kubeiam/kubeiam/internal/cmd/login"
	mappingscmd "github.com/kubeiam/kubeiam/internal/cmd/mappings"
	servercmd "github.com/kubeiam/kubeiam/internal/cmd/server"
	shellcmd "github.com/kubeiam/kubeiam/internal/cmd/shell"
	tokencmd "github.com/kubeiam/kubeiam/internal/cmd/token"
	verifycmd "github.com/kubeiam/kubeiam/internal/cmd/verify"
	versioncmd "github.com/kubeiam/kubeiam/internal/cmd/version"
	whoamicmd "github.com/kubeiam/kubeiam/internal/cmd/whoami"
	"github.com/kubeiam/kubeiam/internal/completion"
	"github.com/kubeiam/kubeiam/internal/handover"
	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

// NewCmd builds the kubeiam root command.
func NewCmd(io *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubeiam",
		Short: "AWS IAM authentication for Kubernetes clusters, fast and safe",
		Long: `kubeiam is a kubectl credential plugin for clusters that authenticate with
aws-iam-authenticator (EKS Anywhere, EKS), plus the tools around it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// No verb takes a control character from the command line; see
		// checkFlags.
		PersistentPreRunE: checkFlags,
	}
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return clierr.Usagef("%s (see '%s --help')", err, c.CommandPath())
	})
	cmd.AddCommand(
		tokencmd.NewCmd(io, nil),
		verifycmd.NewCmd(io, nil),
		versioncmd.NewCmd(io, nil),
		cachecmd.NewCmd(io, nil),
		kubeconfigcmd.NewCmd(io),
		kubeconfigcmd.NewProfileCmd(io),
		kubeconfigcmd.NewUseCmd(io, nil),
		shellcmd.NewCmd(io, nil),
		shellcmd.NewAddedCmd(io),
		bundlecmd.NewCmd(io),
		doctorcmd.NewCmd(io, nil),
		servercmd.NewCmd(io),
		mappingscmd.NewCmd(io),
		whoamicmd.NewCmd(io, nil),
		logincmd.NewCmd(io, nil),
		logincmd.NewLogoutCmd(io, nil),
		agentcmd.NewCmd(),
	)
	completion.Register(cmd)
	return cmd
}

// NewAuthenticatorCmd builds the drop-in for the aws-iam-authenticator client:
// the same `token` and `version` commands and flags, so kubeconfigs written for
// that client work when kubeiam is installed under its name.
func NewAuthenticatorCmd(io *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "aws-iam-authenticator",
		Short:             "kubeiam, answering as the aws-iam-authenticator client",
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: checkFlags,
	}
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return clierr.Usagef("%s (see '%s --help')", err, c.CommandPath())
	})
	authenticatorGlobals(cmd)
	cmd.AddCommand(tokencmd.NewCmd(io, nil), versioncmd.NewAuthenticatorCmd(io))
	return cmd
}

// Main runs the command named by args[0] and returns the exit code.
func Main(ctx context.Context, args []string, io *iostreams.IOStreams) int {
	prog := "kubeiam"
	var cmd *cobra.Command
	if isAuthenticatorName(args[0]) || os.Getenv(handover.InvokedAsEnv) == "aws-iam-authenticator" {
		prog = "aws-iam-authenticator"
		cmd = NewAuthenticatorCmd(io)
	} else {
		cmd = NewCmd(io)
		if isKubectlPlugin(args[0]) {
			prog = kubectlPluginProg
			asKubectlPlugin(cmd)
		}
	}
	cmd.SetArgs(args[1:])
	if err := unknownSubcommand(cmd, args[1:]); err != nil {
		return clierr.Print(io.ErrOut, prog, err)
	}
	// Ctrl-C, SIGTERM or a closed terminal (SIGHUP) ends every wait at
	// once (network, cache lock, a sign-in's browser): the context ends,
	// each wait returns, deferred clean-ups run (temporary files, locks:
	// a kubeconfig's .lock is always removed), and the command exits with
	// the shell's code for the signal (130, 143, 129), saying only that.
	// The domain packages install no handler (kubeconfig's lock relies on
	// this one); a few verbs add their own beside it for what they run
	// (bundle install, login, shell's command).
	// A SIGHUP the process was started ignoring (nohup) stays ignored.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	if !signal.Ignored(syscall.SIGHUP) {
		signal.Notify(sigs, syscall.SIGHUP)
	}
	defer signal.Stop(sigs)
	var got atomic.Value
	go func() {
		select {
		case s := <-sigs:
			got.Store(s)
			stop()
		case <-ctx.Done():
		}
	}()
	err := cmd.ExecuteContext(ctx)
	if s, ok := got.Load().(os.Signal); ok {
		fmt.Fprintf(io.ErrOut, "%s: interrupted\n", prog)
		return SignalExit(s)
	}
	if err != nil {
		return clierr.Print(io.ErrOut, prog, asUsage(err))
	}
	return 0
}

// unknownSubcommand refuses a word after a command group that names none of
// its verbs ("kubeiam mappings migrat"): cobra prints the group's help and
// exits 0 there, so a script with a typo would pass.
func unknownSubcommand(root *cobra.Command, args []string) error {
	c, rest, err := root.Find(args)
	if err != nil || c == root || !c.HasSubCommands() || c.Runnable() {
		return nil
	}
	for _, a := range rest {
		if strings.HasPrefix(a, "-") {
			continue
		}
		msg := fmt.Sprintf("unknown command %q for %q", a, c.CommandPath())
		if s := c.SuggestionsFor(a); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return clierr.Usagef("%s", msg)
	}
	return nil
}

// asUsage gives cobra's own argument errors (a word no verb takes, "unknown
// command"; a wrong number of arguments) the usage exit code, 2, as every
// flag error has. cobra returns them as plain errors, so the message is
// all there is to tell them by.
func asUsage(err error) error {
	var u *clierr.UsageError
	if errors.As(err, &u) {
		return err
	}
	msg := err.Error()
	// cobra puts its suggestions for a typo on lines of their own; an
	// error is one line.
	if head, sug, ok := strings.Cut(msg, "\n\nDid you mean this?\n"); ok {
		msg = head + "; did you mean " + strings.Join(strings.Fields(sug), " or ") + "?"
		err = errors.New(msg)
	}
	for _, p := range []string{"unknown command ", "accepts ", "requires at least ", "requires at most ", "invalid argument "} {
		if strings.HasPrefix(msg, p) {
			return &clierr.UsageError{Err: err}
		}
	}
	return err
}

// SignalExit is the exit code a shell reports for a process ended by s:
// 128 + its number (130 for SIGINT, 143 for SIGTERM).
func SignalExit(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return clierr.ExitError
}

// checkFlags refuses control characters in every string flag of every verb
// before it runs, naming the flag: the values end up in kubeconfigs, specs,
// HTTP headers and terminals, where a newline forges entries and rows. The
// libraries check what they write too; this catches each verb, present or
// future, at one place.
func checkFlags(c *cobra.Command, _ []string) error {
	if err := input.CheckFlags(c.Flags()); err != nil {
		return &clierr.UsageError{Err: err}
	}
	return nil
}

func isAuthenticatorName(argv0 string) bool {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	return base == "aws-iam-authenticator"
}
