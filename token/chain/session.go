// Package chain loads AWS credentials for a token the way the AWS SDK for Go
// v2 does (environment, shared config and credentials files with profiles,
// SSO, credential_process, web identity, ECS/IMDS), optionally assumes a
// role, and signs with package token. It is the heavy half of token-making:
// the SDK's config chain costs milliseconds of package init, so the small
// front binary never links it.
//
// Credentials are loaded in the SDK's order and region rules, so a profile
// means here what it means to the AWS CLI; errors say which source failed
// and why (network, throttling, denial, expiry, missing) and carry a Hint
// where the fix is known. Every call ends with the caller's context.
//
// The exported API is part of kubeiam's library promise: api/kubeiam.txt
// records it and a test fails when it changes (README, "Using kubeiam as a
// library").
package chain

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/net/http/httpproxy"

	"github.com/kubeiam/kubeiam/internal/deadline"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/execargs"
)

// roleSessionDuration is asked of AssumeRole instead of the SDK's 15
// minutes: the session is cached and signs tokens locally while it lasts,
// and an hour is what every role allows by default (and the cap for role
// chaining). A profile's duration_seconds still wins, whatever its value:
// the SDK ignores values of 15 minutes or less (config's
// credsFromAssumeRole: "RoleDurationSeconds/time.Minute > 15"), so kubeiam
// reads it from the profile itself (see NewSession).
const roleSessionDuration = time.Hour

// Options say whose token to make and for which cluster.
type Options struct {
	// ClusterID is the cluster the token is bound to (the x-k8s-aws-id
	// header the server checks).
	ClusterID string
	// Region picks the regional STS endpoint; empty means the region the AWS
	// configuration resolves, else DefaultRegion.
	Region string
	// Profile is the AWS profile to load; empty means the SDK's choice
	// (AWS_PROFILE, else the default chain).
	Profile string
	// STSGlobal signs for sts.amazonaws.com / us-east-1, for old servers.
	STSGlobal bool
	// FIPS signs for the FIPS endpoint; AWS_USE_FIPS_ENDPOINT=true also sets it.
	FIPS bool

	// RoleARN, when set, is assumed with the loaded credentials (with
	// ExternalID and SessionName when given) and the token is signed as
	// that role. ForwardSessionName uses the caller's own session name
	// instead of SessionName.
	RoleARN            string
	ExternalID         string
	SessionName        string
	ForwardSessionName bool

	// Interactive allows the MFA prompt: kubectl said spec.interactive, or a
	// person runs the command in a terminal.
	Interactive bool
	// Prompt and Input carry the MFA prompt (stderr and stdin).
	Prompt io.Writer
	Input  io.Reader
	// Debug, when set, receives notes (never secrets).
	Debug io.Writer

	// HTTPClient overrides the SDK's client (tests); nil keeps the SDK's,
	// which honours HTTPS_PROXY and AWS_CA_BUNDLE.
	HTTPClient aws.HTTPClient
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// OptionsFor is what one `kubeiam token` request asks of the chain: the
// token command, whoami and doctor all start from it, so they resolve the
// same credentials and endpoint. The I/O, the clock and whether a prompt is
// allowed are the caller's to add.
func OptionsFor(r *execargs.Request) Options {
	return Options{
		ClusterID:          r.ClusterID,
		Region:             r.Region,
		Profile:            r.Profile,
		STSGlobal:          r.STSGlobal,
		FIPS:               r.FIPS,
		RoleARN:            r.RoleARN,
		ExternalID:         r.ExternalID,
		SessionName:        r.SessionName,
		ForwardSessionName: r.ForwardSessionName,
	}
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) debugf(format string, args ...any) {
	if o.Debug != nil {
		fmt.Fprintf(o.Debug, "kubeiam: "+format+"\n", args...)
	}
}

// Session is the resolved AWS configuration for one set of Options: where the
// credentials come from and which endpoint a token names. Building it reads
// files and environment only; Credentials may call out.
type Session struct {
	Options  Options
	Config   aws.Config
	Endpoint token.Endpoint
	// Profile is the shared-config profile in effect ("" when none applies).
	Profile string

	provider aws.CredentialsProvider
}

// NewSession loads the AWS SDK's default configuration chain (environment,
// shared config and credentials files with profiles, SSO, credential_process,
// web identity, ECS/IMDS) and resolves the endpoint. It makes no network call.
func NewSession(ctx context.Context, opts Options) (*Session, error) {
	if opts.ClusterID == "" {
		return nil, errors.New("a cluster ID is required")
	}
	if opts.ForwardSessionName && opts.SessionName != "" {
		return nil, errors.New("--forward-session-name and --session-name cannot be used together")
	}
	if (opts.ExternalID != "" || opts.SessionName != "" || opts.ForwardSessionName) && opts.RoleARN == "" {
		return nil, errors.New("--external-id, --session-name and --forward-session-name need --role-arn")
	}
	// profileDuration is the profile's duration_seconds when the SDK
	// dropped it (15 minutes or less); 0 on the first load.
	var profileDuration time.Duration
	load := func() (aws.Config, error) {
		loadOpts := []func(*config.LoadOptions) error{
			config.WithAssumeRoleCredentialOptions(func(o *stscreds.AssumeRoleOptions) {
				o.TokenProvider = opts.mfaTokenProvider
				switch {
				case profileDuration > 0:
					o.Duration = profileDuration
				case o.Duration == 0:
					o.Duration = roleSessionDuration
				}
			}),
			// Retries happen inside the command's budget (the context's
			// deadline), so more attempts never mean a longer wait.
			// kubectl is waiting: retry soon (backoff under a second)
			// or not at all.
			config.WithRetryer(func() aws.Retryer {
				return retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = 5
					o.MaxBackoff = time.Second
				})
			}),
		}
		if opts.HTTPClient != nil {
			loadOpts = append(loadOpts, config.WithHTTPClient(opts.HTTPClient))
		}
		return LoadConfig(ctx, opts.Profile, opts.Region, loadOpts...)
	}
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	if d := shortRoleDuration(cfg); d > 0 {
		// Rare (a profile asking for 15 minutes or less): load again so the
		// AssumeRole provider the SDK built asks for what the profile says.
		profileDuration = d
		if cfg, err = load(); err != nil {
			return nil, err
		}
	}
	if cfg.Region == "" {
		opts.debugf("no region configured; signing for %s", token.DefaultRegion)
		cfg.Region = token.DefaultRegion
	}
	fips := opts.FIPS
	for _, src := range cfg.ConfigSources {
		if ec, ok := src.(config.EnvConfig); ok && ec.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled {
			fips = true
		}
		if sc, ok := src.(config.SharedConfig); ok && sc.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled {
			fips = true
		}
	}
	ep, err := token.EndpointFor(cfg.Region, opts.STSGlobal, fips)
	var re *token.RegionError
	if errors.As(err, &re) {
		re.Source = regionSource(opts, cfg)
		return nil, hint.New(hint.Config, re, "AWS regions are lowercase, like us-east-1 or eu-west-2: fix or unset %s", regionSetting(re.Source))
	}
	if err != nil {
		return nil, err
	}
	return &Session{Options: opts, Config: cfg, Endpoint: ep, Profile: activeProfile(cfg)}, nil
}

