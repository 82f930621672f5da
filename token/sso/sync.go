package sso

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/template"

	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/token/sso/ssocache"
)

// MarkKey is the key kubeiam adds to every profile section it writes, with
// the sso-session's name as its value: what --prune may remove, and what a
// later sync may rewrite. The AWS CLI and SDKs ignore keys they do not know.
const MarkKey = "kubeiam_sso_session"

// DefaultNameTemplate names the profiles profile sync writes.
const DefaultNameTemplate = "{{.AccountName}}/{{.RoleName}}"

// NameFields are what a profile name template may use.
type NameFields struct {
	AccountName, AccountID, RoleName, Session string
}

// Profile is one profile sync writes: an (account, role) of the session.
type Profile struct {
	Name        string `json:"name"`
	AccountID   string `json:"accountId"`
	AccountName string `json:"accountName"`
	RoleName    string `json:"roleName"`
}

// SyncOptions select and name the profiles.
type SyncOptions struct {
	// Roles and Accounts (IDs or names) keep only those; empty keeps all.
	Roles, Accounts []string
	// Region is written as each profile's region when set.
	Region string
	// NameTemplate is a text/template over NameFields.
	NameTemplate string
	// Prune removes the marked profiles of the session whose account or
	// role the listing no longer has.
	Prune  bool
	DryRun bool
}

// SyncResult is what a sync did (or, in a dry run, would do).
type SyncResult struct {
	Path     string
	Profiles []Profile
	// Added, Updated, Unchanged and Removed are profile names; Kept are
	// sections of the same name not written by this session's sync, left
	// as they are.
	Added, Updated, Unchanged, Removed, Kept []string
	Before, After                            []byte
}

// safeName reports whether every byte of name may stand in a profile name
// as kubeiam writes them: ASCII letters, digits and %+,-./:=@^_~ — no
// spaces, brackets or quotes, which the AWS CLI's config parser and shells
// read differently.
func safeName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !safeByte(name[i]) {
			return false
		}
	}
	return true
}

func safeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("%+,-./:=@^_~", c) >= 0
}

