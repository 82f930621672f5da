// Package token makes and checks the bearer tokens that aws-iam-authenticator
// servers accept: "k8s-aws-v1." followed by the unpadded base64url encoding of
// a presigned STS GetCallerIdentity URL whose signature covers the
// x-k8s-aws-id header carrying the cluster ID.
//
// The package is a plain Go API (no CLI types). It is on kubectl's hot path, so
// it links only the AWS SDK pieces it needs and keeps package-level variables
// free of work.
//
// A token made here has the form aws-iam-authenticator servers accept, and
// Verify makes the checks such a server makes before it calls STS, in its
// order (ServerV072.Verify with v0.7.2's own host table).
//
// The exported API is part of kubeiam's library promise: api/kubeiam.txt
// records it and a test fails when it changes (README, "Using kubeiam as a
// library").
package token
