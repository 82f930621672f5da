// Package execargs is one `kubeiam token` call as typed: its flags (shared
// by the token command, the small front binary, and the aws-iam-authenticator
// drop-in, so they cannot drift apart), the environment they default from,
// and what follows from them without the AWS SDK — the token cache backend
// and the cache key. Tools that read kubeconfig exec blocks (doctor, whoami,
// kubeconfig.TokenRequest) get the same view the plugin will have.
//
// It links no AWS SDK, client-go or cobra: the front binary parses every
// kubectl call with it before deciding whether a cached token answers.
//
// AddFlags is part of that promise, not CLI wiring: the flags are the
// exec plugin's interface, what the args of a kubeconfig exec block may
// say, and kubeconfig.TokenRequest reads exec blocks with them (pflag, not
// cobra).
//
// The exported API is part of kubeiam's library promise: api/kubeiam.txt
// records it and a test fails when it changes (README, "Using kubeiam as a
// library").
package execargs

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/deadline"
	"github.com/kubeiam/kubeiam/internal/jsonstr"
)

// Environment variables of the plugin.
const (
	ClusterIDEnv = "KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID" // aws-iam-authenticator's
	CacheEnv     = "KUBEIAM_CACHE"
)

// Request is one `token` invocation as typed: its flags and the environment
// they default from. Each field is the flag of the same name (AddFlags
// lists them with their help text); an empty field means the flag was not
// given, and the methods below fill in the environment's defaults.
type Request struct {
	ClusterID          string
	RoleARN            string
	ExternalID         string
	SessionName        string
	ForwardSessionName bool
	Region             string
	Profile            string
	STSGlobal          bool
	FIPS               bool
	TokenOnly          bool
	Cache              string
	NoCache            bool
	Verbose            bool
	// Network budgets (internal/deadline); zero means the environment's,
	// else the defaults.
	Timeout        time.Duration
	AttemptTimeout time.Duration
	RefreshTimeout time.Duration
}

// AddFlags declares the flags of `kubeiam token` (and of the
// aws-iam-authenticator drop-in) on fs; the cobra command and the front
// binary's parser share them so they cannot drift apart.
func (r *Request) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&r.ClusterID, "cluster-id", "i", "", "cluster ID the token is bound to (env "+ClusterIDEnv+")")
	fs.StringVarP(&r.RoleARN, "role-arn", "r", "", "assume this IAM role before signing")
	fs.StringVar(&r.RoleARN, "role", "", "alias of --role-arn")
	fs.StringVarP(&r.ExternalID, "external-id", "e", "", "external ID for the role assumption")
	fs.StringVarP(&r.SessionName, "session-name", "s", "", "session name for the role assumption")
	fs.BoolVar(&r.ForwardSessionName, "forward-session-name", false, "use the caller's own session name for the role assumption")
	fs.StringVar(&r.Region, "region", "", "region whose STS endpoint signs the token (default: the AWS configuration's, else us-east-1)")
	fs.StringVar(&r.Profile, "profile", "", "AWS profile to use (default: AWS_PROFILE, else the default chain)")
	fs.BoolVar(&r.STSGlobal, "sts-global", false, "sign for the global endpoint sts.amazonaws.com (us-east-1), for old servers")
	fs.BoolVar(&r.FIPS, "fips", false, "sign for the FIPS endpoint (also AWS_USE_FIPS_ENDPOINT=true)")
	fs.BoolVar(&r.TokenOnly, "token-only", false, "print only the token, not an ExecCredential")
	fs.StringVar(&r.Cache, "cache", "", "token cache: auto, keyring, file or none (env "+CacheEnv+"; bare --cache means auto)")
	fs.Lookup("cache").NoOptDefVal = "auto"
	fs.BoolVar(&r.NoCache, "no-cache", false, "do not read or write the token cache (same as --cache=none)")
	fs.BoolVarP(&r.Verbose, "verbose", "v", false, "explain choices on stderr (never secrets)")
	fs.DurationVar(&r.Timeout, "timeout", 0, "give up on the network after this long, retries included (env "+deadline.TimeoutEnv+"; default "+deadline.String(deadline.Token.Total)+")")
	fs.DurationVar(&r.AttemptTimeout, "attempt-timeout", 0, "give up on one attempt when the endpoint is silent this long (env "+deadline.AttemptTimeoutEnv+"; default "+deadline.String(deadline.Token.Attempt)+")")
	fs.DurationVar(&r.RefreshTimeout, "refresh-timeout", 0, "time to renew a cached token that is still valid before serving it as it is (env "+deadline.RefreshTimeoutEnv+"; default "+deadline.String(deadline.Refresh)+")")
	_ = fs.MarkHidden("role")
}

// Budgets are the request's network budgets: the total for a call that
// must reach the network and the bound on each attempt, and the time to
// renew a cached token that is still valid (on failure it is served).
// Flags win over the environment (internal/deadline names the variables).
func (r *Request) Budgets(getenv func(string) string) (total, attempt, refresh time.Duration, err error) {
	b, err := deadline.FromEnv(getenv, deadline.Token)
	if err != nil {
		return 0, 0, 0, err
	}
	if r.Timeout < 0 || r.AttemptTimeout < 0 || r.RefreshTimeout < 0 {
		return 0, 0, 0, errors.New("--timeout, --attempt-timeout and --refresh-timeout must be positive")
	}
	if r.Timeout > 0 {
		b.Total = r.Timeout
	}
	if r.AttemptTimeout > 0 {
		b.Attempt = r.AttemptTimeout
	}
	if refresh, err = deadline.Duration(getenv, deadline.RefreshTimeoutEnv, deadline.Refresh); err != nil {
		return 0, 0, 0, err
	}
	if r.RefreshTimeout > 0 {
		refresh = r.RefreshTimeout
	}
	b = b.Norm()
	return b.Total, b.Attempt, min(refresh, b.Total), nil
}