// makeSafe replaces each run of characters a name may not hold with one
// '-', trimmed at both ends: "Prod (EU) – payments" → "Prod-EU-payments".
func makeSafe(s string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(s); i++ {
		if safeByte(s[i]) {
			b.WriteByte(s[i])
			dash = false
			continue
		}
		if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// ParseNameTemplate parses a --name template, checking it against sample
// fields so that a misspelt field is an error before any call.
func ParseNameTemplate(text string) (*template.Template, error) {
	t, err := template.New("name").Option("missingkey=error").Parse(cmp.Or(text, DefaultNameTemplate))
	if err == nil {
		err = t.Execute(&bytes.Buffer{}, NameFields{})
	}
	if err != nil {
		return nil, hint.With(fmt.Errorf("could not use the name template %q: %v", text, err),
			"use the fields {{.AccountName}}, {{.AccountID}}, {{.RoleName}} and {{.Session}}")
	}
	return t, nil
}

// PlanProfiles names a profile for each (account, role) of l that the
// options select. Two pairs getting the same name, or a name with
// characters a profile name may not hold, are errors naming them.
func PlanProfiles(s *Session, l *Listing, o SyncOptions) ([]Profile, error) {
	t, err := ParseNameTemplate(o.NameTemplate)
	if err != nil {
		return nil, err
	}
	var out []Profile
	byName := map[string]Profile{}
	for _, a := range l.Accounts {
		if len(o.Accounts) > 0 && !slices.Contains(o.Accounts, a.ID) && !slices.Contains(o.Accounts, a.Name) {
			continue
		}
		for _, r := range a.Roles {
			if len(o.Roles) > 0 && !slices.Contains(o.Roles, r) {
				continue
			}
			var b strings.Builder
			if err := t.Execute(&b, NameFields{AccountName: makeSafe(a.Name), AccountID: a.ID, RoleName: makeSafe(r), Session: makeSafe(s.Name)}); err != nil {
				return nil, fmt.Errorf("could not name the profile of role %s in account %s: %v", r, a.ID, err)
			}
			p := Profile{Name: b.String(), AccountID: a.ID, AccountName: a.Name, RoleName: r}
			if !safeName(p.Name) || p.Name == "default" {
				return nil, hint.With(fmt.Errorf("could not name the profile of role %s in account %s (%s): %q is not a usable profile name", r, a.ID, a.Name, p.Name),
					"profile names hold ASCII letters, digits and %%+,-./:=@^_~ only; change --name")
			}
			if q, dup := byName[p.Name]; dup {
				return nil, hint.With(fmt.Errorf("could not name profiles: role %s in account %s (%s) and role %s in account %s (%s) both get the name %q",
					q.RoleName, q.AccountID, q.AccountName, r, a.ID, a.Name, p.Name),
					"make --name tell them apart, e.g. with {{.AccountID}}")
			}
			byName[p.Name] = p
			out = append(out, p)
		}
	}
	return out, nil
}

// Sync writes profiles (from PlanProfiles) into the shared config file as
// AWS-CLI-form SSO profiles of session s — sso_session, sso_account_id,
// sso_role_name, region when given, and MarkKey — editing only those
// sections, line by line, under a lock, through a temporary file and a
// rename. With o.Prune it removes the marked sections of s whose (account,
// role) is not in l; sections of accounts l skipped stay.
func Sync(ctx context.Context, s *Session, profiles []Profile, l *Listing, o SyncOptions) (*SyncResult, error) {
	path, _ := configFiles()
	res := &SyncResult{Path: path, Profiles: profiles}
	live := map[[2]string]bool{}
	for _, a := range l.Accounts {
		for _, r := range a.Roles {
			live[[2]string{a.ID, r}] = true
		}
	}
	skipped := map[string]bool{}
	for _, sk := range l.Skipped {
		skipped[sk.AccountID] = true
	}
	before, after, err := ssocache.EditFile(ctx, path, o.DryRun, func(d *ssocache.Doc) error {
		*res = SyncResult{Path: path, Profiles: profiles}
		if _, ok := d.Keys("sso-session " + s.Name); !ok {
			return hint.With(fmt.Errorf("could not write profiles: %s has no [sso-session %s] section", path, s.Name),
				"run: kubeiam login --sso-session %s --start-url URL --sso-region REGION", s.Name)
		}
		for _, p := range profiles {
			sec := "profile " + p.Name
			kv, exists := d.Keys(sec)
			if exists && kv[MarkKey] != s.Name {
				res.Kept = append(res.Kept, p.Name)
				continue
			}
			want := []ssocache.KV{{Key: "sso_session", Value: s.Name}, {Key: "sso_account_id", Value: p.AccountID}, {Key: "sso_role_name", Value: p.RoleName}}
			if o.Region != "" {
				want = append(want, ssocache.KV{Key: "region", Value: o.Region})
			}
			want = append(want, ssocache.KV{Key: MarkKey, Value: s.Name})
			old := string(d.Bytes())
			d.Set(sec, want)
			switch {
			case !exists:
				res.Added = append(res.Added, p.Name)
			case old != string(d.Bytes()):
				res.Updated = append(res.Updated, p.Name)
			default:
				res.Unchanged = append(res.Unchanged, p.Name)
			}
		}
		if o.Prune {
			for _, sp := range d.Sections() {
				name, ok := strings.CutPrefix(sp.Name, "profile ")
				if !ok {
					continue
				}
				kv, _ := d.Keys(sp.Name)
				if kv[MarkKey] != s.Name || skipped[kv["sso_account_id"]] || live[[2]string{kv["sso_account_id"], kv["sso_role_name"]}] {
					continue
				}
				res.Removed = append(res.Removed, name)
			}
			for _, name := range res.Removed {
				d.Remove("profile " + name)
			}
		}
		return nil
	})
	res.Before, res.After = before, after
	if err != nil {
		return res, err
	}
	return res, nil
}

// EnsureSession adds an [sso-session NAME] section with start URL and
// region, as `aws configure sso` writes it (sso_registration_scopes
// sso:account:access), when the shared config file has none of that name;
// an existing section is left as it is. created says whether it wrote.
func EnsureSession(ctx context.Context, name, startURL, region string) (created bool, err error) {
	if err := CheckStartURL(startURL); err != nil {
		return false, err
	}
	path, _ := configFiles()
	_, _, err = ssocache.EditFile(ctx, path, false, func(d *ssocache.Doc) error {
		if kv, ok := d.Keys("sso-session " + name); ok {
			if kv["sso_start_url"] != "" && kv["sso_start_url"] != startURL {
				return hint.With(fmt.Errorf("could not add [sso-session %s]: %s has it already, with sso_start_url %s", name, path, kv["sso_start_url"]),
					"choose another --sso-session name, or leave out --start-url to use the section as it is")
			}
			return nil
		}
		created = true
		d.Set("sso-session "+name, []ssocache.KV{
			{Key: "sso_start_url", Value: startURL}, {Key: "sso_region", Value: region},
			{Key: "sso_registration_scopes", Value: strings.Join(DefaultScopes, ",")},
		})
		return nil
	})
	return created, err
}

// CheckStartURL refuses a start URL that is not an https URL with a host:
// the sign-in page it leads to is where a person types their password.
func CheckStartURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return hint.With(fmt.Errorf("could not use start URL %q: it must be an https:// URL", raw),
			"copy it from the IAM Identity Center console, e.g. https://my-org.awsapps.com/start")
	}
	return nil
}

// SessionNameFor is the sso-session name login picks for a start URL when
// none is given: the first label of its host ("my-org" for
// https://my-org.awsapps.com/start).
func SessionNameFor(startURL string) string {
	u, err := url.Parse(startURL)
	if err != nil {
		return "default-sso"
	}
	host, _, _ := strings.Cut(u.Hostname(), ".")
	return cmp.Or(makeSafe(host), "default-sso")
}

// ConfigFile is the shared config file kubeiam reads and writes
// (AWS_CONFIG_FILE, else ~/.aws/config).
func ConfigFile() (string, error) {
	f, _ := configFiles()
	return f, nil
}

// SessionProfiles maps each (account ID, role name) of session name to the
// profile of the shared config file that signs in as it: a profile profile
// sync wrote (marked) wins over one written by hand, and among equals the
// first in the file.
func SessionProfiles(name string) (map[[2]string]string, error) {
	path, _ := configFiles()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("could not read %s: %w", path, err)
	}
	d := ssocache.ParseDoc(b)
	out := map[[2]string]string{}
	marked := map[[2]string]bool{}
	for _, sp := range d.Sections() {
		p, ok := strings.CutPrefix(sp.Name, "profile ")
		if !ok {
			continue
		}
		kv, _ := d.Keys(sp.Name)
		if kv["sso_session"] != name || kv["sso_account_id"] == "" || kv["sso_role_name"] == "" {
			continue
		}
		k := [2]string{kv["sso_account_id"], kv["sso_role_name"]}
		m := kv[MarkKey] == name
		if _, seen := out[k]; !seen || (m && !marked[k]) {
			out[k], marked[k] = p, m
		}
	}
	return out, nil
}
