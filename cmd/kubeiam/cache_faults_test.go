//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kubeiam/kubeiam/internal/ststest"
	"github.com/kubeiam/kubeiam/token"
)

// cacheCase is a home with a profile of static keys (signed locally by
// kubeiam-core, and cached: only keys in the environment skip the cache)
// and its own cache directory.
type cacheCase struct {
	rig   *ststest.Rig
	id    ststest.Identity
	env   []string
	cache string // XDG_CACHE_HOME
	// baseline is how long the case's first call took.
	baseline time.Duration
}

func newCacheCase(t *testing.T, rig *ststest.Rig) *cacheCase {
	t.Helper()
	dir := t.TempDir()
	id := rig.Identity("alice")
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	os.WriteFile(cfg, []byte("[profile dev]\nregion = eu-west-1\n"), 0o600)
	os.WriteFile(creds, []byte("[dev]\naws_access_key_id = "+id.AccessKeyID+"\naws_secret_access_key = "+id.SecretAccessKey+"\n"), 0o600)
	cc := &cacheCase{rig: rig, id: id, cache: filepath.Join(dir, "cache")}
	cc.env = []string{"AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=" + creds, "AWS_PROFILE=dev",
		"KUBEIAM_CACHE=file", "XDG_CACHE_HOME=" + cc.cache}
	return cc
}

func (cc *cacheCase) dir() string { return filepath.Join(cc.cache, "kubeiam") }

// token runs `kubeiam token -v`, fails the test unless it prints a token
// STS accepts for alice within faultLimit (1 s without -race), and returns
// the token and stderr.
func (cc *cacheCase) token(t *testing.T) (tok, stderr string, took time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := kubeiamCmd(t, cc.env, "token", "-i", "c1", "--token-only", "-v")
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Env = append(cleanEnv(), cc.env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	took = time.Since(start)
	if err != nil {
		t.Fatalf("kubeiam token (after %s): %v\n%s", took, err, &errOut)
	}
	if cc.baseline == 0 {
		// The case's first call, on a healthy cache: the measure of a
		// normal call on this machine, in this build.
		cc.baseline = took
		if !raceEnabled && took > faultBudget {
			t.Errorf("kubeiam token took %s, want under %s", took, faultBudget)
		}
	} else if limit := faultLimit(cc.baseline); took > limit {
		t.Errorf("kubeiam token took %s, want under %s (a normal call took %s)", took, limit, cc.baseline)
	}
	tok = strings.TrimSpace(out.String())
	if claims, err := token.Verify(tok, "aws", time.Now()); err != nil || claims.Host != "sts.eu-west-1.amazonaws.com" {
		t.Fatalf("printed a token for %v: %v", claims, err)
	}
	if got := whoami(t, cc.rig, tok, "c1"); got.ARN != cc.id.ARN {
		t.Fatalf("token of %s", got.ARN)
	}
	return tok, errOut.String(), took
}

// entryPath is the one entry the case's cache holds.
func (cc *cacheCase) entryPath(t *testing.T) string {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(cc.dir(), "????????????????????????????????????????????????????????????????.json"))
	if len(ms) != 1 {
		t.Fatalf("%d entries in %s", len(ms), cc.dir())
	}
	return ms[0]
}

// TestTokenCacheFaults: whatever is found in the cache directory, `kubeiam
// token` answers within a second with a token STS accepts, never blocks on
// a FIFO, never follows a link out of the directory, and repairs what it can.
func TestTokenCacheFaults(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{})
	outside := func(t *testing.T) string { return filepath.Join(t.TempDir(), "outside") }
	for _, tc := range []struct {
		name string
		root bool // needs root to give a file away
		// fault breaks the populated cache; it returns a path outside the
		// cache that must stay untouched (or "").
		fault func(t *testing.T, cc *cacheCase) (untouched string)
		warn  string
	}{
		{"fifo at the entry", false, func(t *testing.T, cc *cacheCase) string {
			p := cc.entryPath(t)
			os.Remove(p)
			syscall.Mkfifo(p, 0o600)
			return ""
		}, "not a regular file"},
		{"fifo at state.json", false, func(t *testing.T, cc *cacheCase) string {
			// The auto backend without a keyring reads the state file on
			// every call.
			cc.env = append(cc.env, "KUBEIAM_CACHE=auto", "DBUS_SESSION_BUS_ADDRESS=")
			syscall.Mkfifo(filepath.Join(cc.dir(), "state.json"), 0o600)
			return ""
		}, ""},
		{"symlink at the entry", false, func(t *testing.T, cc *cacheCase) string {
			p := cc.entryPath(t)
			target := outside(t)
			os.Rename(p, target) // a valid entry, outside
			os.Symlink(target, p)
			return target
		}, "symbolic link"},
		{"dangling symlink at the lock", false, func(t *testing.T, cc *cacheCase) string {
			p := strings.TrimSuffix(cc.entryPath(t), ".json")
			os.Remove(p + ".json")
			target := outside(t)
			os.Remove(p + ".lock")
			os.Symlink(target, p+".lock")
			return target
		}, ""},
		{"fifo at the lock", false, func(t *testing.T, cc *cacheCase) string {
			p := strings.TrimSuffix(cc.entryPath(t), ".json")
			os.Remove(p + ".json")
			os.Remove(p + ".lock")
			syscall.Mkfifo(p+".lock", 0o600)
			return ""
		}, ""},
		{"entry of another user", true, func(t *testing.T, cc *cacheCase) string {
			os.Lchown(cc.entryPath(t), 4242, 4242)
			return ""
		}, "owned by another user"},
		{"symlinked cache dir", false, func(t *testing.T, cc *cacheCase) string {
			target := outside(t)
			os.Rename(cc.dir(), target)
			os.Chmod(target, 0o755)
			os.Symlink(target, cc.dir())
			return target
		}, "symbolic link"},
		{"cache dir of another user", true, func(t *testing.T, cc *cacheCase) string {
			os.Lchown(cc.dir(), 4242, 4242)
			return ""
		}, "owned by another user"},
		{"world-writable cache dir", false, func(t *testing.T, cc *cacheCase) string {
			os.Chmod(cc.dir(), 0o777)
			return ""
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				t.Skip("giving a file to another user needs root")
			}
			cc := newCacheCase(t, rig)
			cc.token(t)
			untouched := tc.fault(t, cc)
			var before []byte
			var beforeInfo os.FileInfo
			if untouched != "" {
				before, _ = os.ReadFile(untouched)
				beforeInfo, _ = os.Lstat(untouched)
			}
			_, stderr, took := cc.token(t)
			t.Logf("answered in %s", took)
			if tc.warn != "" && !strings.Contains(stderr, tc.warn) {
				t.Errorf("stderr does not say %q:\n%s", tc.warn, stderr)
			}
			if untouched != "" {
				after, _ := os.ReadFile(untouched)
				afterInfo, _ := os.Lstat(untouched)
				if !bytes.Equal(before, after) || (beforeInfo == nil) != (afterInfo == nil) ||
					beforeInfo != nil && beforeInfo.Mode() != afterInfo.Mode() {
					t.Errorf("%s outside the cache changed", untouched)
				}
			}
			// The next call finds a repaired cache; a directory kubeiam does
			// not trust stays unused, and each call says so.
			_, stderr, _ = cc.token(t)
			trusted := !strings.Contains(tc.name, "cache dir") || strings.Contains(tc.name, "world-writable")
			if trusted != strings.Contains(stderr, "cached token") || !trusted && !strings.Contains(stderr, tc.warn) {
				t.Errorf("second call:\n%s", stderr)
			}
		})
	}
}