// ClusterIDFrom fills the cluster ID from the environment when no flag gave it.
func (r *Request) ClusterIDFrom(getenv func(string) string) {
	if r.ClusterID == "" {
		r.ClusterID = getenv(ClusterIDEnv)
	}
}

// Backend resolves --no-cache, --cache and KUBEIAM_CACHE. "true" and "false"
// keep aws-iam-authenticator's boolean --cache flag working.
func (r *Request) Backend(getenv func(string) string) (cache.Backend, error) {
	if r.NoCache {
		return cache.None, nil
	}
	v := r.Cache
	if v == "" {
		v = getenv(CacheEnv)
	}
	switch strings.ToLower(v) {
	case "true":
		v = "auto"
	case "false", "off":
		v = "none"
	}
	return cache.ParseBackend(v)
}

// Key is the cache key of the request: everything that changes the answer,
// taken from what the user typed and the environment, never a secret. It is
// computed without the AWS SDK so the front binary can use it: region and
// profile are the ones requested (empty when the configuration decides), and
// Source fingerprints everything the configuration could decide from —
// the variables the SDK reads and the config files with their mtimes — so
// editing ~/.aws/config or switching AWS_PROFILE never returns another
// identity's token.
func (r *Request) Key(getenv func(string) string) cache.Key {
	endpoint := "regional"
	switch {
	case r.STSGlobal:
		endpoint = "global"
	case r.FIPS || strings.EqualFold(getenv("AWS_USE_FIPS_ENDPOINT"), "true"):
		endpoint = "fips"
	}
	region := r.Region
	if region == "" {
		region = cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	}
	profile := r.Profile
	if profile == "" {
		profile = cmp.Or(getenv("AWS_PROFILE"), getenv("AWS_DEFAULT_PROFILE"))
	}
	session := r.SessionName
	if r.ForwardSessionName {
		session = "(forwarded)"
	}
	return cache.Key{
		ClusterID:   r.ClusterID,
		Region:      region,
		Endpoint:    endpoint,
		Profile:     profile,
		RoleARN:     r.RoleARN,
		ExternalID:  r.ExternalID,
		SessionName: session,
		Source:      sourceFingerprint(getenv),
	}
}

// sourceVars are the variables the SDK's default chain reads to decide whose
// credentials it loads and where it calls. Secret values are left out: the
// access key ID names the identity, the secret key and session token do not
// need to be in a key.
var sourceVars = [...]string{
	"AWS_ACCESS_KEY_ID", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_STS_REGIONAL_ENDPOINTS",
	"AWS_EC2_METADATA_DISABLED", "AWS_SDK_LOAD_CONFIG",
	// --profile beats keys in the environment, AWS_PROFILE does not (the
	// SDK's order), so where the profile came from is part of the answer.
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE",
}

type fileStamp struct {
	Path  string `json:"path"`
	MTime int64  `json:"mtime"`
	Size  int64  `json:"size"`
}

type fingerprint struct {
	Env   [len(sourceVars)]string `json:"env"`
	Files [3]fileStamp            `json:"files"`
}

// appendJSON appends what encoding/json.Marshal makes of fp, written by hand
// for the token path (see jsonstr); a test holds the two equal.
func (fp *fingerprint) appendJSON(b []byte) []byte {
	b = append(b, `{"env":`...)
	sep := byte('[')
	for _, v := range fp.Env {
		b = jsonstr.Append(append(b, sep), v)
		sep = ','
	}
	b = append(b, `],"files":`...)
	sep = '['
	for _, f := range fp.Files {
		b = jsonstr.Append(append(b, sep, '{'), "path")
		b = jsonstr.Append(append(b, ':'), f.Path)
		b = strconv.AppendInt(append(b, `,"mtime":`...), f.MTime, 10)
		b = strconv.AppendInt(append(b, `,"size":`...), f.Size, 10)
		b = append(b, '}')
		sep = ','
	}
	return append(b, "]}"...)
}

func sourceFingerprint(getenv func(string) string) string {
	var fp fingerprint
	for i, name := range sourceVars {
		fp.Env[i] = getenv(name)
	}
	home, _ := os.UserHomeDir()
	cfg := cmp.Or(getenv("AWS_CONFIG_FILE"), filepath.Join(home, ".aws", "config"))
	creds := cmp.Or(getenv("AWS_SHARED_CREDENTIALS_FILE"), filepath.Join(home, ".aws", "credentials"))
	for i, p := range []string{cfg, creds, getenv("AWS_WEB_IDENTITY_TOKEN_FILE")} {
		fp.Files[i].Path = p
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil {
			fp.Files[i].MTime, fp.Files[i].Size = fi.ModTime().UnixNano(), fi.Size()
		}
	}
	// Readable where it helps (which access key), short where it does not.
	sum := sha256.Sum256(fp.appendJSON(nil))
	prefix := "chain"
	if akid := getenv("AWS_ACCESS_KEY_ID"); akid != "" {
		prefix = "env:" + akid
	}
	return prefix + "/" + hex.EncodeToString(sum[:8])
}