// LoadConfig loads the AWS SDK's default configuration chain for profile and
// region (either may be empty: the chain's own choice), with extra load
// options, and explains a failure in one line (an unknown profile names the
// files searched). It makes no network call.
func LoadConfig(ctx context.Context, profile, region string, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	var loadOpts []func(*config.LoadOptions) error
	if profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(profile))
	}
	if region != "" {
		loadOpts = append(loadOpts, config.WithRegion(region))
	}
	// Every client the chain builds (STS for AssumeRole and web identity,
	// SSO, EKS, IAM) gets an HTTP client whose every wait is bounded by
	// the budget's attempt time; the budget's total is ctx's deadline.
	loadOpts = append(loadOpts, config.WithHTTPClient(HTTPClient(ctx)), config.WithAPIOptions([]func(*middleware.Stack) error{NoteAnswers}))
	cfg, err := config.LoadDefaultConfig(ctx, append(loadOpts, extra...)...)
	if err != nil {
		return aws.Config{}, describeConfigError(err, profile)
	}
	return cfg, nil
}

// regionSetting names the setting to fix for a region from source.
func regionSetting(source string) string {
	switch {
	case strings.HasPrefix(source, "profile "):
		return "the region of " + source
	case source == "":
		return "the region setting"
	}
	return source
}

// regionSource names where the SDK took cfg.Region from, for messages.
func regionSource(opts Options, cfg aws.Config) string {
	if opts.Region != "" {
		return "--region"
	}
	for _, src := range cfg.ConfigSources {
		switch c := src.(type) {
		case config.EnvConfig:
			if c.Region != "" {
				if os.Getenv("AWS_REGION") == c.Region {
					return "AWS_REGION"
				}
				return "AWS_DEFAULT_REGION"
			}
		case config.SharedConfig:
			if c.Region != "" {
				return fmt.Sprintf("profile %q", c.Profile)
			}
		}
	}
	return ""
}

