//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
	"github.com/kubeiam/kubeiam/internal/testwait"
)

// netSlack is what a call may take beyond its network budget: starting
// the front and kubeiam-core (over a second each under -race on a loaded
// two-CPU machine), not waiting. The faults wait 30 s or forever, so a
// call within budget + netSlack did not wait them out.
const netSlack = 3 * time.Second

// netCase is a home whose profile "ar" assumes KubeAdmin with alice's keys
// (profile "base"), so every token needs an STS call, with its own cache.
type netCase struct {
	dir string
	env []string
}

func newNetCase(t *testing.T, rig *ststest.Rig, extraProfile string) *netCase {
	t.Helper()
	dir := t.TempDir()
	id := rig.Identity("alice")
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	os.WriteFile(cfg, []byte("[profile ar]\nrole_arn = arn:aws:iam::"+ststest.AccountA+":role/KubeAdmin\nsource_profile = base\nregion = us-west-2\n"+extraProfile+
		"[profile base]\nregion = us-west-2\n"), 0o600)
	os.WriteFile(creds, []byte("[base]\naws_access_key_id = "+id.AccessKeyID+"\naws_secret_access_key = "+id.SecretAccessKey+"\n"), 0o600)
	return &netCase{dir: dir, env: []string{"AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=" + creds,
		"KUBEIAM_CACHE=file", "XDG_CACHE_HOME=" + filepath.Join(dir, "cache"), "HOME=" + dir}}
}

type runResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// run runs kubeiam with env; a call still running after limit is killed
// and fails the test (a hang is exactly what these tests look for).
func runKubeiam(t *testing.T, env []string, limit time.Duration, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	c := kubeiamCmd(t, env, args...)
	cmd := exec.CommandContext(ctx, c.Path, c.Args[1:]...)
	cmd.Env = c.Env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := runResult{stdout: out.String(), stderr: errOut.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("kubeiam %s still running after %s (killed)\nstderr: %s", strings.Join(args, " "), limit, r.stderr)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantOneLine holds a failed call to the contract: exit 1, nothing on
// stdout, one "kubeiam: …" line matching want (and at most a hint line),
// no goroutine dump, never "could not find AWS credentials".
func wantOneLine(t *testing.T, r runResult, want string) {
	t.Helper()
	if r.code != 1 || r.stdout != "" {
		t.Errorf("exit %d, stdout %q; want exit 1 and nothing", r.code, r.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) == 0 || len(lines) > 2 || (len(lines) == 2 && !strings.HasPrefix(lines[1], "hint: ")) {
		t.Errorf("stderr is not one line and a hint:\n%s", r.stderr)
	}
	if !regexp.MustCompile(want).MatchString(lines[0]) {
		t.Errorf("stderr %q\ndoes not match %s", lines[0], want)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "could not find AWS credentials") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// faultWant is the message of each fault; {host} is the endpoint as named
// (host:port for AWS_ENDPOINT_URL_*, the real host through the proxy),
// {via} the " (via proxy …)" part.
var faultWant = map[ststest.Fault]string{
	ststest.Hang:      `^kubeiam: no answer from {host} in 2(\.\d)?s{via}$`,
	ststest.Slow:      `^kubeiam: no answer from {host} in 2(\.\d)?s{via}$`,
	ststest.Reset:     `^kubeiam: {host} (reset the connection|closed the connection without an answer){via}$`,
	ststest.Status500: `^kubeiam: {host} answered HTTP 500{via}$`,
	ststest.Throttle:  `^kubeiam: STS is throttling requests and retries did not get through \(Rate exceeded\)$`,
	ststest.Garbage:   `^kubeiam: {host} sent an answer that is not STS's{via}$`,
	ststest.Expired:   `^kubeiam: the AWS credentials from AssumeRole of profile "ar" expired at \S+, 1h0m0s ago \(also after a refresh\)$`,
	ststest.Refused:   `^kubeiam: could not connect to {host}: connection refused$`,
	// Headers, then silence: the answer never came, whichever byte it
	// stopped at.
	ststest.StallHeaders: `^kubeiam: no answer from {host} in [12](\.\d)?s{via}$`,
	ststest.StallBody:    `^kubeiam: no answer from {host} in [12](\.\d)?s{via}$`,
}

// TestTokenNetworkFaults: an STS that fails in each way, reached through
// AWS_ENDPOINT_URL_STS and through an HTTPS proxy under its real name,
// ends `kubeiam token` within its budget (KUBEIAM_TIMEOUT=2s here) with one
// line naming the endpoint and what happened.
func TestTokenNetworkFaults(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{Logf: func(string, ...any) {}})
	budget := 2 * time.Second
	for _, f := range []ststest.Fault{ststest.Hang, ststest.Slow, ststest.Reset, ststest.Status500, ststest.Throttle, ststest.Garbage, ststest.Expired, ststest.Refused, ststest.StallHeaders, ststest.StallBody} {
		for _, via := range []string{"endpoint", "proxy"} {
			t.Run(string(f)+"/"+via, func(t *testing.T) {
				t.Parallel()
				fy, err := ststest.NewFaulty(f, rig.CA, rig.Server, 30*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(fy.Close)
				nc := newNetCase(t, rig, "")
				env := append(nc.env, "KUBEIAM_TIMEOUT=2s", "KUBEIAM_ATTEMPT_TIMEOUT=1s")
				host, proxy := strings.TrimPrefix(fy.URL, "http://"), ""
				if via == "endpoint" {
					env = append(env, "AWS_ENDPOINT_URL_STS="+fy.URL)
				} else {
					env = append(env, "HTTPS_PROXY="+fy.ProxyURL, "SSL_CERT_FILE="+rig.CABundle, "NO_PROXY=")
					host, proxy = "sts.us-west-2.amazonaws.com", ` \(via proxy `+regexp.QuoteMeta(strings.TrimPrefix(fy.ProxyURL, "http://"))+`\)`
				}
				want := strings.NewReplacer("{host}", regexp.QuoteMeta(host), "{via}", proxy).Replace(faultWant[f])
				if f == ststest.Refused && via == "proxy" {
					want = `^kubeiam: could not connect to proxy ` + regexp.QuoteMeta(strings.TrimPrefix(fy.ProxyURL, "http://")) + `: connection refused$`
				}
				r := runKubeiam(t, env, 20*time.Second, "token", "-i", "c1", "--profile", "ar", "--token-only")
				wantOneLine(t, r, want)
				if r.took > budget+netSlack {
					t.Errorf("took %s, budget %s", r.took, budget)
				}
			})
		}
	}
}

// TestTokenDefaultBudget: with default settings a blackholed STS ends the
// call in its default budget (8 s), well before a person gives up.
func TestTokenDefaultBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the default budget")
	}
	rig := ststest.Start(t, ststest.Options{Logf: func(string, ...any) {}})
	fy, err := ststest.NewFaulty(ststest.Hang, rig.CA, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fy.Close)
	nc := newNetCase(t, rig, "")
	env := append(nc.env, "HTTPS_PROXY="+fy.ProxyURL, "SSL_CERT_FILE="+rig.CABundle, "NO_PROXY=")
	r := runKubeiam(t, env, 30*time.Second, "token", "-i", "c1", "--profile", "ar")
	wantOneLine(t, r, `^kubeiam: no answer from sts\.us-west-2\.amazonaws\.com in 8s \(via proxy 127\.0\.0\.1:\d+\)$`)
	if r.took < 8*time.Second || r.took > 8*time.Second+netSlack {
		t.Errorf("took %s, want the default 8s", r.took)
	}
	if n := fy.Requests(); n < 2 || n > 3 {
		t.Errorf("%d attempts, want 2-3 (3 s each, retried inside the 8 s)", n)
	}
}

// TestTokenServesValidWhileSTSHangs: a cached token still valid but due for
// renewal (KUBEIAM_CACHE_MIN_REMAINING) is served while STS hangs, within
// the renewal budget, with at most one warning; so is every call of a herd
// of 8 behind the one failing renewal, which makes one STS attempt.
func TestTokenServesValidWhileSTSHangs(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{Logf: func(string, ...any) {}})
	// duration_seconds = 900: the role's credentials are due for renewal
	// with the token, so a renewal needs STS.
	nc := newNetCase(t, rig, "duration_seconds = 900\n")
	// One endpoint throughout (it is part of the cache key): working for
	// the first call, hanging from then on.
	sts, err := ststest.NewFaulty(ststest.Pass, rig.CA, rig.Server, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sts.Close)
	env := append(nc.env, "AWS_ENDPOINT_URL_STS="+sts.URL, "KUBEIAM_CACHE_MIN_REMAINING=14m")
	first := runKubeiam(t, append(nc.env, "AWS_ENDPOINT_URL_STS="+sts.URL), 20*time.Second, "token", "-i", "c1", "--profile", "ar", "--token-only")
	if first.code != 0 {
		t.Fatalf("first call: %s", first.stderr)
	}
	tok := strings.TrimSpace(first.stdout)
	sts.SetFault(ststest.Hang)
	refresh := 2 * time.Second // the default renewal budget

	check := func(t *testing.T, r runResult) {
		t.Helper()
		if r.code != 0 || strings.TrimSpace(r.stdout) != tok {
			t.Errorf("exit %d, stdout %q (want the cached token)\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		if n := strings.Count(r.stderr, "warning:"); n > 1 {
			t.Errorf("%d warnings:\n%s", n, r.stderr)
		}
		if r.stderr != "" && !regexp.MustCompile(`^kubeiam: warning: could not renew the cached token \((no answer from 127\.0\.0\.1:\d+ in 2(\.\d)?s|another kubeiam process could not renew it just now|another kubeiam process is still renewing it)\); using it as it is, valid until \S+ \(\d+m\d+s left\)\n$`).MatchString(r.stderr) {
			t.Errorf("stderr:\n%s", r.stderr)
		}
		if r.took > refresh+netSlack {
			t.Errorf("took %s, renewal budget %s", r.took, refresh)
		}
	}

	t.Run("single", func(t *testing.T) {
		r := runKubeiam(t, env, 20*time.Second, "token", "-i", "c1", "--profile", "ar", "--token-only")
		check(t, r)
		if !strings.Contains(r.stderr, "no answer from") {
			t.Errorf("no warning on the first failed renewal: %q", r.stderr)
		}
		if n := sts.Requests(); n != 1 {
			t.Errorf("%d STS attempts, want 1", n)
		}
	})

	t.Run("herd", func(t *testing.T) {
		sts.SetFault(ststest.Hang)
		const n = 8
		results := make([]runResult, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = runKubeiam(t, env, 20*time.Second, "token", "-i", "c1", "--profile", "ar", "--token-only")
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		for i := range n {
			check(t, results[i])
		}
		if wall > refresh+netSlack+time.Second {
			t.Errorf("herd of %d took %s", n, wall)
		}
		if got := sts.Requests(); got != 1 {
			t.Errorf("%d STS attempts for the herd, want 1", got)
		}
	})
}

// TestTokenCtrlC: Ctrl-C while the token call waits on a silent STS (with
// a long budget) ends it at once with 130, nothing on stdout and no lock
// or temporary file left behind.
func TestTokenCtrlC(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{Logf: func(string, ...any) {}})
	fy, err := ststest.NewFaulty(ststest.Hang, rig.CA, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fy.Close)
	nc := newNetCase(t, rig, "")
	c := kubeiamCmd(t, append(nc.env, "AWS_ENDPOINT_URL_STS="+fy.URL, "KUBEIAM_TIMEOUT=60s"), "token", "-i", "c1", "--profile", "ar")
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the call is waiting on STS, then press Ctrl-C.
	for end := time.Now().Add(10 * time.Second); fy.Requests() == 0 && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if fy.Requests() == 0 {
		c.Process.Kill()
		t.Fatalf("never reached STS: %s", &errOut)
	}
	sent := time.Now()
	c.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.Process.Kill()
		t.Fatal("still running 5 s after Ctrl-C")
	}
	if took := time.Since(sent); took > faultBudget {
		t.Errorf("ended %s after Ctrl-C", took)
	}
	if code := c.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130; stderr: %s", code, &errOut)
	}
	if out.Len() > 0 || errOut.String() != "kubeiam: interrupted\n" {
		t.Errorf("stdout %q, stderr %q", &out, &errOut)
	}
	filepath.WalkDir(filepath.Join(nc.dir, "cache"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// TestKubeconfigLockCtrlC: Ctrl-C while `kubeiam use` waits for a
// kubeconfig lock someone else holds ends it at once with 130; the other
// holder's lock is left as it was, the kubeconfig untouched.
func TestKubeconfigLockCtrlC(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	body := "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: 'https://1.2.3.4'}\n  name: c\ncontexts:\n- context: {cluster: c, user: u}\n  name: ctx\nusers:\n- name: u\n  user: {token: x}\ncurrent-context: \"\"\n"
	os.WriteFile(cfg, []byte(body), 0o600)
	// A lock of a kubeiam that is running here (pid 1 stands for it), so
	// kubeiam waits for it to the end of --lock-timeout. (An empty lock,
	// kubectl's, would be reported as stale after two seconds: on a busy
	// machine before the Ctrl-C.)
	host, _ := os.Hostname()
	pidns, _ := os.Readlink("/proc/self/ns/pid")
	pidns = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, pidns)
	os.WriteFile(cfg+".lock", []byte("kubeiam pid=1 host="+host+" start= pidns="+pidns+"\n"), 0o600)
	// Ready once kubeiam has opened the lock to read its holder: it then
	// waits, with its Ctrl-C handler in place (it is set before the first
	// look). Without inotify (not Linux), no signal: skip rather than guess.
	looked, ok := testwait.WatchOpen(t, cfg+".lock")
	if !ok {
		t.Skip("no signal that kubeiam looked at the lock on " + runtime.GOOS)
	}
	c := kubeiamCmd(t, []string{"KUBECONFIG=" + cfg, "HOME=" + dir}, "use", "ctx", "--lock-timeout", "30s")
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	looked()
	sent := time.Now()
	c.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.Process.Kill()
		t.Fatal("still running 5 s after Ctrl-C")
	}
	if took := time.Since(sent); took > faultBudget {
		t.Errorf("ended %s after Ctrl-C", took)
	}
	if code := c.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130; stderr: %s", code, &errOut)
	}
	if b, _ := os.ReadFile(cfg); string(b) != body {
		t.Errorf("kubeconfig changed:\n%s", b)
	}
	if _, err := os.Stat(cfg + ".lock"); err != nil {
		t.Errorf("the other holder's lock: %v", err)
	}
}
