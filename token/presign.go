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

	// emptySHA256 is the payload hash of a GET without a body.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Token is a bearer token and the time kubectl should stop using it.
type Token struct {
	Token      string
	Expiration time.Time
	SignedAt   time.Time
}

// Presign makes a token for clusterID from creds at time now. It makes no
// network call.
func Presign(ctx context.Context, creds aws.Credentials, clusterID string, ep Endpoint, now time.Time) (Token, error) {
	if clusterID == "" {
		return Token{}, fmt.Errorf("could not make a token: the cluster ID is empty")
	}
	if !creds.HasKeys() {
		return Token{}, fmt.Errorf("could not make a token: the credentials have no access key")
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
