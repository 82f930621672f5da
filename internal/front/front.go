// Package front is the main of the small kubeiam binary that kubectl runs on
// every call: it answers the `token` calls it can answer exactly as
// kubeiam-core would (static keys in the environment, or a valid cached
// token) and `kubeiam shell` for a context it finds in plain kubeconfig
// files, and hands everything else to kubeiam-core across exec (see
// internal/handover). What a token call says and when a cached token may
// answer it is internal/execcred, which the core uses too.
//
// Everything linked here runs its init on every kubectl call:
// cmd/kubeiam's TestBinariesStayLean keeps the SDK config chain, client-go,
// YAML and cobra out.
package front

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/pflag"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/execcred"
	"github.com/kubeiam/kubeiam/internal/handover"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/execargs"
)

// Front is the main of the kubeiam front binary. It answers `token` calls
// it can answer exactly as kubeiam-core would — static keys in the
// environment (signed here), or a valid cached token — and `shell` calls
// for a context it finds in plain kubeconfig files, and hands everything
// else, unchanged, to kubeiam-core, including every error message, so the two
// never disagree about what is an error.
func Front(args []string) int {
	if len(args) > 1 && args[1] == "token" && isPluginName(args[0]) {
		if answered, code := serve(context.Background(), progName(args[0]), args[2:], os.Getenv, os.Stdout, os.Stderr, time.Now()); answered {
			return code
		}
	}
	if len(args) > 1 && args[1] == "shell" && strings.TrimSuffix(filepath.Base(args[0]), ".exe") == "kubeiam" {
		if code, served := serveShell(args[2:]); served {
			return code
		}
	}
	return Delegate(args)
}

// progName is how the user runs kubeiam, as kubeiam-core names it in
// messages: "kubectl iam" under krew's name, the upstream client's name for
// the drop-in, else "kubeiam".
func progName(argv0 string) string {
	switch base := strings.TrimSuffix(filepath.Base(argv0), ".exe"); base {
	case "kubectl-iam":
		return hint.KubectlPlugin
	case "aws-iam-authenticator":
		return base
	}
	return "kubeiam"
}

func isPluginName(argv0 string) bool {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	return base == "kubeiam" || base == "aws-iam-authenticator" || base == "kubectl-iam"
}