// Credentials returns the credentials that sign the token: the base chain's,
// or the assumed role's. This is where network calls happen (AssumeRole, SSO,
// IMDS), with the SDK's retries and backoff on throttling.
func (s *Session) Credentials(ctx context.Context) (aws.Credentials, error) {
	provider := s.Config.Credentials
	if s.Options.RoleARN != "" {
		name := s.Options.SessionName
		if s.Options.ForwardSessionName {
			var err error
			if name, err = s.callerSessionName(ctx); err != nil {
				return aws.Credentials{}, err
			}
		}
		if name == "" {
			name = fmt.Sprintf("kubeiam-%d", s.Options.now().Unix())
		}
		provider = stscreds.NewAssumeRoleProvider(sts.NewFromConfig(s.Config), s.Options.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = name
			o.Duration = roleSessionDuration
			if s.Options.ExternalID != "" {
				o.ExternalID = aws.String(s.Options.ExternalID)
			}
		})
	}
	if provider == nil {
		return aws.Credentials{}, describeCredentialsError(ctx, errors.New("no credential source found"), s)
	}
	creds, err := s.retrieve(ctx, provider)
	if err != nil {
		return aws.Credentials{}, err
	}
	if err := token.CheckFresh(creds, s.Options.now()); err == nil {
		return creds, nil
	} else if creds.Source == EnvSource {
		return aws.Credentials{}, describeExpiring(err, creds, s, false) // nothing to ask again
	}
	// Too close to their end to sign with: ask the source once more
	// (credential_process runs again, SSO and AssumeRole are called again).
	// The SDK's cache would hand back the same credentials until they have
	// expired, so it is told to forget them.
	s.Options.debugf("the credentials from %s expire at %s; refreshing them", sourceName(creds.Source), creds.Expires.UTC().Format(time.RFC3339))
	if c, ok := provider.(interface{ Invalidate() }); ok {
		c.Invalidate()
	}
	if creds, err = s.retrieve(ctx, provider); err != nil {
		return aws.Credentials{}, err
	}
	if err := token.CheckFresh(creds, s.Options.now()); err != nil {
		return aws.Credentials{}, describeExpiring(err, creds, s, true)
	}
	return creds, nil
}

// retrieve gets credentials from provider, with the expiry that
// AWS_CREDENTIAL_EXPIRATION gives keys from the environment.
func (s *Session) retrieve(ctx context.Context, provider aws.CredentialsProvider) (aws.Credentials, error) {
	creds, err := Retrieve(ctx, provider)
	if err != nil {
		return aws.Credentials{}, describeCredentialsError(ctx, err, s)
	}
	if err := s.applyEnvExpiration(&creds); err != nil {
		return aws.Credentials{}, err
	}
	return creds, nil
}

// applyEnvExpiration honours AWS_CREDENTIAL_EXPIRATION, which the AWS CLI
// reads and tools that export temporary credentials (aws configure
// export-credentials, aws-vault) set, but the Go SDK ignores: without it a
// token made from expired environment keys looks valid for 14 minutes.
func (s *Session) applyEnvExpiration(creds *aws.Credentials) error {
	v := os.Getenv(credentialExpirationEnv)
	if v == "" || creds.CanExpire || s.Options.RoleARN != "" || creds.AccessKeyID != os.Getenv("AWS_ACCESS_KEY_ID") {
		return nil
	}
	exp, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return hint.New(hint.Config, fmt.Errorf("%s=%q is not an RFC 3339 time", credentialExpirationEnv, v),
			"set it as the AWS CLI writes it (2006-01-02T15:04:05Z), or unset it")
	}
	creds.CanExpire, creds.Expires = true, exp
	creds.Source = EnvSource
	return nil
}

const credentialExpirationEnv = "AWS_CREDENTIAL_EXPIRATION"

// EnvSource is the Source of environment keys that AWS_CREDENTIAL_EXPIRATION
// made temporary; they are not worth caching, the environment holds them.
const EnvSource = "EnvConfigCredentials"

// Token makes a token: Credentials, then Presign at the session's clock.
func (s *Session) Token(ctx context.Context) (token.Token, aws.Credentials, error) {
	creds, err := s.Credentials(ctx)
	if err != nil {
		return token.Token{}, aws.Credentials{}, err
	}
	tok, err := token.Presign(ctx, creds, s.Options.ClusterID, s.Endpoint, s.Options.now())
	return tok, creds, err
}

