package chain

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/smithy-go"

	"github.com/kubeiam/kubeiam/internal/deadline"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/token"
)

// describeConfigError turns configuration-loading failures into one line
// naming the cause, with a hint naming the fix.
func describeConfigError(err error, profile string) error {
	var notExist config.SharedConfigProfileNotExistError
	if errors.As(err, &notExist) {
		return hint.New(hint.Config, fmt.Errorf("could not load AWS profile %q: it is not in %s", notExist.Profile, strings.Join(configFiles(), " or ")),
			"run 'aws configure list-profiles' to see the profiles, or set AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE")
	}
	return hint.New(hint.Config, fmt.Errorf("could not load the AWS configuration: %w", err),
		"check AWS_PROFILE, AWS_CONFIG_FILE and the profile's settings")
}

// describeCredentialsError explains a failure to get credentials, told
// apart by what happened: the network (no answer, refused, reset, a proxy,
// a server error, a garbled answer), throttling, a denial, expired
// credentials, an MFA that cannot be prompted, and — only when nothing
// else explains it — no credentials at all. The SDK wraps every failure of
// a credential source in "failed to refresh cached credentials", so that
// text says nothing about the cause.
func describeCredentialsError(ctx context.Context, err error, s *Session) error {
	return describeAWSError(ctx, err, s.what(), s.Options.ClusterID, s.Options.RoleARN, processCommand(s.Config))
}

// what names the credential source for messages.
func (s *Session) what() string {
	if s.Options.RoleARN != "" {
		return "role " + s.Options.RoleARN
	}
	if s.Profile != "" {
		return fmt.Sprintf("profile %q", s.Profile)
	}
	return ""
}

// describeAWSError classifies an error of an AWS SDK call made under ctx
// (see internal/deadline for its budget): the one place the token path
// turns SDK errors into a line and a hint (the EKS commands and SSO share
// its network part, NetworkError). role is the
// role being assumed ("" for none), process the credential_process
// command ("" for none), clusterID for the MFA hint.
func describeAWSError(ctx context.Context, err error, source, clusterID, role, process string) error {
	if errors.Is(err, ErrMFANotInteractive) {
		return hint.New(hint.Config, ErrMFANotInteractive,
			"set interactiveMode: IfAvailable in the kubeconfig's exec block (apiVersion client.authentication.k8s.io/v1), or run 'kubeiam token -i %s' once in a terminal so the session is cached", clusterID)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// The budget ran out while the SDK was retrying: the last answer
		// it got (throttled, HTTP 500) says more than the deadline.
		if last := deadline.LastFailure(ctx); last != nil {
			err = last
		}
	}
	msg := text.OneLine(err.Error())
	// The IMDS probe of the default chain failing is how the SDK says it
	// found nothing else: no credentials, not a network problem.
	if strings.Contains(msg, "EC2 IMDS") || strings.Contains(msg, "no credential source") || strings.Contains(msg, "static credentials are empty") {
		return hint.New(hint.Missing, fmt.Errorf("could not find AWS credentials: %s", msg),
			"set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for SSO profiles run 'kubeiam login'")
	}
	// A credential_process that ran out of the budget: the SDK says only
	// that the request was cancelled (no endpoint is involved).
	var ue *url.Error
	if strings.Contains(msg, "credential process timed out") || (process != "" && errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &ue)) {
		cmd := "credential_process"
		if process != "" {
			cmd = fmt.Sprintf("credential_process %q", process)
		}
		return hint.New(hint.Network, fmt.Errorf("%s gave no credentials in %s", cmd, deadline.String(deadline.Elapsed(ctx))),
			"make it answer faster, or allow more time with --timeout or %s", deadline.TimeoutEnv)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code, text := apiErr.ErrorCode(), text.OneLine(apiErr.ErrorMessage())
		switch code {
		case "AccessDenied", "AccessDeniedException", "ForbiddenException":
			what := "AWS refused the request"
			if role != "" {
				what = fmt.Sprintf("could not assume role %s: access denied", role)
			}
			return hint.New(hint.Denied, fmt.Errorf("%s (%s)", what, text),
				"check the role's trust policy allows your identity (and the external ID, if the role requires one)")
		case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown", "SlowDownException":
			return hint.New(hint.Throttled, fmt.Errorf("%s is throttling requests and retries did not get through (%s)", service(err), text),
				"wait a moment and retry; kubeiam's token cache (--cache=auto) avoids most calls")
		case "ExpiredToken", "ExpiredTokenException", "UnauthorizedException", "InvalidGrantException":
			return hint.New(hint.Expired, fmt.Errorf("%s rejected the credentials as expired: %s (%s)", service(err), code, text),
				"refresh them: 'kubeiam login' for SSO profiles, or new keys in the environment or credentials file")
		case "InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature", "InvalidIdentityToken", "IDPRejectedClaim":
			return hint.New(hint.Denied, fmt.Errorf("%s rejected the credentials: %s (%s)", service(err), code, text),
				"refresh them: 'kubeiam login' for SSO profiles, or new keys in the environment or credentials file")
		}
	}
	if ne := NetworkError(ctx, err); ne != nil {
		return ne
	}
	if source != "" {
		return fmt.Errorf("could not get AWS credentials from %s: %s", source, msg)
	}
	return fmt.Errorf("could not get AWS credentials: %s", msg)
}

