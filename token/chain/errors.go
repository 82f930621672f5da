package chain

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/smithy-go"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/token"
)

// describeConfigError turns configuration-loading failures into one line
// naming the cause, with a hint naming the fix.
func describeConfigError(err error, profile string) error {
	var notExist config.SharedConfigProfileNotExistError
	if errors.As(err, &notExist) {
		return clierr.WithHint(fmt.Errorf("could not load AWS profile %q: it is not in %s", notExist.Profile, strings.Join(configFiles(), " or ")),
			"run 'aws configure list-profiles' to see the profiles, or set AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE")
	}
	return clierr.WithHint(fmt.Errorf("could not load the AWS configuration: %w", err),
		"check AWS_PROFILE, AWS_CONFIG_FILE and the profile's settings")
}

// describeCredentialsError explains a failure to get credentials: none at
// all, a refused AssumeRole, throttling after retries, an MFA that cannot be
// prompted.
func describeCredentialsError(err error, s *Session) error {
	if errors.Is(err, ErrMFANotInteractive) {
		return clierr.WithHint(ErrMFANotInteractive,
			"set interactiveMode: IfAvailable in the kubeconfig's exec block (apiVersion client.authentication.k8s.io/v1), or run 'kubeiam token -i %s' once in a terminal so the session is cached", s.Options.ClusterID)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "AccessDenied", "AccessDeniedException":
			what := "STS refused the request"
			if s.Options.RoleARN != "" {
				what = fmt.Sprintf("could not assume role %s: access denied", s.Options.RoleARN)
			}
			return clierr.WithHint(fmt.Errorf("%s (%s)", what, oneLine(apiErr.ErrorMessage())),
				"check the role's trust policy allows your identity (and the external ID, if the role requires one)")
		case "Throttling", "ThrottlingException", "RequestLimitExceeded":
			return clierr.WithHint(fmt.Errorf("STS is throttling requests and retries did not get through (%s)", oneLine(apiErr.ErrorMessage())),
				"wait a moment and retry; kubeiam's token cache (--cache=auto) avoids most STS calls")
		case "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch":
			return clierr.WithHint(fmt.Errorf("STS rejected the credentials: %s (%s)", apiErr.ErrorCode(), oneLine(apiErr.ErrorMessage())),
				"refresh them: 'kubeiam login' for SSO profiles, or new keys in the environment or credentials file")
		}
	}
	msg := oneLine(err.Error())
	if strings.Contains(msg, "failed to refresh cached credentials") || strings.Contains(msg, "no EC2 IMDS role found") ||
		strings.Contains(msg, "no credential source") || strings.Contains(msg, "static credentials are empty") {
		return clierr.WithHint(fmt.Errorf("could not find AWS credentials: %s", msg),
			"set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for SSO profiles run 'kubeiam login'")
	}
	return fmt.Errorf("could not get AWS credentials: %s", msg)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

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
	return clierr.WithHint(ee, "%s", fix)
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
