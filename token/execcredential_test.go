package token

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
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

func TestWriteExecCredentialDecodesWithClientGo(t *testing.T) {
	exp := time.Date(2026, 11, 26, 12, 14, 0, 0, time.UTC)
	for _, v := range []string{APIVersionV1, APIVersionV1beta1} {
		var buf bytes.Buffer
		if err := WriteExecCredential(&buf, v, Token{Token: "k8s-aws-v1.abc", Expiration: exp}); err != nil {
			t.Fatal(err)
		}
		if strings.Count(buf.String(), "\n") != 1 {
			t.Errorf("want one line, got %q", buf.String())
		}
		var ec clientauthv1.ExecCredential
		if err := json.Unmarshal(buf.Bytes(), &ec); err != nil {
			t.Fatal(err)
		}
		if ec.APIVersion != v || ec.Kind != "ExecCredential" || ec.Status.Token != "k8s-aws-v1.abc" || !ec.Status.ExpirationTimestamp.Time.Equal(exp) {
			t.Errorf("%s: decoded %+v", v, ec)
		}
	}
	if err := WriteExecCredential(&bytes.Buffer{}, "client.authentication.k8s.io/v1alpha1", Token{}); err == nil {
		t.Error("v1alpha1 accepted")
	}
}
