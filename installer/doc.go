// Package installer sets up and maintains the server side of IAM
// authentication from an EKS Anywhere cluster spec: it validates the
// AWSIamConfig, renders the objects EKS Anywhere itself creates (same names,
// same layout, so clusters made by either tool can be managed by the other),
// makes the serving certificate and webhook kubeconfig, and applies the
// objects with server-side apply.
//
// The package never imports cobra and never links the client-go clientset
// (20–90 ms of init on every kubeiam-core run); it talks to the API through
// the dynamic client with unstructured objects built from k8s.io/api types.
//
// Nothing here prompts or prints on its own: Install, Sync and the spec
// edits return what they did (Result, EditResult) and typed errors for the
// cases a caller tells apart (ConflictError, ForbiddenError,
// ValidationError, …); progress lines go to Options.Progress when set.
//
// The exported API is part of kubeiam's library promise: api/kubeiam.txt
// records it and a test fails when it changes (README, "Using kubeiam as a
// library").
package installer
