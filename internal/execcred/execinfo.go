// Package execcred is the exec-credential protocol as kubeiam speaks it, shared
// by the front (internal/front, in the small kubeiam binary) and kubeiam-core
// (internal/cmd/token): KUBERNETES_EXEC_INFO in, ExecCredential out, and the
// rule that decides whether a cached token may answer a request. Both binaries
// apply the one rule, so the front never serves a token the core would not.
// It links only what the front can afford (the cache, the token signer and
// verifier, the standard library): no SDK config chain, client-go or cobra.
package execcred

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/internal/jsonstr"
)

// ExecInfoEnv is the variable kubectl uses to describe the credential it wants.
const ExecInfoEnv = "KUBERNETES_EXEC_INFO"

// The ExecCredential versions kubectl speaks; v1alpha1 is gone since 1.24.
const (
	APIVersionV1      = "client.authentication.k8s.io/v1"
	APIVersionV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// ExecInfo is what kubectl told the plugin through KUBERNETES_EXEC_INFO.
type ExecInfo struct {
	APIVersion string
	// Interactive is spec.interactive: kubectl passes its stdin, so a prompt
	// (MFA code) can be answered.
	Interactive bool
	// FromKubectl is false when the variable was unset or empty, e.g. a
	// person running `kubeiam token` in a shell.
	FromKubectl bool
}

// ParseExecInfo reads the value of KUBERNETES_EXEC_INFO. Unset or empty means
// v1beta1, as the exec protocol says; an unknown apiVersion is an error that
// names the supported ones, so the plugin never answers in a version kubectl
// did not ask for.
func ParseExecInfo(value string) (ExecInfo, error) {
	if strings.TrimSpace(value) == "" {
		return ExecInfo{APIVersion: APIVersionV1beta1}, nil
	}
	var in struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			Interactive bool `json:"interactive"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(value), &in); err != nil {
		return ExecInfo{}, fmt.Errorf("could not parse %s: %v", ExecInfoEnv, err)
	}
	switch in.APIVersion {
	case APIVersionV1, APIVersionV1beta1:
	case "":
		return ExecInfo{}, fmt.Errorf("could not parse %s: it has no apiVersion", ExecInfoEnv)
	default:
		return ExecInfo{}, fmt.Errorf("unsupported ExecCredential apiVersion %q in %s (supported: %s, %s)", in.APIVersion, ExecInfoEnv, APIVersionV1, APIVersionV1beta1)
	}
	if in.Kind != "" && in.Kind != "ExecCredential" {
		return ExecInfo{}, fmt.Errorf("could not parse %s: kind is %q, want ExecCredential", ExecInfoEnv, in.Kind)
	}
	return ExecInfo{APIVersion: in.APIVersion, Interactive: in.Spec.Interactive, FromKubectl: true}, nil
}

// WriteExecCredential writes an ExecCredential of apiVersion holding token,
// as one JSON line. It is hand-shaped rather than built from client-go's
// clientauthentication types because those pull apimachinery's package init
// into kubectl's hot path, and written without encoding/json, which reflects
// over a type on first use in every fresh process; a test decodes it with
// client-go's types and compares it byte for byte with their encoding.
func WriteExecCredential(w io.Writer, apiVersion, token string, expiration time.Time) error {
	switch apiVersion {
	case APIVersionV1, APIVersionV1beta1:
	case "":
		apiVersion = APIVersionV1beta1
	default:
		return fmt.Errorf("unsupported ExecCredential apiVersion %q", apiVersion)
	}
	b := append(make([]byte, 0, 192+len(token)), `{"kind":"ExecCredential","apiVersion":`...)
	b = jsonstr.Append(b, apiVersion)
	b = append(b, `,"spec":{"interactive":false},"status":{"expirationTimestamp":`...)
	b = jsonstr.Append(b, expiration.UTC().Truncate(time.Second).Format(time.RFC3339))
	b = jsonstr.Append(append(b, `,"token":`...), token)
	_, err := w.Write(append(b, "}}\n"...))
	return err
}