// TestTokenJunkEntriesAreResigned: a well-formed entry whose token is not
// what the request signs for is a miss: re-signed, printed, and written
// over the entry. The region is asked for (AWS_REGION) so the host is known
// exactly; with the region from the config file, the front only knows that
// the host must be a regional one (see execcred.Expect).
func TestTokenJunkEntriesAreResigned(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{})
	presign := func(t *testing.T, cc *cacheCase, host, region string, at time.Time) string {
		tok, err := token.Presign(t.Context(), aws.Credentials{AccessKeyID: cc.id.AccessKeyID, SecretAccessKey: cc.id.SecretAccessKey},
			"c1", token.Endpoint{Host: host, SigningRegion: region}, at)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	edit := func(t *testing.T, tok string, from, to string) string {
		raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, token.Prefix))
		if !strings.Contains(string(raw), from) {
			t.Fatalf("%q not in the token", from)
		}
		return token.Prefix + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), from, to, 1)))
	}
	now := time.Now()
	for _, tc := range []struct {
		name string
		tok  func(t *testing.T, cc *cacheCase, good string) string
		exp  time.Time // the entry's tokenExpiry; zero keeps it
	}{
		{"another region's host", func(t *testing.T, cc *cacheCase, _ string) string {
			return presign(t, cc, "sts.us-east-1.amazonaws.com", "us-east-1", now)
		}, time.Time{}},
		{"the global host", func(t *testing.T, cc *cacheCase, _ string) string {
			return presign(t, cc, "sts.amazonaws.com", "us-east-1", now)
		}, time.Time{}},
		{"cluster ID header not signed", func(t *testing.T, _ *cacheCase, good string) string {
			return edit(t, good, "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id", "X-Amz-SignedHeaders=host")
		}, time.Time{}},
		{"junk base64", func(*testing.T, *cacheCase, string) string { return "k8s-aws-v1.~~junk~~" }, time.Time{}},
		{"expired", func(t *testing.T, cc *cacheCase, _ string) string {
			return presign(t, cc, "sts.eu-west-1.amazonaws.com", "eu-west-1", now.Add(-16*time.Minute))
		}, time.Time{}},
		{"expiry past the server's window", func(t *testing.T, cc *cacheCase, _ string) string {
			return presign(t, cc, "sts.eu-west-1.amazonaws.com", "eu-west-1", now.Add(-10*time.Minute))
		}, now.Add(14 * time.Minute)},
		{"X-Amz-Expires of an hour", func(t *testing.T, _ *cacheCase, good string) string {
			return edit(t, good, "X-Amz-Expires=60", "X-Amz-Expires=3600")
		}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := newCacheCase(t, rig)
			cc.env = append(cc.env, "AWS_REGION=eu-west-1")
			good, _, _ := cc.token(t)
			path := cc.entryPath(t)
			var fe map[string]any
			b, _ := os.ReadFile(path)
			if err := json.Unmarshal(b, &fe); err != nil {
				t.Fatal(err)
			}
			junk := tc.tok(t, cc, good)
			plain := fe["plain"].(map[string]any)
			plain["token"] = junk
			if !tc.exp.IsZero() {
				plain["tokenExpiry"] = tc.exp.UTC().Format(time.RFC3339)
			}
			b, _ = json.Marshal(fe)
			os.WriteFile(path, b, 0o600)

			tok, stderr, _ := cc.token(t)
			if tok == junk || strings.Contains(stderr, "cached token") {
				t.Fatalf("the junk entry was served:\n%s", stderr)
			}
			b, _ = os.ReadFile(path)
			if !strings.Contains(string(b), tok) {
				t.Error("the entry was not rewritten with the new token")
			}
			if again, stderr, _ := cc.token(t); again != tok || !strings.Contains(stderr, "cached token") {
				t.Errorf("the rewritten entry is not served: %s", stderr)
			}
		})
	}
}
