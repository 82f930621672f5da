// Package token implements `kubeiam token`, the kubectl exec credential
// plugin. Its stdout carries only the ExecCredential (or, with --token-only,
// the bare token); everything for people goes to stderr.
package token

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/deadline"
	"github.com/kubeiam/kubeiam/internal/execcred"
	"github.com/kubeiam/kubeiam/internal/handover"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/chain"
	"github.com/kubeiam/kubeiam/token/execargs"
)

// lockTimeout bounds the wait for another kubeiam process refreshing the
// same entry; past it this process refreshes on its own.
const lockTimeout = 30 * time.Second

// Options are the flags of `kubeiam token`.
type Options struct {
	IO      *iostreams.IOStreams
	Getenv  func(string) string
	Now     func() time.Time
	Request execargs.Request
	// Prog is how the user runs kubeiam ("kubeiam", "kubectl iam"), for
	// the commands messages name.
	Prog string
}

// NewCmd builds `kubeiam token`; runF replaces Run in tests.
func NewCmd(io *iostreams.IOStreams, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: io, Getenv: os.Getenv, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "token -i CLUSTER_ID",
		Short: "Print an ExecCredential with a token for an aws-iam-authenticator cluster",
		Long: `Print a kubectl ExecCredential holding a token for the cluster ID, signed with
your AWS credentials (the AWS SDK's default chain: environment, profiles, SSO,
credential_process, web identity, ECS/IMDS), optionally after assuming a role.

The ExecCredential's apiVersion follows KUBERNETES_EXEC_INFO (v1 or v1beta1;
v1beta1 when unset). The token names the canonical STS host of the region
(--sts-global for sts.amazonaws.com); AWS_ENDPOINT_URL_STS redirects only
kubeiam's own STS calls such as AssumeRole.

Tokens, and credentials from role assumption or SSO, are cached (--cache,
KUBEIAM_CACHE): in the OS keyring when there is one, else in private files
under $XDG_CACHE_HOME/kubeiam. Concurrent calls for the same cluster and
identity make one STS call between them.`,
		Example: `  # what a kubeconfig's exec block runs
  kubeiam token -i 6d9b1f5e-1c2a-4c36-9e0f-2a7d4e1c0b11

  # assume a role first, as a named session
  kubeiam token -i my-cluster -r arn:aws:iam::111122223333:role/k8s-admin -s alice

  # just the token, for curl; skip the cache
  kubeiam token -i my-cluster --token-only --no-cache`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Request.ClusterIDFrom(opts.Getenv)
			if opts.Request.ClusterID == "" {
				return clierr.WithHint(clierr.Usagef("a cluster ID is required"),
					"pass -i CLUSTER_ID (EKS-A keeps it in ConfigMap kube-system/aws-iam-authenticator) or set %s", execargs.ClusterIDEnv)
			}
			if err := opts.Request.Validate(); err != nil {
				return &clierr.UsageError{Err: err}
			}
			opts.Prog = cmd.Root().DisplayName()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	opts.Request.AddFlags(cmd.Flags())
	return cmd
}

