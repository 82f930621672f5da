// Package mappings holds `kubeiam mappings`: the GitOps way to change who
// may log in. It edits the AWSIamConfig in a cluster spec file in place;
// the user reviews the diff and commits, and EKS Anywhere's GitOps
// controller (or `kubeiam server sync`) applies it.
package mappings

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/kubeconfig"
)

// NewCmd builds `kubeiam mappings` and its verbs.
func NewCmd(io *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mappings",
		Short: "List, add, remove, fix and explain IAM mappings: an EKS Anywhere spec (GitOps) or an EKS cluster's access entries",
		Long: `Edit the mapRoles, mapUsers and mapAccounts of the AWSIamConfig that a cluster
spec's Cluster names, in place: comments, key order and the other documents
stay as they are, so the diff you commit is the mapping change. The spec is
validated before and after the edit; nothing is written if either fails.

The default GitOps path is clusters/<cluster>/eksa-system/eksa-cluster.yaml.

With --eks CLUSTER the verbs work on an EKS cluster's access entries (and
aws-auth, as EKS reads it), and migrate moves aws-auth to access entries.`,
	}
	cmd.AddCommand(NewListCmd(io, nil), NewAddCmd(io, nil), NewRemoveCmd(io, nil), NewFixCmd(io, nil), NewExplainCmd(io, nil), NewMigrateCmd(io, nil), NewApplyCmd(io, nil))
	return cmd
}

// target is the mapping a verb names: exactly one of the three flags.
type target struct {
	RoleARN, UserARN, Account string
}

func (t *target) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.RoleARN, "role-arn", "", "IAM role ARN (mapRoles)")
	cmd.Flags().StringVar(&t.UserARN, "user-arn", "", "IAM user ARN (mapUsers)")
	cmd.Flags().StringVar(&t.Account, "account", "", "AWS account ID (mapAccounts: every identity of the account, under its ARN as user name)")
}

func (t *target) edit() (installer.MappingEdit, error) {
	var e installer.MappingEdit
	n := 0
	for _, x := range []struct{ kind, v string }{{"role", t.RoleARN}, {"user", t.UserARN}, {"account", t.Account}} {
		if x.v != "" {
			e.Kind, e.ARN = x.kind, x.v
			n++
		}
	}
	if n != 1 {
		return e, clierr.Usagef("give exactly one of --role-arn, --user-arn, --account")
	}
	return e, nil
}

// editFlags are shared by add and remove.
type editFlags struct {
	File   string
	DryRun bool
}

func (f *editFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.File, "filename", "f", "", "cluster spec file, e.g. clusters/NAME/eksa-system/eksa-cluster.yaml")
	cmd.Flags().BoolVar(&f.DryRun, "dry-run", false, "print the diff and write nothing")
}

// specFile is a cluster spec as read for an edit: written back through a
// symlink to its target, as an editor would, with its mode kept.
type specFile struct {
	name, path string
	mode       os.FileMode
	data       []byte
}

func readSpecFile(name string) (*specFile, error) {
	if name == "" {
		return nil, clierr.Usagef("-f SPEC is required")
	}
	path, err := filepath.EvalSymlinks(name)
	if err != nil {
		return nil, fmt.Errorf("could not read cluster spec: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("could not read cluster spec: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("could not read cluster spec: %w", err)
	}
	return &specFile{name: name, path: path, mode: fi.Mode().Perm(), data: data}, nil
}

// commit prints the diff (dry run) or replaces the file atomically.
func (s *specFile) commit(io *iostreams.IOStreams, dryRun bool, after []byte) error {
	if dryRun {
		_, err := io.Out.Write(diff.Diff(s.name, s.data, s.name+" (edited)", after))
		return err
	}
	return kubeconfig.WriteAtomic(s.path, after, s.mode)
}

// apply runs one edit against the file: validate, edit, validate, then
// either print the diff (--dry-run) or replace the file.
func apply(io *iostreams.IOStreams, f editFlags, e installer.MappingEdit, check func(before []byte, after *installer.Spec) error) (*installer.EditResult, error) {
	sf, err := readSpecFile(f.File)
	if err != nil {
		return nil, err
	}
	res, err := installer.EditSpec(f.File, sf.data, e)
	if err != nil {
		return nil, hint(err)
	}
	if check != nil {
		if err := check(sf.data, res.Spec); err != nil {
			return nil, err
		}
	}
	if res.Stored != "" {
		fmt.Fprintf(io.ErrOut, "%s: storing %s, the form the server matches (%s)\n", f.File, res.Stored, res.Why)
	}
	for _, w := range res.Spec.Warnings {
		fmt.Fprintln(io.ErrOut, w.String())
	}
	return res, sf.commit(io, f.DryRun, res.Data)
}

func hint(err error) error {
	var (
		ve  *installer.ValidationError
		dup *installer.DuplicateMappingError
		nf  *installer.MappingNotFoundError
	)
	switch {
	case errors.As(err, &ve):
		if n := installer.Fixable(ve.Problems); n > 0 {
			return clierr.WithHint(err, "kubeiam mappings fix -f %s rewrites the %d marked (use ...); fix the other lines by hand; the file was not changed", ve.File, n)
		}
		return clierr.WithHint(err, "fix every line listed; the file was not changed")
	case errors.As(err, &dup):
		return clierr.WithHint(err, "remove it first to change its user name or groups; the file was not changed")
	case errors.As(err, &nf):
		return clierr.WithHint(err, "kubeiam mappings list -f FILE shows what is mapped")
	}
	return err
}
