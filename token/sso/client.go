package sso

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/ctxsleep"
	"github.com/kubeiam/kubeiam/internal/fsafe"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/chain"
)

// Client talks to the OIDC and portal endpoints of one session's region.
type Client struct {
	s      *Session
	oidc   *ssooidc.Client
	portal *sso.Client
	// oidcURL is the resolved OIDC endpoint, for the browser's /authorize.
	oidcURL string

	now func() time.Time
	// wait sleeps between device-flow polls; tests make it instant.
	wait func(ctx context.Context, d time.Duration) error
	// browserTimeout bounds the wait for the browser's redirect, as the
	// device code's lifetime bounds the device flow.
	browserTimeout time.Duration
}

// NewClient builds the ssooidc and sso clients for s.Region with the SDK:
// endpoints honour AWS_ENDPOINT_URL_SSO_OIDC, AWS_ENDPOINT_URL_SSO and
// AWS_ENDPOINT_URL, and the SDK's HTTP client HTTPS_PROXY and SSL_CERT_FILE.
// A nil httpClient keeps the SDK's.
func NewClient(ctx context.Context, s *Session, httpClient aws.HTTPClient) (*Client, error) {
	if _, err := token.CheckRegion(s.Region); err != nil {
		return nil, hint.With(fmt.Errorf("sso_region of %s: %w", s, err), "fix sso_region in %s", awsConfigName())
	}
	env, err := config.NewEnvConfig()
	if err != nil {
		return nil, err
	}
	cfg := aws.Config{Region: s.Region, ConfigSources: []any{env}, RetryMaxAttempts: 3, APIOptions: []func(*middleware.Stack) error{chain.NoteAnswers}}
	if httpClient != nil {
		cfg.HTTPClient = httpClient
	} else {
		cfg.HTTPClient = chain.HTTPClient(ctx)
	}
	if env.BaseEndpoint != "" && !aws.ToBool(env.IgnoreConfiguredEndpoints) {
		cfg.BaseEndpoint = aws.String(env.BaseEndpoint)
	}
	c := &Client{s: s, oidc: ssooidc.NewFromConfig(cfg), portal: sso.NewFromConfig(cfg), now: time.Now, wait: ctxsleep.Sleep, browserTimeout: 10 * time.Minute}
	ep, err := ssooidc.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, ssooidc.EndpointParameters{
		Region: aws.String(s.Region), Endpoint: c.oidc.Options().BaseEndpoint,
	}.WithDefaults())
	if err != nil {
		return nil, fmt.Errorf("could not resolve the SSO OIDC endpoint for %s: %w", s.Region, err)
	}
	c.oidcURL = ep.URI.String()
	return c, nil
}

func awsConfigName() string {
	f, _ := configFiles()
	return f
}

// Renew exchanges t's refresh token for a new access token (the
// refresh_token grant) and rewrites the token file, keeping its other
// fields, so the AWS CLI and SDKs read the renewed token too.
func (c *Client) Renew(ctx context.Context, t *Token) (*Token, error) {
	if t == nil || !t.CanRefresh(c.now()) {
		return nil, c.loginNeeded("it cannot be renewed without signing in")
	}
	out, err := c.oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: aws.String(t.ClientID), ClientSecret: aws.String(t.ClientSecret),
		GrantType: aws.String("refresh_token"), RefreshToken: aws.String(t.RefreshToken),
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "InvalidGrantException" || ae.ErrorCode() == "InvalidClientException" || ae.ErrorCode() == "UnauthorizedClientException") {
			return nil, c.loginNeeded("the identity provider refused to renew it (" + ae.ErrorCode() + ")")
		}
		if ne := chain.NetworkError(ctx, err); ne != nil {
			return nil, fmt.Errorf("could not renew the sign-in of %s: %w", c.s, ne)
		}
		return nil, fmt.Errorf("could not renew the sign-in of %s: %w", c.s, err)
	}
	nt := *t
	c.apply(&nt, out)
	if err := c.s.WriteToken(&nt); err != nil {
		return nil, err
	}
	return &nt, nil
}

// apply copies a CreateToken answer into t.
func (c *Client) apply(t *Token, out *ssooidc.CreateTokenOutput) {
	t.AccessToken = aws.ToString(out.AccessToken)
	t.ExpiresAt = c.now().Add(time.Duration(out.ExpiresIn) * time.Second).Truncate(time.Second)
	if out.RefreshToken != nil {
		t.RefreshToken = *out.RefreshToken
	}
	if t.Region == "" {
		t.Region = c.s.Region
	}
	if t.StartURL == "" {
		t.StartURL = c.s.StartURL
	}
}

// LoginNeededError says that the session needs a person to sign in.
type LoginNeededError struct {
	Session *Session
	Reason  string
}

func (e *LoginNeededError) Error() string {
	return fmt.Sprintf("%s needs a new sign-in: %s", e.Session, e.Reason)
}

func (c *Client) loginNeeded(reason string) error {
	return &LoginNeededError{Session: c.s, Reason: reason}
}

// Logout signs the access token out at the portal (a token the portal no
// longer knows is fine) and removes the token file.
func (c *Client) Logout(ctx context.Context) error {
	t, err := c.s.ReadToken()
	if err == nil && t.AccessToken != "" {
		_, err = c.portal.Logout(ctx, &sso.LogoutInput{AccessToken: aws.String(t.AccessToken)})
		var ue *ssotypes.UnauthorizedException
		if err != nil && !errors.As(err, &ue) {
			return fmt.Errorf("could not sign out of %s: %w", c.s, err)
		}
	}
	// A damaged or foreign token file goes too: it is what logout is for.
	return c.s.RemoveToken()
}

// RoleCredentials gets the temporary credentials of the session's account
// and role (the profile's sso_account_id and sso_role_name) with a valid
// access token.
func (c *Client) RoleCredentials(ctx context.Context, t *Token) (aws.Credentials, error) {
	out, err := c.portal.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
		AccessToken: aws.String(t.AccessToken), AccountId: aws.String(c.s.AccountID), RoleName: aws.String(c.s.RoleName),
	})
	if err != nil {
		if ne := chain.NetworkError(ctx, err); ne != nil {
			err = ne
		}
		return aws.Credentials{}, fmt.Errorf("could not get the credentials of role %s in account %s from %s: %w", c.s.RoleName, c.s.AccountID, c.s, err)
	}
	rc := out.RoleCredentials
	return aws.Credentials{
		AccessKeyID: aws.ToString(rc.AccessKeyId), SecretAccessKey: aws.ToString(rc.SecretAccessKey), SessionToken: aws.ToString(rc.SessionToken),
		CanExpire: true, Expires: time.UnixMilli(rc.Expiration), Source: "SSO",
	}, nil
}

// Lock serialises sign-ins and renewals of the session across processes:
// a lock file in kubeiam's cache directory (never in ~/.aws), held until
// unlock, waited for at most timeout.
func (s *Session) Lock(ctx context.Context, timeout time.Duration) (unlock func(), err error) {
	dir, err := cache.PrivateDir()
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum([]byte(s.cacheKey()))
	return fsafe.LockTimeout(ctx, filepath.Join(dir, "sso-"+hex.EncodeToString(sum[:])+".lock"), timeout)
}
