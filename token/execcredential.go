package token

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
	clientauthv1beta1 "k8s.io/client-go/pkg/apis/clientauthentication/v1beta1"
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

// WriteExecCredential writes tok as an ExecCredential of apiVersion, one JSON
// document and a newline, using client-go's own types so the field names and
// time format are the ones kubectl decodes.
func WriteExecCredential(w io.Writer, apiVersion string, tok Token) error {
	exp := metav1.NewTime(tok.Expiration.UTC().Truncate(1e9))
	var v any
	switch apiVersion {
	case APIVersionV1:
		v = &clientauthv1.ExecCredential{
			TypeMeta: metav1.TypeMeta{Kind: "ExecCredential", APIVersion: APIVersionV1},
			Status:   &clientauthv1.ExecCredentialStatus{Token: tok.Token, ExpirationTimestamp: &exp},
		}
	case APIVersionV1beta1, "":
		v = &clientauthv1beta1.ExecCredential{
			TypeMeta: metav1.TypeMeta{Kind: "ExecCredential", APIVersion: APIVersionV1beta1},
			Status:   &clientauthv1beta1.ExecCredentialStatus{Token: tok.Token, ExpirationTimestamp: &exp},
		}
	default:
		return fmt.Errorf("unsupported ExecCredential apiVersion %q", apiVersion)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("could not encode the ExecCredential: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