// callerSessionName asks STS who the base credentials belong to and returns
// the session part of an assumed-role caller ("AROA…:name" → "name").
func (s *Session) callerSessionName(ctx context.Context) (string, error) {
	out, err := sts.NewFromConfig(s.Config).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", describeCredentialsError(ctx, err, s)
	}
	if id := aws.ToString(out.UserId); strings.Contains(id, ":") {
		return id[strings.Index(id, ":")+1:], nil
	}
	return "", nil
}

// ErrMFANotInteractive is returned when a profile needs an MFA code and
// nobody can type it.
var ErrMFANotInteractive = errors.New("the profile needs an MFA code, but kubectl did not give the plugin a terminal")

func (o *Options) mfaTokenProvider() (string, error) {
	if !o.Interactive || o.Input == nil || o.Prompt == nil {
		return "", ErrMFANotInteractive
	}
	fmt.Fprint(o.Prompt, "Assume Role MFA token code: ")
	line, err := bufio.NewReader(o.Input).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("could not read the MFA code: %w", err)
	}
	code := strings.TrimSpace(line)
	if code == "" {
		return "", errors.New("could not read the MFA code: it is empty")
	}
	return code, nil
}

func activeProfile(cfg aws.Config) string {
	for _, src := range cfg.ConfigSources {
		if sc, ok := src.(config.SharedConfig); ok && sc.Profile != "" {
			return sc.Profile
		}
	}
	return ""
}

// shortRoleDuration is the duration_seconds of the profile in effect when
// it assumes a role and the SDK ignored the value (15 minutes or less).
func shortRoleDuration(cfg aws.Config) time.Duration {
	for _, src := range cfg.ConfigSources {
		if sc, ok := src.(config.SharedConfig); ok && sc.RoleARN != "" && sc.RoleDurationSeconds != nil {
			if d := *sc.RoleDurationSeconds; d > 0 && d/time.Minute <= 15 {
				return d
			}
		}
	}
	return 0
}

// HTTPClient is the SDK's HTTP client (it keeps HTTPS_PROXY, NO_PROXY and
// AWS_CA_BUNDLE working) with every wait of a connection bounded by ctx's
// attempt time (internal/deadline): connecting, the proxy's answer, the TLS
// handshake, the response headers and each silence in a body. The SDK's
// default bounds only the first two and the handshake.
func HTTPClient(ctx context.Context) *awshttp.BuildableClient {
	attempt := deadline.Attempt(ctx, deadline.Command.Attempt)
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = attempt }).
		WithReadTimeout(attempt).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = attempt
			tr.ResponseHeaderTimeout = attempt
			// http.ProxyFromEnvironment reads the environment once per
			// process; this reads it when the client is made.
			proxy := httpproxy.FromEnvironment().ProxyFunc()
			tr.Proxy = deadline.ProxyFunc(func(r *http.Request) (*url.URL, error) { return proxy(r.URL) })
		})
}

// Retrieve asks provider for credentials and returns when ctx ends even if
// the provider does not: a credential_process whose children keep its
// output open, or any provider that ignores its context, must not keep
// kubectl waiting. An abandoned call ends with the process.
func Retrieve(ctx context.Context, provider aws.CredentialsProvider) (aws.Credentials, error) {
	type result struct {
		creds aws.Credentials
		err   error
	}
	done := make(chan result, 1)
	go func() {
		c, err := provider.Retrieve(ctx)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		return r.creds, r.err
	case <-ctx.Done():
		// Prefer the provider's own error when it ended at the same time:
		// it names the endpoint.
		select {
		case r := <-done:
			return r.creds, r.err
		case <-time.After(50 * time.Millisecond):
		}
		return aws.Credentials{}, ctx.Err()
	}
}

// NoteAnswers records each failed attempt's answer in the context's budget
// (deadline.NoteFailure), so that when the budget runs out during the
// SDK's retries the message says what the service answered (throttled,
// HTTP 500) rather than only that time ran out. Deserialize runs once per
// attempt, inside the retry loop.
func NoteAnswers(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("kubeiamNoteAnswers",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if err != nil {
				deadline.NoteFailure(ctx, &smithy.OperationError{ServiceID: awsmiddleware.GetServiceID(ctx), OperationName: awsmiddleware.GetOperationName(ctx), Err: err})
			}
			return out, md, err
		}), middleware.Before)
}
