package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/execcred"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/chain"
	"github.com/kubeiam/kubeiam/token/execargs"
)

// Clock skew thresholds. STS refuses requests signed more than 5 minutes
// off its clock, and kubectl reuses a token until the expiry the plugin
// reported by the local clock, so a minute of skew already makes the last
// minute of every token fail at the server.
const (
	skewWarn  = time.Minute
	skewError = 5 * time.Minute
)

// errOffline is what every connection attempt returns under --offline.
var errOffline = errors.New("no network calls with --offline")

// offlineClient refuses to connect anywhere. It is a BuildableClient so the
// SDK can still apply AWS_CA_BUNDLE to it.
func offlineClient() aws.HTTPClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.Proxy = nil
		tr.DialContext = func(context.Context, string, string) (net.Conn, error) { return nil, errOffline }
	})
}

func checkAWS(ctx context.Context, rep *Report, opts *Options, tgt *target) {
	req := &tgt.req
	region := req.Region
	regionFrom := "--region in the exec args"
	if region == "" {
		// AWS_REGION in the exec block's env reaches the plugin but not this
		// process; pass it on explicitly.
		if r := firstNonEmpty(tgt.getenv("AWS_REGION"), tgt.getenv("AWS_DEFAULT_REGION")); r != opts.Getenv("AWS_REGION") && r != opts.Getenv("AWS_DEFAULT_REGION") {
			region, regionFrom = r, "the exec block's env"
		}
	}
	// Doctor never prompts: an MFA profile is reported, not unlocked.
	copts := chain.OptionsFor(req)
	copts.Region, copts.Profile = region, profileOf(tgt)
	copts.Now = opts.Now
	if opts.Offline {
		copts.HTTPClient = offlineClient()
	} else if opts.HTTPClient != nil {
		copts.HTTPClient = opts.HTTPClient
	}
	sess, err := chain.NewSession(ctx, copts)
	if err != nil {
		rep.failErr("credentials", err, "check AWS_PROFILE, AWS_CONFIG_FILE and the profile's settings")
		rep.skip("endpoint", "no AWS configuration")
		rep.skip("identity", "no AWS configuration")
		rep.skip("clock", "no AWS configuration")
		return
	}
	// The endpoint is known before any credentials are: report it first.
	if region == "" {
		if regionFrom = chain.RegionSource(sess.Config, ""); regionFrom == "" {
			regionFrom = "none configured, the default"
		}
	}
	rep.ok("endpoint", "region %s (%s), partition %s, tokens name %s (%s)",
		sess.Endpoint.SigningRegion, regionFrom, sess.Endpoint.Partition, sess.Endpoint.Host, sess.Endpoint.Kind)

	if tgt.signIn != "" {
		for _, name := range []string{"credentials", "identity", "clock"} {
			rep.skip(name, "%s needs a sign-in first (see sso)", tgt.signIn)
		}
		return
	}
	cctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	creds, err := sess.Credentials(cctx)
	cancel()
	profile := sess.Profile
	if profile == "" {
		profile = "none"
	}
	switch {
	case err == nil:
		msg := fmt.Sprintf("source %s, profile %s, access key %s", chain.SourceName(creds.Source), profile, maskKey(creds.AccessKeyID))
		if req.RoleARN != "" {
			msg += ", assumed role " + req.RoleARN
		}
		if creds.CanExpire {
			msg += fmt.Sprintf(", temporary until %s", creds.Expires.UTC().Format(time.RFC3339))
		}
		rep.ok("credentials", "%s", msg)
	case opts.Offline && (errors.Is(err, errOffline) || strings.Contains(err.Error(), errOffline.Error())):
		rep.skip("credentials", "profile %s: loading credentials needs the network (SSO, AssumeRole or IMDS); skipped with --offline", profile)
	case errors.Is(err, chain.ErrMFANotInteractive):
		rep.failErr("credentials", err, "")
		// Same hint as the token command: interactiveMode or a first run in a terminal.
		rep.Checks[len(rep.Checks)-1].Status = StatusWarning
		rep.Errors--
		rep.Warnings++
	case errors.Is(err, context.DeadlineExceeded):
		rep.fail("credentials", "check the network path to the credential source (SSO, STS, IMDS); --timeout raises the bound",
			"profile %s: no credentials within %s", profile, opts.Timeout)
	default:
		rep.failErr("credentials", err, "check the profile's settings: aws configure list --profile "+profile)
	}
	if err != nil || opts.Offline {
		why := "no credentials"
		if opts.Offline {
			why = "--offline"
		}
		rep.skip("identity", "%s", why)
		rep.skip("clock", "%s", why)
		return
	}
	checkIdentityAndClock(ctx, rep, opts, sess, creds)
}