// serve reports whether it answered, and with which exit code; when it did
// not, it wrote nothing to w or errOut.
func serve(ctx context.Context, prog string, args []string, getenv func(string) string, w, errOut io.Writer, now time.Time) (answered bool, code int) {
	var req execargs.Request
	fs := pflag.NewFlagSet("token", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	req.AddFlags(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return false, 0
	}
	req.ClusterIDFrom(getenv)
	if req.Validate() != nil {
		return false, 0
	}
	info, err := execcred.ParseExecInfo(getenv(execcred.ExecInfoEnv))
	if err != nil {
		return false, 0
	}
	if creds, ep, ok := staticFromEnv(&req, getenv); ok {
		return signStatic(ctx, prog, &req, info, creds, ep, w, errOut, now)
	}
	return serveCached(ctx, prog, &req, info, getenv, w, errOut, now)
}

// staticFromEnv reports the credentials and endpoint when the AWS SDK's
// default chain would sign with static keys from the environment and
// nothing else could change the token: no profile named (--profile beats
// environment keys; a missing AWS_PROFILE is an error), no role, a region from the flag or the environment, and
// no shared config that could switch on FIPS. Signing such a token costs
// less than reading a cache entry, so these are neither looked up nor stored.
func staticFromEnv(req *execargs.Request, getenv func(string) string) (aws.Credentials, token.Endpoint, bool) {
	akid, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if akid == "" || secret == "" || req.Profile != "" || req.RoleARN != "" || req.ExternalID != "" ||
		req.SessionName != "" || req.ForwardSessionName || getenv("AWS_CREDENTIAL_EXPIRATION") != "" ||
		// The SDK refuses a named profile that does not exist, even when
		// environment keys would win; only the core can tell.
		getenv("AWS_PROFILE") != "" || getenv("AWS_DEFAULT_PROFILE") != "" {
		return aws.Credentials{}, token.Endpoint{}, false
	}
	region := firstNonEmpty(req.Region, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	if region == "" && !req.STSGlobal {
		return aws.Credentials{}, token.Endpoint{}, false
	}
	fips := req.FIPS
	switch v := strings.ToLower(getenv("AWS_USE_FIPS_ENDPOINT")); v {
	case "true":
		fips = true
	case "", "false":
	default:
		return aws.Credentials{}, token.Endpoint{}, false // the SDK rejects it; let the core say so
	}
	if !fips && execcred.SharedConfigMentionsFIPS(getenv) {
		return aws.Credentials{}, token.Endpoint{}, false
	}
	ep, err := token.EndpointFor(region, req.STSGlobal, fips)
	if err != nil {
		return aws.Credentials{}, token.Endpoint{}, false
	}
	return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN"), Source: "EnvConfigCredentials"}, ep, true
}

// writeFailed reports a failed write of the answer. Once the front has
// tried to write to stdout it has answered, whatever came of it: bytes may
// have reached kubectl, and a core started now would write a second
// ExecCredential after them. So the front fails alone, as the core would
// on the same broken stdout.
func writeFailed(errOut io.Writer, prog string, err error) int {
	return fail(errOut, prog, fmt.Errorf("could not write the credential: %w", err))
}

func signStatic(ctx context.Context, prog string, req *execargs.Request, info execcred.ExecInfo, creds aws.Credentials, ep token.Endpoint, w, errOut io.Writer, now time.Time) (answered bool, code int) {
	tok, err := token.Presign(ctx, creds, req.ClusterID, ep, now)
	if err != nil {
		return false, 0
	}
	if req.Verbose {
		fmt.Fprintf(errOut, "kubeiam: signing with static keys from the environment for %s (region %s, partition %s)\n", ep.Host, ep.SigningRegion, ep.Partition)
	}
	if w := ep.Warning(); w != "" {
		fmt.Fprintln(errOut, w)
	}
	if err := execcred.Write(w, info, req.TokenOnly, tok.Token, tok.Expiration); err != nil {
		return true, writeFailed(errOut, prog, err)
	}
	return true, 0
}

// errStillRenewing is why a front serves a still-valid token when the
// process renewing it has not finished within the renewal budget.
var errStillRenewing = errors.New("another kubeiam process is still renewing it")

// lockTimeout: how long a front waits for the process refreshing the same
// entry.
const lockTimeout = 30 * time.Second

// serveCached answers from the cache when it holds a valid token for req.
// On a miss it takes the entry's lock before kubeiam-core is started and
// hands it over across exec, so a herd of kubectl processes waits in small
// front processes — the first one's core refreshes, the rest find the new
// token when the lock frees — instead of starting N cores that all queue.
func serveCached(ctx context.Context, prog string, req *execargs.Request, info execcred.ExecInfo, getenv func(string) string, w, errOut io.Writer, now time.Time) (bool, int) {
	backend, err := req.Backend(getenv)
	if err != nil || backend == cache.None {
		return false, 0
	}
	minRemaining, err := execcred.MinRemaining(getenv)
	if err != nil {
		return false, 0
	}
	// Warnings wait until the front answers: on a miss kubeiam-core opens
	// the same cache and says them, and each must be said once.
	opts := execcred.CacheOptions(backend, getenv)
	opts.Warn, opts.HoldWarnings = errOut, true
	opts.Agent = frontAgent()
	c, err := cache.Open(opts)
	if err != nil {
		return false, 0
	}
	want := execcred.ExpectFor(req, getenv)
	// serve writes the answer; a failed write still answers (see
	// writeFailed), with writeErr set.
	var writeErr error
	serve := func(e *cache.Entry) bool {
		c.FlushWarnings()
		if req.Verbose {
			fmt.Fprintf(errOut, "kubeiam: cached token (%s), valid until %s\n", execcred.CacheNote(c), e.TokenExpiry.Format(time.RFC3339))
		}
		writeErr = execcred.Write(w, info, req.TokenOnly, e.Token, e.TokenExpiry)
		return true
	}
	answered := func() (bool, int) {
		if writeErr != nil {
			return true, writeFailed(errOut, prog, writeErr)
		}
		return true, 0
	}
	e, _ := c.Get(ctx, want.Key)
	if e != nil && want.Usable(e, now, minRemaining) {
		serve(e)
		return answered()
	}
	// A token still valid but due for renewal: whoever renews it (the core
	// this front hands over to, or another process holding the lock) has a
	// short budget, and this front waits no longer than that; if the
	// renewal fails, the token is served as it is.
	wait := lockTimeout
	var stale *cache.Entry
	if e != nil && want.Usable(e, now, execcred.StaleMin(minRemaining)) {
		stale = e
		if _, _, refresh, err := req.Budgets(getenv); err == nil {
			wait = refresh + time.Second
		}
	}
	serveStale := func(why error) bool {
		c.FlushWarnings()
		execcred.WarnStale(c, stale, why, time.Now())
		writeErr = execcred.Write(w, info, req.TokenOnly, stale.Token, stale.TokenExpiry)
		return true
	}
	if err := ssoSignInNeeded(req, info, getenv, e, now, minRemaining, prog); err != nil {
		// What kubeiam-core would say after its start-up, said now: the
		// SSO session behind the profile has expired, cannot be renewed,
		// and nobody is there to sign in.
		c.FlushWarnings()
		return true, fail(errOut, prog, err)
	}
	if !handover.Supported {
		return false, 0
	}
	lf, err := c.LockFile(want.Key)
	if lf == nil || err != nil {
		// The core locks (and reports) on its own.
		return false, 0
	}
	f, served, err := handover.HoldLock(ctx, lf, wait, func() bool {
		e := execcred.Lookup(ctx, c, want, time.Now(), minRemaining)
		if e != nil {
			return serve(e)
		}
		// The renewal this front waited for failed: its answer is this
		// call's too, so a herd makes one attempt, not one each.
		if stale != nil {
			if failed := c.RefreshFailedAt(want.Key); !failed.IsZero() && !failed.Before(now) {
				return serveStale(nil)
			}
		}
		return false
	})
	if served {
		return answered()
	}
	if err != nil && stale != nil && ctx.Err() == nil {
		// The holder is still renewing: the valid token answers now.
		serveStale(errStillRenewing)
		return answered()
	}
	if err != nil {
		return false, 0
	}
	if err := handover.HandOver(f, want.Key.ID()); err != nil {
		f.Close()
	}
	return false, 0
}

// exitError is the exit code of a failed call, clierr.ExitError: the front
// fails as kubeiam-core would, without linking the CLI layer.
const exitError = 1

// fail prints err as kubeiam-core would (hint.Write, which clierr.Print
// uses) and returns the exit code. The front's errors are never usage
// errors or a command's exit status: those are the core's to report.
func fail(w io.Writer, prog string, err error) int {
	hint.Write(w, prog, err)
	return exitError
}

// frontAgent is how the front starts the kubeiam agent: kubeiam-core
// (looked for only when one is started), without waiting for it.
func frontAgent() *cache.AgentCommand {
	return &cache.AgentCommand{Lookup: handover.FindCore, Args: []string{"", "agent"}}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
