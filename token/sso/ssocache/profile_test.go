package ssocache_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/token/sso"
	"github.com/kubeiam/kubeiam/token/sso/ssocache"
)

const ssoSections = `
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1

[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = KubeAdmin
`

// TestLookUp: the front's reading of the files agrees with package sso
// (which the AWS SDK's config loader backs) wherever it answers, and it
// declines every case where the SDK's rules could decide otherwise.
func TestLookUp(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, config, creds, token string
		profile                    string
		env                        map[string]string
		fifo                       bool
		wantOK                     bool
		want                       ssocache.SignIn
	}{
		{name: "not signed in", config: ssoSections, profile: "dev", wantOK: true,
			want: ssocache.SignIn{Session: `SSO session "corp"`}},
		{name: "expired, no refresh token", config: ssoSections, profile: "dev", wantOK: true,
			token: `{"accessToken":"a","expiresAt":"2026-12-01T11:00:00Z"}`,
			want:  ssocache.SignIn{Session: `SSO session "corp"`, SignedIn: true, State: ssocache.NeedsLogin}},
		{name: "renewable", config: ssoSections, profile: "dev", wantOK: true,
			token: `{"accessToken":"a","expiresAt":"2026-12-01T11:00:00Z","refreshToken":"r","clientId":"c","clientSecret":"s","registrationExpiresAt":"2027-01-01T00:00:00Z"}`,
			want:  ssocache.SignIn{Session: `SSO session "corp"`, SignedIn: true, State: ssocache.Renewable}},
		{name: "valid", config: ssoSections, profile: "dev", wantOK: true,
			token: `{"accessToken":"a","expiresAt":"2026-12-01T13:00:00Z"}`,
			want:  ssocache.SignIn{Session: `SSO session "corp"`, SignedIn: true, State: ssocache.Valid}},
		{name: "AWS_PROFILE", config: ssoSections, env: map[string]string{"AWS_PROFILE": "dev"}, wantOK: true,
			want: ssocache.SignIn{Session: `SSO session "corp"`}},
		{name: "legacy profile", profile: "old", wantOK: true,
			config: "[profile old]\nsso_start_url = https://old.awsapps.com/start\nsso_region = us-east-2\nsso_account_id = 111122223333\nsso_role_name = R\n",
			want:   ssocache.SignIn{Session: "SSO start URL https://old.awsapps.com/start"}},
		{name: "default section", wantOK: true, config: "[default]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n" + ssoSections,
			want: ssocache.SignIn{Session: `SSO session "corp"`}},

		{name: "keys in the environment beat the default profile", config: ssoSections,
			env: map[string]string{"AWS_PROFILE": "dev", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "x"}},
		{name: "static keys in the profile", profile: "dev", config: ssoSections + "aws_access_key_id = AKIA\naws_secret_access_key = x\n"},
		{name: "a role on top", profile: "dev", config: ssoSections + "role_arn = arn:aws:iam::1:role/R\nsource_profile = other\n"},
		{name: "credential_process", profile: "dev", config: ssoSections + "credential_process = /bin/creds\n"},
		{name: "credentials file section", profile: "dev", config: ssoSections, creds: "[dev]\naws_access_key_id = AKIA\n"},
		{name: "no sso-session section", profile: "dev", config: "[profile dev]\nsso_session = gone\nsso_account_id = 1\nsso_role_name = R\n"},
		{name: "disagreeing start URL", profile: "dev", config: ssoSections + "sso_start_url = https://other.awsapps.com/start\n"},
		{name: "unknown profile", profile: "nope", config: ssoSections},
		{name: "both default sections", config: "[default]\nsso_session = corp\n[profile default]\nsso_session = corp\n" + ssoSections},
		{name: "damaged token file", profile: "dev", config: ssoSections, token: "{not json"},
		{name: "a FIFO for a token file", profile: "dev", config: ssoSections, fifo: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			env := map[string]string{"AWS_CONFIG_FILE": filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials")}
			for k, v := range c.env {
				env[k] = v
			}
			for k, v := range env {
				t.Setenv(k, v)
			}
			writeFile(t, env["AWS_CONFIG_FILE"], c.config)
			if c.creds != "" {
				writeFile(t, env["AWS_SHARED_CREDENTIALS_FILE"], c.creds)
			}
			if c.token != "" || c.fifo {
				key := "corp"
				if c.profile == "old" {
					key = "https://old.awsapps.com/start"
				}
				path, err := ssocache.Path(key)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if c.fifo {
					if err := syscall.Mkfifo(path, 0o600); err != nil {
						t.Fatal(err)
					}
				} else {
					writeFile(t, path, c.token)
				}
			}
			got, ok := ssocache.LookUp(c.profile, func(k string) string { return env[k] }, now)
			if ok != c.wantOK || got != c.want {
				t.Fatalf("LookUp = %+v, %v; want %+v, %v", got, ok, c.want, c.wantOK)
			}
			if !ok {
				return
			}
			// The oracle: package sso, through the AWS SDK's config loader,
			// finds the same session and the same state.
			s, err := sso.Resolve(c.profile)
			if err != nil || s == nil {
				t.Fatalf("sso.Resolve = %v, %v; LookUp found %s", s, err, got.Session)
			}
			tok, _ := s.ReadToken()
			if s.String() != got.Session || tok.State(now) != got.State || (tok != nil) != got.SignedIn {
				t.Errorf("sso says %s, token %v (%v); LookUp says %+v", s, tok != nil, tok.State(now), got)
			}
		})
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
