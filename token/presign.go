package token

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	// Prefix starts every token.
	Prefix = "k8s-aws-v1."
	// ClusterIDHeader is the signed header that binds a token to one cluster.
	ClusterIDHeader = "x-k8s-aws-id"
	// MaxLength is the longest token the server accepts.
	MaxLength = 4096

	// presignExpires is the conventional X-Amz-Expires; STS ignores it and
	// servers of 0.3.0 and older require a value.
	presignExpires = "60"
	// The server accepts a token for 15 minutes after X-Amz-Date; clients
	// report one minute less so kubectl refreshes before the server refuses.
	serverValidity = 15 * time.Minute
	reportedLife   = 14 * time.Minute
	// A token is never reported valid closer than this to its credentials'
	// own expiry: STS rejects a presigned URL whose session has ended.
	credentialMargin = time.Minute

	// MinCredentialLife is the least time credentials must have left to
	// sign a token: the token is reported valid until credentialMargin
	// before they end, and kubectl needs the rest to use it. Shorter-lived
	// credentials make a token the server refuses by the time it arrives.
	MinCredentialLife = 2 * time.Minute

	// emptySHA256 is the payload hash of a GET without a body.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Token is a bearer token and the time kubectl should stop using it.
type Token struct {
	Token      string    // "k8s-aws-v1." and the presigned URL; a bearer secret
	Expiration time.Time // when kubectl should ask for a new one (before the server stops accepting it)
	SignedAt   time.Time // the signature's time (X-Amz-Date), which the server's validity window counts from
}

// ExpiringError: the credentials have less than MinCredentialLife left (or
// none) at Now, so no token is made from them.
type ExpiringError struct {
	Expires, Now time.Time
	// Source names where the credentials came from, when known
	// (`credential_process "get-creds" of profile "dev"`).
	Source string
	// Refreshed: they were asked for again, and came back no better.
	Refreshed bool
}

func (e *ExpiringError) Error() string {
	what := "the AWS credentials"
	if e.Source != "" {
		what += " from " + e.Source
	}
	at := e.Expires.UTC().Format(time.RFC3339)
	again := ""
	if e.Refreshed {
		again = " (also after a refresh)"
	}
	if left := e.Expires.Sub(e.Now); left > 0 {
		return fmt.Sprintf("%s expire at %s, in %s%s; a token needs them for at least %s", what, at, roughly(left), again, MinCredentialLife)
	}
	return fmt.Sprintf("%s expired at %s, %s ago%s", what, at, roughly(e.Now.Sub(e.Expires)), again)
}

// roughly prints d to the second when that helps: within the hour.
func roughly(d time.Duration) string {
	switch {
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%d days", d/(24*time.Hour))
}

// CheckFresh returns an *ExpiringError when creds expire within
// MinCredentialLife of now.
func CheckFresh(creds aws.Credentials, now time.Time) error {
	if creds.CanExpire && !creds.Expires.IsZero() && creds.Expires.Sub(now) < MinCredentialLife {
		return &ExpiringError{Expires: creds.Expires, Now: now}
	}
	return nil
}

// Presign makes a token for clusterID from creds at time now. It makes no
// network call, and refuses credentials that CheckFresh refuses: their token
// would be expired, or about to be, when printed.
func Presign(ctx context.Context, creds aws.Credentials, clusterID string, ep Endpoint, now time.Time) (Token, error) {
	if clusterID == "" {
		return Token{}, fmt.Errorf("could not make a token: the cluster ID is empty")
	}
	if !creds.HasKeys() {
		return Token{}, fmt.Errorf("could not make a token: the credentials have no access key")
	}
	if err := CheckFresh(creds, now); err != nil {
		return Token{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		"https://"+ep.Host+"/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires="+presignExpires, nil)
	if err != nil {
		return Token{}, fmt.Errorf("could not build the STS request: %w", err)
	}
	req.Header.Set(ClusterIDHeader, clusterID)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	u, _, err := signer.PresignHTTP(ctx, creds, req, emptySHA256, "sts", ep.SigningRegion, now.UTC())
	if err != nil {
		return Token{}, fmt.Errorf("could not presign the STS request: %w", err)
	}
	return Token{
		Token:      Prefix + base64.RawURLEncoding.EncodeToString([]byte(u)),
		Expiration: Expiration(now, creds),
		SignedAt:   now,
	}, nil
}

// Expiration is when kubectl should stop using a token signed at now with
// creds: 14 minutes later, but never later than a minute before the
// credentials themselves expire (aws-iam-authenticator and the AWS CLI get
// this wrong, and their tokens outlive short sessions).
func Expiration(now time.Time, creds aws.Credentials) time.Time {
	exp := now.Add(reportedLife)
	if creds.CanExpire && !creds.Expires.IsZero() {
		if limit := creds.Expires.Add(-credentialMargin); limit.Before(exp) {
			exp = limit
		}
	}
	return exp
}
