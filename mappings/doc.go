// Package mappings is the one model of identity mappings for every place
// the aws-iam-authenticator server (or EKS) reads them: a mapping is an
// ARN, a user name and groups, plus where it is written (a spec line, an
// aws-auth key, an IAMIdentityMapping object). Backends are walked in the
// server's order and the first one that maps a caller decides, so `mappings
// explain`, `whoami` and the lockout guard give the server's answer rather
// than one backend's.
//
// A source of mappings plugs in by implementing Backend; the verbs only
// ever see a Chain. ChainOf builds a server's chain from its backend
// modes; a source consulted before the server's own backends (EKS access
// entries, which win over aws-auth) goes in front of it:
// ch.Backends = append([]Backend{b}, ch.Backends...). The package imports neither cobra nor the CLI layer,
// nor a Kubernetes client: callers read objects and hand them over.
//
// The exported API is part of kubeiam's library promise: api/kubeiam.txt
// records it and a test fails when it changes (README, "Using kubeiam as a
// library").
package mappings
