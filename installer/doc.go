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
package installer