// checkIdentityAndClock makes one GetCallerIdentity call: its answer says
// whose credentials these are, and the Date header of any answer — a refusal
// too — says how far this machine's clock is from STS's.
func checkIdentityAndClock(ctx context.Context, rep *Report, opts *Options, sess *chain.Session, creds aws.Credentials) {
	rec := &dateRecorder{now: opts.Now}
	client := sts.NewFromConfig(sess.Config, func(o *sts.Options) {
		o.Credentials = credentials.StaticCredentialsProvider{Value: creds}
		o.RetryMaxAttempts = 1
		next := o.HTTPClient
		if next == nil {
			next = awshttp.NewBuildableClient()
		}
		rec.next = next
		o.HTTPClient = rec
	})
	cctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	out, err := client.GetCallerIdentity(cctx, &sts.GetCallerIdentityInput{})
	cancel()
	switch {
	case err == nil:
		arn := aws.ToString(out.Arn)
		msg := arn
		if canon, cerr := token.CanonicalARN(arn); cerr == nil && canon != arn {
			msg += " (aws-auth mappings must name " + canon + ")"
		}
		rep.ok("identity", "%s", msg)
	case rec.date == "":
		rep.fail("identity", "check the network path to STS (HTTPS_PROXY, AWS_ENDPOINT_URL_STS); --offline skips this check",
			"could not reach STS: %s", text.OneLine(err.Error()))
	default:
		rep.fail("identity", "refresh the credentials (kubeiam login for SSO profiles, or new keys); if the clock check fails too, fix the clock first",
			"STS refused the credentials: %s", text.OneLine(err.Error()))
	}
	if rec.date == "" {
		rep.skip("clock", "no answer from STS")
		return
	}
	server, perr := http.ParseTime(rec.date)
	if perr != nil {
		rep.warn("clock", "", "could not parse STS's Date header %q", rec.date)
		return
	}
	// The Date header is truncated to the second and was stamped somewhere
	// between sending and receiving: compare the middle of its second with
	// the middle of the round trip.
	server = server.Add(500 * time.Millisecond)
	local := rec.sent.Add(rec.received.Sub(rec.sent) / 2)
	skew := server.Sub(local).Round(time.Second)
	abs := skew
	if abs < 0 {
		abs = -abs
	}
	dir := "ahead of"
	if skew > 0 {
		dir = "behind"
	}
	fix := "turn on time synchronisation (timedatectl set-ntp true; on macOS and Windows: set the time automatically)"
	switch {
	case abs >= skewError:
		rep.fail("clock", fix, "this machine's clock is %s %s STS's; STS refuses requests signed more than 5m off", abs, dir)
	case abs >= skewWarn:
		rep.warn("clock", fix, "this machine's clock is %s %s STS's; tokens fail at the server before kubectl renews them", abs, dir)
	default:
		rep.ok("clock", "within %s of STS (%s)", skewWarn, skew)
	}
}

// dateRecorder wraps the SDK's HTTP client to keep the Date header of the
// response and when the request went out and came back.
type dateRecorder struct {
	next           aws.HTTPClient
	now            func() time.Time
	sent, received time.Time
	date           string
}

func (d *dateRecorder) Do(r *http.Request) (*http.Response, error) {
	d.sent = d.now()
	resp, err := d.next.Do(r)
	d.received = d.now()
	if resp != nil {
		d.date = resp.Header.Get("Date")
	}
	return resp, err
}

// checkSessionKey reports where the keyring's data key is held for the
// login session, and for how long, without reading it.
func checkSessionKey(rep *Report, getenv func(string) string) {
	if execcred.CacheOptions(cache.Auto, getenv).NoSessionKey {
		rep.skip("session key", "off (%s=off): every cached call reads the keyring", execcred.SessionKeyEnv)
		return
	}
	st, err := cache.SessionKeyStatus()
	switch {
	case errors.Is(err, cache.ErrSessionKeyUnsupported):
		// The error says why (on Windows: not needed).
		rep.skip("session key", "not held: %v; every cached call reads the OS keyring", err)
	case err != nil:
		rep.skip("session key", "not held: %v; every cached call reads the OS keyring", err)
	case st.Held && st.Remaining > 0:
		rep.ok("session key", "the data key is held in %s for %s more without use (each use renews it; `kubeiam cache clear --all` drops it)", st.Where, shortDuration(st.Remaining))
	case st.Held:
		rep.ok("session key", "the data key is held in %s (each use renews its %s; `kubeiam cache clear --all` drops it)", st.Where, shortDuration(cache.SessionKeyIdle))
	default:
		rep.ok("session key", "not held now; the next keyring read keeps the data key in %s for %s without use", st.Where, shortDuration(cache.SessionKeyIdle))
	}
}