// NetworkError tells an SDK error that is the network's or the service's
// fault (no answer within the budget, refused, reset, a failing proxy, an
// HTTP 5xx or 429 after the retries, an answer that is not the service's)
// in one line naming the endpoint; nil for any other error.
func NetworkError(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		if last := deadline.LastFailure(ctx); last != nil {
			err = last
		}
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown", "SlowDownException":
			return hint.New(hint.Throttled, fmt.Errorf("%s is throttling requests and retries did not get through (%s)", service(err), text.OneLine(apiErr.ErrorMessage())),
				"wait a moment and retry; kubeiam's token cache (--cache=auto) avoids most calls")
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		switch code := status.HTTPStatusCode(); {
		case code == 429:
			return hint.New(hint.Throttled, fmt.Errorf("%s is throttling requests and retries did not get through (HTTP 429)", service(err)),
				"wait a moment and retry; kubeiam's token cache (--cache=auto) avoids most calls")
		case code >= 500:
			ne := deadline.HTTPStatus(ctx, code, err)
			return hint.New(hint.Network, ne, "%s", ne.Fix)
		}
	}
	if ne := deadline.Describe(ctx, err); ne != nil {
		return hint.New(hint.Network, ne, "%s", ne.Fix)
	}
	var de *smithy.DeserializationError
	if errors.As(err, &de) {
		ne := deadline.Garbled(ctx, service(err), err)
		return hint.New(hint.Network, ne, "%s", ne.Fix)
	}
	return nil
}

// service names the AWS service of a failed SDK operation ("STS").
func service(err error) string {
	var oe *smithy.OperationError
	if errors.As(err, &oe) && oe.ServiceID != "" {
		return oe.ServiceID
	}
	return "AWS"
}

func configFiles() []string {
	home, _ := os.UserHomeDir()
	cfg := os.Getenv("AWS_CONFIG_FILE")
	if cfg == "" {
		cfg = home + "/.aws/config"
	}
	creds := os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	if creds == "" {
		creds = home + "/.aws/credentials"
	}
	return []string{cfg, creds}
}

// describeExpiring names the source of credentials that are still too short
// after a refresh, and how to renew them (never their values).
func describeExpiring(err error, creds aws.Credentials, s *Session, refreshed bool) error {
	var ee *token.ExpiringError
	if !errors.As(err, &ee) {
		return err
	}
	ee.Refreshed = refreshed
	profile := ""
	if s.Profile != "" {
		profile = fmt.Sprintf(" of profile %q", s.Profile)
	}
	src := sourceName(creds.Source) + profile
	var fix string
	switch {
	case s.Options.RoleARN != "":
		src = "role " + s.Options.RoleARN
		fix = "STS gave a session shorter than kubeiam asked for: check the role's maximum session duration"
	case strings.HasPrefix(creds.Source, processcreds.ProviderName):
		if cmd := processCommand(s.Config); cmd != "" {
			src = fmt.Sprintf("credential_process %q%s", cmd, profile)
		}
		fix = "make the credential_process command return credentials that last longer (its Expiration field), or renew what it reads"
	case strings.HasPrefix(creds.Source, ssocreds.ProviderName):
		fix = fmt.Sprintf("run 'kubeiam login%s'", strings.Replace(profile, " of profile ", " --profile ", 1))
	case strings.HasPrefix(creds.Source, stscreds.WebIdentityProviderName):
		fix = "renew the web identity token file (AWS_WEB_IDENTITY_TOKEN_FILE) or the role's session duration"
	case creds.Source == EnvSource:
		src = "the environment (AWS_ACCESS_KEY_ID, " + credentialExpirationEnv + ")"
		fix = "export fresh credentials, e.g. eval \"$(aws configure export-credentials --format env)\""
	default:
		fix = "renew the credentials of that source (for SSO profiles: kubeiam login) and retry"
	}
	ee.Source = src
	return hint.New(hint.Expired, ee, "%s", fix)
}

// sourceName turns the SDK's provider names into what a person recognises.
func sourceName(source string) string {
	for _, n := range []struct{ prefix, name string }{
		{processcreds.ProviderName, "credential_process"},
		{ssocreds.ProviderName, "SSO"},
		{stscreds.ProviderName, "AssumeRole"},
		{stscreds.WebIdentityProviderName, "web identity"},
		{"EC2RoleProvider", "the EC2 instance role"},
		{"CredentialsEndpointProvider", "the container credentials endpoint"},
		{"SharedConfigCredentials", "the shared credentials file"},
		{EnvSource, "the environment"},
	} {
		if strings.HasPrefix(source, n.prefix) {
			return n.name
		}
	}
	if source == "" {
		return "the AWS credential chain"
	}
	return source
}

// processCommand is the program a profile's credential_process runs: its
// first word only, as the rest may carry secrets.
func processCommand(cfg aws.Config) string {
	for _, src := range cfg.ConfigSources {
		if sc, ok := src.(config.SharedConfig); ok && sc.CredentialProcess != "" {
			if f := strings.Fields(sc.CredentialProcess); len(f) > 0 {
				return strings.Trim(f[0], `"'`)
			}
		}
	}
	return ""
}
