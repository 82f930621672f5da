// Package kubeconfig holds the cobra layer of `kubeiam kubeconfig`,
// `kubeiam profile` and `kubeiam use`; the logic is in package kubeconfig.
package kubeconfig

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// NewCmd builds `kubeiam kubeconfig` and its verbs.
func NewCmd(io *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubeconfig",
		Short: "Write, merge, adopt and remove kubeconfig entries for IAM login",
		Long: `Write the kubeconfig an IAM user needs for a cluster, merge it into an existing
kubeconfig, switch existing aws-iam-authenticator or aws CLI entries to kubeiam,
and remove entries again.

Every write takes the lock kubectl takes (<file>.lock), replaces the file
atomically, keeps the previous content as <file>.bak and keeps the file mode.
A lock left by a kubeiam that died is taken over; one left by kubectl is
reported, and "kubeiam kubeconfig unlock" removes it.`,
	}
	cmd.AddCommand(NewWriteCmd(io, nil), NewDiscoverCmd(io, nil), NewAdoptCmd(io, nil), NewRemoveCmd(io, nil), NewUnlockCmd(io, nil))
	return cmd
}

// lockFlags are shared by every verb that writes.
type lockFlags struct {
	DryRun      bool
	LockTimeout time.Duration
}

func (l *lockFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&l.DryRun, "dry-run", false, "print a unified diff of the change and write nothing")
	cmd.Flags().DurationVar(&l.LockTimeout, "lock-timeout", kubeconfig.DefaultLockTimeout, "how long to wait for another kubectl or kubeiam to release <file>.lock")
}

func (l *lockFlags) editOptions(io *iostreams.IOStreams) kubeconfig.EditOptions {
	return kubeconfig.EditOptions{DryRun: l.DryRun, LockTimeout: l.LockTimeout, Notify: notify(io)}
}

// notify prints the line a lock take-over produces.
func notify(io *iostreams.IOStreams) func(string) {
	return func(msg string) { fmt.Fprintln(io.ErrOut, msg) }
}

// LockTraceEnv, when set, makes the verbs that write say how long they held
// <file>.lock (on stderr, as "lock held DURATION"); `make bench` reads it.
const LockTraceEnv = "KUBEIAM_LOCK_TRACE"

// report prints what an edit did: the diff on stdout for a dry run (it is
// the product then), one line on stderr otherwise.
func report(io *iostreams.IOStreams, res *kubeconfig.EditResult, dryRun bool, what string) error {
	if res == nil {
		return nil
	}
	if os.Getenv(LockTraceEnv) != "" {
		fmt.Fprintf(io.ErrOut, "lock held %s\n", res.LockHeld)
	}
	if dryRun {
		if !res.Changed {
			fmt.Fprintf(io.ErrOut, "%s: no change\n", res.Path)
			return nil
		}
		_, err := io.Out.Write(res.Diff)
		return err
	}
	if !res.Changed {
		fmt.Fprintf(io.ErrOut, "%s: %s, no change\n", res.Path, what)
		return nil
	}
	fmt.Fprintf(io.ErrOut, "%s: %s\n", res.Path, what)
	return nil
}

// withLockHint adds the way out of a stale lock.
func withLockHint(err error) error {
	var le *kubeconfig.LockError
	if errors.As(err, &le) {
		if le.Live {
			return clierr.WithHint(err, "try again once it is done, or stop it if it hangs")
		}
		return clierr.WithHint(err, "kubeiam kubeconfig unlock %s (if no kubectl or kubeiam is running)", strings.TrimSuffix(le.LockFile, ".lock"))
	}
	var se *kubeconfig.StaleLockError
	if errors.As(err, &se) {
		return clierr.WithHint(err, "kubeiam kubeconfig unlock %s (if no kubectl is running)", strings.TrimSuffix(se.LockFile, ".lock"))
	}
	var ce *kubeconfig.ContextNotFoundError
	if errors.As(err, &ce) {
		return clierr.WithHint(err, "kubectl config get-contexts lists the contexts")
	}
	return err
}
