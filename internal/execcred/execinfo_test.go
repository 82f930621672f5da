package execcred

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
	clientauthv1beta1 "k8s.io/client-go/pkg/apis/clientauthentication/v1beta1"
)

func TestParseExecInfo(t *testing.T) {
	for _, tc := range []struct {
		in          string
		version     string
		interactive bool
		errPart     string
	}{
		{"", APIVersionV1beta1, false, ""},
		{"  ", APIVersionV1beta1, false, ""},
		{`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`, APIVersionV1, true, ""},
		{`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}`, APIVersionV1beta1, false, ""},
		{`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}`, "", false, "supported: client.authentication.k8s.io/v1, client.authentication.k8s.io/v1beta1"},
		{`{"kind":"ExecCredential","spec":{}}`, "", false, "no apiVersion"},
		{`{not json`, "", false, "could not parse KUBERNETES_EXEC_INFO"},
		{`{"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1"}`, "", false, "want ExecCredential"},
	} {
		info, err := ParseExecInfo(tc.in)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("%q: err = %v, want it to contain %q", tc.in, err, tc.errPart)
			}
			continue
		}
		if err != nil || info.APIVersion != tc.version || info.Interactive != tc.interactive {
			t.Errorf("%q: got %+v, %v", tc.in, info, err)
		}
	}
}

// TestWriteExecCredentialMatchesClientGo: the hand-shaped output decodes with
// client-go's types and equals their own encoding byte for byte.
func TestWriteExecCredentialMatchesClientGo(t *testing.T) {
	exp := time.Date(2026, 11, 26, 12, 14, 0, 0, time.UTC)
	mt := metav1.NewTime(exp)
	want := map[string]any{
		APIVersionV1: &clientauthv1.ExecCredential{
			TypeMeta: metav1.TypeMeta{Kind: "ExecCredential", APIVersion: APIVersionV1},
			Status:   &clientauthv1.ExecCredentialStatus{Token: "k8s-aws-v1.abc", ExpirationTimestamp: &mt},
		},
		APIVersionV1beta1: &clientauthv1beta1.ExecCredential{
			TypeMeta: metav1.TypeMeta{Kind: "ExecCredential", APIVersion: APIVersionV1beta1},
			Status:   &clientauthv1beta1.ExecCredentialStatus{Token: "k8s-aws-v1.abc", ExpirationTimestamp: &mt},
		},
	}
	for v, typed := range want {
		var buf bytes.Buffer
		if err := WriteExecCredential(&buf, v, "k8s-aws-v1.abc", exp.Add(300*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if strings.Count(buf.String(), "\n") != 1 {
			t.Errorf("want one line, got %q", buf.String())
		}
		ref, err := json.Marshal(typed)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(buf.String()); got != string(ref) {
			t.Errorf("%s:\n got %s\nwant %s", v, got, ref)
		}
		var ec clientauthv1.ExecCredential
		if err := json.Unmarshal(buf.Bytes(), &ec); err != nil {
			t.Fatal(err)
		}
		if ec.Status.Token != "k8s-aws-v1.abc" || !ec.Status.ExpirationTimestamp.Time.Equal(exp) {
			t.Errorf("%s: decoded %+v", v, ec.Status)
		}
	}
	if err := WriteExecCredential(&bytes.Buffer{}, "client.authentication.k8s.io/v1alpha1", "t", exp); err == nil {
		t.Error("v1alpha1 accepted")
	}
}
