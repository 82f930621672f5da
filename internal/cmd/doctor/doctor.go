// Package doctor implements `kubeiam doctor`: one screen that says what
// stands between the user and a working `kubectl` through kubeiam, each
// finding with a one-line fix. It reads kubeconfigs, the AWS configuration
// and the token cache; the only network calls are the ones a token would make
// (credentials that need them, such as SSO or AssumeRole) plus one
// GetCallerIdentity for the identity and the clock, all bounded by --timeout
// and all skipped with --offline. It never prints a secret.
package doctor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/text"
)

// Status is the verdict of one check.
type Status string

// The verdicts. Only StatusError makes doctor exit non-zero: a warning is
// something that works today but is slow, fragile or surprising.
const (
	StatusOK      Status = "ok"
	StatusWarning Status = "warning"
	StatusError   Status = "error"
	StatusSkipped Status = "skipped"
)

// Check is one finding. The JSON form is an interface for scripts: fields
// are only ever added.
type Check struct {
	Name    string `json:"name"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	// Fix is one line saying what to do; empty when there is nothing to do.
	Fix string `json:"fix,omitempty"`
}

// Report is everything doctor found.
type Report struct {
	Context   string  `json:"context,omitempty"`
	ClusterID string  `json:"clusterID,omitempty"`
	Checks    []Check `json:"checks"`
	Errors    int     `json:"errors"`
	Warnings  int     `json:"warnings"`
}

func (r *Report) add(c Check) {
	r.Checks = append(r.Checks, c)
	switch c.Status {
	case StatusError:
		r.Errors++
	case StatusWarning:
		r.Warnings++
	}
}

func (r *Report) ok(name, format string, args ...any) {
	r.add(Check{Name: name, Status: StatusOK, Message: fmt.Sprintf(format, args...)})
}

func (r *Report) skip(name, format string, args ...any) {
	r.add(Check{Name: name, Status: StatusSkipped, Message: fmt.Sprintf(format, args...)})
}

func (r *Report) warn(name, fix, format string, args ...any) {
	r.add(Check{Name: name, Status: StatusWarning, Message: fmt.Sprintf(format, args...), Fix: fix})
}

func (r *Report) fail(name, fix, format string, args ...any) {
	r.add(Check{Name: name, Status: StatusError, Message: fmt.Sprintf(format, args...), Fix: fix})
}

// failErr records err as an error, with its hint as the fix when it has one
// and fix otherwise.
func (r *Report) failErr(name string, err error, fix string) {
	if h := hint.Of(err); h != "" {
		fix = h
	}
	r.fail(name, fix, "%s", text.OneLine(err.Error()))
}

// Options are the flags of `kubeiam doctor` and the seams of its tests.
type Options struct {
	IO         *iostreams.IOStreams
	Context    string
	Kubeconfig string
	// Cluster names an EKS Anywhere cluster whose folder (as `eksctl
	// anywhere create cluster` leaves it) is checked; by default the folder
	// of a context named <cluster>-aws, when it is in the working directory.
	Cluster string
	Offline bool
	Timeout time.Duration
	Output  string

	Getenv   func(string) string
	Now      func() time.Time
	LookPath func(string) (string, error)
	// HTTPClient carries the STS calls; nil means the AWS SDK's own
	// (HTTPS_PROXY, AWS_CA_BUNDLE). Tests leave it nil and point
	// AWS_ENDPOINT_URL_STS at a stand-in.
	HTTPClient *http.Client
}

// NewCmd builds `kubeiam doctor`; runF replaces Run in tests.
func NewCmd(io *iostreams.IOStreams, runF func(*cobra.Command, *Options) error) *cobra.Command {
	opts := &Options{IO: io, Getenv: os.Getenv, Now: time.Now, LookPath: exec.LookPath}
	cmd := &cobra.Command{
		Use:   "doctor [--context C]",
		Short: "Check everything kubectl needs to log in through kubeiam, and say how to fix it",
		Long: `Check, for the current context (or --context), everything a kubectl call through
kubeiam depends on, and print one line per check with a fix for each problem:

  kubeconfig   the context exists and how it logs in (client, cluster ID, profile, role)
  exec         every context's exec command is on PATH, runs, and reports its version
  credentials  which credential source and profile the AWS SDK chain picks, and that
               credentials load (never printing them)
  endpoint     the region, partition and STS host the token is signed for
  identity     who STS says the credentials belong to, and the canonical ARN the
               cluster's aws-auth mappings must name
  clock        the skew between this machine and STS (from the Date header)
  keyring      whether the OS keyring answers or the cache falls back to files
  cache        the cached tokens of the cluster and their expiry
  eks-a        the cluster folder EKS Anywhere writes: admin and -aws kubeconfigs

--offline makes no network call: credentials that need one (SSO, AssumeRole,
IMDS) and the identity and clock checks are skipped. Exit code 1 when any
check reports an error; warnings alone exit 0.`,
		Example: `  kubeiam doctor
  kubeiam doctor --context prod-aws
  kubeiam doctor --offline -o json
  kubeiam doctor --cluster prod       # also check ./prod/ as EKS Anywhere wrote it`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output != "" && opts.Output != "json" {
				return clierr.Usagef("unknown output format %q: use json or leave it out", opts.Output)
			}
			if opts.Timeout <= 0 {
				return clierr.Usagef("--timeout must be positive")
			}
			if runF != nil {
				return runF(cmd, opts)
			}
			return Run(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Context, "context", "", "kubeconfig context to check (default: the current context)")
	f.StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	f.StringVar(&opts.Cluster, "cluster", "", "EKS Anywhere cluster name whose folder ./NAME/ to check")
	f.BoolVar(&opts.Offline, "offline", false, "make no network calls (skip identity and clock checks)")
	f.DurationVar(&opts.Timeout, "timeout", 5*time.Second, "bound for each check that may wait (network, keyring, exec commands)")
	f.StringVarP(&opts.Output, "output", "o", "", "output format: json")
	return cmd
}

// Run runs the checks, prints the report and fails when a check failed.
func Run(cmd *cobra.Command, opts *Options) error {
	rep := Diagnose(cmd.Context(), opts)
	// Fixes name commands as the user runs them ("kubectl iam use ...").
	for i := range rep.Checks {
		rep.Checks[i].Fix = clierr.AsTyped(cmd.Root().DisplayName(), rep.Checks[i].Fix)
	}
	if err := write(opts, rep); err != nil {
		return err
	}
	if rep.Errors > 0 {
		return fmt.Errorf("%d of %d checks failed", rep.Errors, len(rep.Checks))
	}
	return nil
}

func write(opts *Options, rep *Report) error {
	if opts.Output == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	for _, c := range rep.Checks {
		fmt.Fprintf(w, "%s\t%s\t%s\n", c.Status, c.Name, c.Message)
		if c.Fix != "" {
			fmt.Fprintf(w, "\t\tfix: %s\n", c.Fix)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(opts.IO.Out, "%s, %s\n", plural(rep.Errors, "error"), plural(rep.Warnings, "warning"))
	return err
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