// shortDuration drops a duration's empty tail: 1h, 59m, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// maskKey shows enough of an access key ID to tell keys apart. The ID is
// not a secret, but it is also not worth pasting whole into a bug report.
func maskKey(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:4] + "…" + id[len(id)-4:]
}

// checkCache reports the token cache as `kubeiam token` would use it: the
// backend (keyring or files), and the cluster's entries with their expiry.
// It lists only the non-secret parts of entries.
func checkCache(ctx context.Context, rep *Report, opts *Options, req *execargs.Request, getenv func(string) string) {
	backend, err := req.Backend(getenv)
	if err != nil {
		rep.fail("keyring", "use auto, keyring, file or none in --cache / KUBEIAM_CACHE", "%v", err)
		return
	}
	if backend == cache.None {
		rep.skip("keyring", "the token cache is off (--no-cache or --cache=none)")
		rep.skip("cache", "the token cache is off")
		return
	}
	var warnings bytes.Buffer
	// The keyring itself is asked, not the copy of its key held for the
	// session: that is reported on its own line.
	c, err := cache.Open(cache.Options{Backend: backend, Warn: &warnings, KeyringTimeout: opts.Timeout, NoSessionKey: true})
	if err != nil {
		rep.failErr("keyring", err, "")
		return
	}
	got := c.Backend()
	note := ""
	if w := text.OneLine(warnings.String()); w != "" {
		note = " (" + w + ")"
	}
	switch {
	case got == cache.Keyring:
		rep.ok("keyring", "the OS keyring answers; cached tokens are sealed under its key in %s", c.Dir())
	case got == cache.File && backend == cache.File:
		rep.ok("keyring", "not used: the file backend was chosen; tokens are cached in private files in %s", c.Dir())
	case got == cache.File:
		rep.warn("keyring", keyringFix(getenv),
			"no OS keyring answers%s; tokens are cached in plain private files (0600) in %s%s", busNote(getenv), c.Dir(), note)
	default:
		rep.warn("keyring", keyringFix(getenv)+"; or choose plain files knowingly with KUBEIAM_CACHE=file",
			"the keyring this cache used before does not answer%s, so caching is off and every kubectl call signs anew%s", busNote(getenv), note)
	}
	if backend != cache.File {
		checkSessionKey(rep, getenv)
	}
	if got == cache.None {
		rep.skip("cache", "the token cache is off")
		return
	}
	entries, err := c.List(ctx)
	if err != nil {
		rep.warn("cache", "kubeiam cache clear --all starts afresh", "could not list the cache: %v", err)
		return
	}
	if req.ClusterID == "" {
		rep.ok("cache", "%d cached token(s) in %s", len(entries), c.Dir())
		return
	}
	mine := req.Key(getenv).ID()
	now := opts.Now()
	var others int
	var found *cache.Entry
	for i := range entries {
		e := &entries[i]
		if e.Key.ClusterID != req.ClusterID {
			continue
		}
		if e.Key.ID() == mine {
			found = e
		} else {
			others++
		}
	}
	other := ""
	if others > 0 {
		other = fmt.Sprintf("; %d more for other profiles, roles or sources", others)
	}
	switch {
	case found == nil:
		rep.ok("cache", "no cached token for this context's identity on cluster %s yet; the next kubectl call caches one%s", req.ClusterID, other)
	case found.TokenExpiry.After(now):
		rep.ok("cache", "token for cluster %s valid until %s (%s left)%s", req.ClusterID,
			found.TokenExpiry.UTC().Format(time.RFC3339), found.TokenExpiry.Sub(now).Round(time.Second), other)
	default:
		rep.ok("cache", "token for cluster %s expired at %s; the next kubectl call refreshes it%s", req.ClusterID,
			found.TokenExpiry.UTC().Format(time.RFC3339), other)
	}
}

func busNote(getenv func(string) string) string {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" && runtime.GOOS != "openbsd" && runtime.GOOS != "netbsd" {
		return ""
	}
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
		return " at DBUS_SESSION_BUS_ADDRESS=" + a
	}
	return " (no D-Bus session bus)"
}

func keyringFix(getenv func(string) string) string {
	switch runtime.GOOS {
	case "darwin":
		return "unlock the login keychain"
	case "windows":
		return "check that Credential Manager is available to this user"
	}
	if getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return "run in a desktop session, or start one: dbus-run-session -- sh, then gnome-keyring-daemon --unlock"
	}
	return "start or unlock a Secret Service keyring (gnome-keyring-daemon, KeePassXC) on that bus"
}
