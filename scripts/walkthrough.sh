#!/usr/bin/env bash
# A tour of the exec plugin without a cluster: make a token as kubectl would,
# then check it the way the aws-iam-authenticator server does.
set -euo pipefail
kubeiam=${1:-kubeiam}
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY AWS_REGION=us-west-2
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
say() { printf '\n\033[1m%s\033[0m\n$ %s\n' "$1" "$2"; }

say "kubectl runs the plugin with KUBERNETES_EXEC_INFO; kubeiam answers in the version asked for" \
    "KUBERNETES_EXEC_INFO='{\"apiVersion\":\"client.authentication.k8s.io/v1\",...}' kubeiam token -i demo-cluster"
KUBERNETES_EXEC_INFO='{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}' \
  "$kubeiam" token -i demo-cluster --cache=none | cut -c1-160; echo "…"

say "the server's checks, offline" "kubeiam token -i demo-cluster --token-only | kubeiam verify -t - -i demo-cluster"
"$kubeiam" token -i demo-cluster --token-only --cache=none | "$kubeiam" verify -t - -i demo-cluster

say "old servers want the global endpoint" "kubeiam token -i demo-cluster --sts-global --token-only | kubeiam verify -t -"
"$kubeiam" token -i demo-cluster --sts-global --token-only --cache=none | "$kubeiam" verify -t - | head -3

say "bad input: one line, a hint, non-zero exit" "kubeiam token"
"$kubeiam" token || echo "(exit $?)"
