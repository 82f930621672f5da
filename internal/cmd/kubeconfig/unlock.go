package kubeconfig

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// UnlockOptions are the flags of `kubeiam kubeconfig unlock`.
type UnlockOptions struct {
	IO    *iostreams.IOStreams
	File  string
	Force bool
}

// NewUnlockCmd builds `kubeiam kubeconfig unlock`; runF replaces RunUnlock in tests.
func NewUnlockCmd(io *iostreams.IOStreams, runF func(*UnlockOptions) error) *cobra.Command {
	opts := &UnlockOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "unlock [FILE]",
		Short: "Remove a stale <file>.lock that blocks kubectl and kubeiam writes",
		Long: fmt.Sprintf(`Remove FILE.lock (default: the first KUBECONFIG file, or ~/.kube/config) when
its writer is gone. While that file exists, every "kubectl config" write fails
with "file exists".

A lock written by a kubeiam that is still running on this host is never
removed. kubectl's locks are empty and say nothing about their writer, so one
younger than %s is left alone unless --force: kubectl holds its lock for
about a millisecond, so an older one was left by a process that died.`, kubeconfig.YoungLock),
		Example: `  kubeiam kubeconfig unlock
  kubeiam kubeconfig unlock prod/prod-aws.kubeconfig`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.File = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return RunUnlock(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, fmt.Sprintf("also remove a lock that cannot be checked and is younger than %s", kubeconfig.YoungLock))
	return cmd
}

// RunUnlock removes the lock.
func RunUnlock(opts *UnlockOptions) error {
	file := kubeconfig.Target(opts.File)
	res, err := kubeconfig.Unlock(file, opts.Force)
	var busy *kubeconfig.LockInUseError
	if errors.As(err, &busy) {
		if busy.Young {
			return clierr.WithHint(err, "try again in a moment, or add --force if no kubectl is running")
		}
		return clierr.WithHint(err, "it lets go within milliseconds unless it hangs; then stop it")
	}
	if err != nil {
		return err
	}
	if !res.Removed {
		fmt.Fprintf(opts.IO.ErrOut, "%s: not locked\n", file)
		return nil
	}
	fmt.Fprintf(opts.IO.ErrOut, "removed %s (%s, left %s ago)\n", res.LockFile, res.Holder, kubeconfig.RoundAge(res.Age))
	return nil
}
