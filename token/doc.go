// Package token makes and checks the bearer tokens that aws-iam-authenticator
// servers accept: "k8s-aws-v1." followed by the unpadded base64url encoding of
// a presigned STS GetCallerIdentity URL whose signature covers the
// x-k8s-aws-id header carrying the cluster ID.
//
// The package is a plain Go API (no CLI types). It is on kubectl's hot path, so
// it links only the AWS SDK pieces it needs and keeps package-level variables
// free of work.
package token