// Run prints the credential: from the cache when a valid token is there,
// else signed anew (with cached role credentials when they are still valid)
// under the entry's lock, so a herd of kubectl processes makes one STS call.
//
// Every network wait runs under a budget (--timeout, KUBEIAM_TIMEOUT): a
// dead network ends the call with one line naming the endpoint. A cached
// token that is still valid but due for renewal (KUBEIAM_CACHE_MIN_REMAINING)
// gets a short budget (--refresh-timeout); when the renewal fails it is
// served as it is, with a rate-limited warning, and the next call tries
// again.
func Run(ctx context.Context, opts *Options) error {
	req, getenv := &opts.Request, opts.Getenv
	started := opts.Now()
	info, err := execcred.ParseExecInfo(getenv(execcred.ExecInfoEnv))
	if err != nil {
		return clierr.WithHint(err, "the kubeconfig's exec apiVersion must be %s or %s", execcred.APIVersionV1, execcred.APIVersionV1beta1)
	}
	backend, err := req.Backend(getenv)
	if err != nil {
		return clierr.Usagef("%v", err)
	}
	minRemaining, err := execcred.MinRemaining(getenv)
	if err != nil {
		return err
	}
	total, attempt, refresh, err := req.Budgets(getenv)
	if err != nil {
		return clierr.Usagef("%v", err)
	}
	budget := deadline.Budget{Total: total, Attempt: attempt}
	copts := execcred.CacheOptions(backend, getenv)
	copts.Warn = opts.IO.ErrOut
	copts.Agent = coreAgent()
	c, err := cache.Open(copts)
	if err != nil {
		return err
	}
	want := execcred.ExpectFor(req, getenv)
	key := want.Key
	// stale is a cached token still valid but due for renewal: served when
	// the renewal fails.
	var stale *cache.Entry
	staleOK := func(e *cache.Entry) bool {
		return e != nil && want.Usable(e, opts.Now(), execcred.StaleMin(minRemaining))
	}
	// The front may have looked the entry up, taken its lock and handed the
	// lock over across exec: then this process holds it from its start and
	// one look under the lock is all it needs (with a keyring, each look is
	// a D-Bus round trip).
	unlock, held := handover.AdoptLock(key.ID())
	if !held {
		e, _ := c.Get(ctx, key)
		if e != nil && want.Usable(e, opts.Now(), minRemaining) {
			opts.debugf("cached token (%s), valid until %s", execcred.CacheNote(c), e.TokenExpiry.Format(time.RFC3339))
			return execcred.Write(opts.IO.Out, info, req.TokenOnly, e.Token, e.TokenExpiry)
		}
		wait := lockTimeout
		if staleOK(e) {
			// Whoever holds the lock is renewing a token that is still
			// valid: wait for it no longer than its own renewal may take.
			stale, wait = e, refresh+time.Second
		}
		if unlock, err = c.Lock(ctx, key, wait); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if stale != nil {
				opts.debugf("another kubeiam process is renewing the token; serving the cached one, valid until %s", stale.TokenExpiry.Format(time.RFC3339))
				return execcred.Write(opts.IO.Out, info, req.TokenOnly, stale.Token, stale.TokenExpiry)
			}
			fmt.Fprintf(opts.IO.ErrOut, "kubeiam: warning: %v; refreshing without it\n", err)
			unlock = func() {}
		}
	}
	defer unlock()
	// Another process may have refreshed the entry while this one waited
	// (or, with a handed-over lock, since the front looked).
	e, _ := c.Get(ctx, key)
	if e != nil && want.Usable(e, opts.Now(), minRemaining) {
		if held {
			opts.debugf("cached token (%s), valid until %s", execcred.CacheNote(c), e.TokenExpiry.Format(time.RFC3339))
		} else {
			opts.debugf("token refreshed by another kubeiam process")
		}
		return execcred.Write(opts.IO.Out, info, req.TokenOnly, e.Token, e.TokenExpiry)
	}
	if staleOK(e) {
		stale = e
		// The process this one waited for failed to renew it: its answer
		// is this one's too (one attempt per herd, not one each).
		if failed := c.RefreshFailedAt(key); !failed.IsZero() && !failed.Before(started) {
			execcred.WarnStale(c, stale, nil, opts.Now())
			return execcred.Write(opts.IO.Out, info, req.TokenOnly, stale.Token, stale.TokenExpiry)
		}
	} else {
		stale = nil
	}

	b := budget
	if stale != nil {
		// One attempt, bounded by the renewal budget alone: a retry
		// could not finish in it anyway.
		b = deadline.Budget{Total: refresh, Attempt: refresh + time.Second}
		opts.debugf("cached token valid until %s is due for renewal; renewing within %s", stale.TokenExpiry.Format(time.RFC3339), deadline.String(refresh))
	}
	nctx, cancel := deadline.Start(ctx, b)
	defer cancel()
	tok, err := sign(nctx, ctx, opts, info, c, key, e, minRemaining)
	if err != nil {
		err = deadline.Explain(nctx, err)
		if stale != nil && ctx.Err() == nil {
			c.NoteRefreshFailed(key, opts.Now())
			execcred.WarnStale(c, stale, err, opts.Now())
			return execcred.Write(opts.IO.Out, info, req.TokenOnly, stale.Token, stale.TokenExpiry)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return execcred.Write(opts.IO.Out, info, req.TokenOnly, tok.Token, tok.Expiration)
}

// sign makes a new token under ctx's budget (the sign-in, a person's
// wait, runs under parent: Ctrl-C ends it, the budget does not), stores it
// and returns it. e is the entry as cached (its credentials may still sign).
func sign(ctx, parent context.Context, opts *Options, info execcred.ExecInfo, c *cache.Cache, key cache.Key, e *cache.Entry, minRemaining time.Duration) (token.Token, error) {
	req := &opts.Request
	copts := chain.OptionsFor(req)
	copts.Interactive = info.Interactive || (!info.FromKubectl && opts.IO.ErrIsTerminal)
	copts.Prompt, copts.Input = opts.IO.ErrOut, opts.IO.In
	copts.Debug = opts.debugOut()
	copts.Now = opts.Now
	sess, err := chain.NewSession(ctx, copts)
	if err != nil {
		return token.Token{}, err
	}
	opts.debugf("signing for %s (region %s, partition %s)", sess.Endpoint.Host, sess.Endpoint.SigningRegion, sess.Endpoint.Partition)
	if _, err := token.ServerV072.HostRegion(sess.Endpoint.Partition, "", sess.Endpoint.Host); err != nil {
		opts.debugf("note: %v, unless it runs in that region", err)
	}

	var creds aws.Credentials
	// Cached credentials must outlive the token's own minimum by the margin
	// Expiration keeps before a session's end, and never sign closer to
	// their end than token.MinCredentialLife.
	if e.CredentialsValid(opts.Now(), max(minRemaining+time.Minute, token.MinCredentialLife)) {
		cc := e.Credentials
		opts.debugf("signing with cached credentials valid until %s", cc.Expires.Format(time.RFC3339))
		creds = aws.Credentials{AccessKeyID: cc.AccessKeyID, SecretAccessKey: cc.SecretAccessKey, SessionToken: cc.SessionToken,
			Source: cc.Source, CanExpire: cc.CanExpire, Expires: cc.Expires}
	} else {
		// An SSO profile's token is renewed, or signed in to, first: the
		// SDK only reads it.
		if err := ensureSSO(ctx, parent, opts, info, opts.Prog); err != nil {
			return token.Token{}, err
		}
		if creds, err = sess.Credentials(ctx); err != nil {
			return token.Token{}, err
		}
	}
	tok, err := token.Presign(ctx, creds, req.ClusterID, sess.Endpoint, opts.Now())
	if err != nil {
		return token.Token{}, err
	}
	if w := sess.Endpoint.Warning(); w != "" {
		fmt.Fprintln(opts.IO.ErrOut, w)
	}
	entry := &cache.Entry{Key: key, Token: tok.Token, TokenExpiry: tok.Expiration}
	// Only temporary credentials are worth keeping: they cost a network
	// call (AssumeRole, SSO, IMDS) or an MFA prompt to get again. Long-lived
	// keys, and any in the environment, stay where the user keeps them.
	if creds.CanExpire && creds.Source != chain.EnvSource {
		entry.Credentials = &cache.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
			SessionToken: creds.SessionToken, Source: creds.Source, CanExpire: true, Expires: creds.Expires}
	}
	// A failed write is a warning the cache prints itself, rate-limited per
	// cause (a full disk once an hour, not on every call).
	_ = c.Put(ctx, entry)
	return tok, nil
}

func (o *Options) debugOut() io.Writer {
	if o.Request.Verbose {
		return o.IO.ErrOut
	}
	return nil
}

func (o *Options) debugf(format string, args ...any) {
	if o.Request.Verbose {
		fmt.Fprintf(o.IO.ErrOut, "kubeiam: "+format+"\n", args...)
	}
}

// agentWait is how long kubeiam-core waits for an agent it started to
// answer: it runs on a cache miss, which pays an STS round trip anyway, and
// the next kubectl call then finds the agent.
const agentWait = 500 * time.Millisecond

// coreAgent is how kubeiam-core starts the kubeiam agent: itself, under
// the name it runs as (multi-call test binaries dispatch on argv[0]).
func coreAgent() *cache.AgentCommand {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return &cache.AgentCommand{Path: exe, Args: []string{os.Args[0], "agent"}, Wait: agentWait}
}
