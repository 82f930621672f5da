package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kubeiam/kubeiam/internal/cmd/root"
	"github.com/kubeiam/kubeiam/internal/front"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/seccomptest"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		// The front answers cache hits and hands the rest to kubeiam-core,
		// found on PATH here as it is beside kubeiam when installed.
		// KUBEIAM_TEST_DENY_KEYCTL=1 runs it with keyctl refused, as a
		// container's seccomp profile does.
		// KUBEIAM_TEST_CORE_ONLY=1 makes it hand every call on, as a
		// front that answers nothing itself would (TestScriptsCorePath).
		"kubeiam": func() {
			if os.Getenv("KUBEIAM_TEST_CORE_ONLY") == "1" {
				os.Exit(front.Delegate(os.Args))
			}
			if os.Getenv("KUBEIAM_TEST_DENY_KEYCTL") == "1" {
				if err := seccomptest.DenyKeyctl(); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
			}
			main()
		},
		"kubeiam-core": func() { os.Exit(root.Main(context.Background(), os.Args, iostreams.System())) },
		// The drop-in: the front under the upstream client's name.
		"aws-iam-authenticator": main,
		// The kubectl plugin: krew installs the front as kubectl-iam, and
		// kubectl runs `kubectl iam ARGS` as `kubectl-iam ARGS`.
		"kubectl-iam": main,
		// A person's browser, for BROWSER=browse: it opens the URL kubeiam
		// shows (the SSO stand-in's sign-in page or device verification
		// page) and follows the redirect back to kubeiam's loopback port.
		// `browse --deny URL` clicks Deny instead.
		"browse": func() { os.Exit(browse(os.Args[1:])) },
	})
}

func browse(args []string) int {
	deny := len(args) > 0 && args[0] == "--deny"
	if deny {
		args = args[1:]
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: browse [--deny] URL")
		return 2
	}
	u := args[0]
	if deny {
		u += "&" + ststest.SSODenyParam + "=1"
	}
	resp, err := http.Get(u)
	if err != nil {
		fmt.Fprintln(os.Stderr, "browse:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "browse:", u, resp.Status)
		return 1
	}
	return 0
}

// TestScripts runs the CLI cases in testdata/script: each reads as a usage
// example and fails loudly when behaviour changes.
func TestScripts(t *testing.T) {
	// A second SSO stand-in for the cases that change its state (a session
	// that expires in the middle of a run), so the cases sharing the first
	// run in parallel undisturbed.
	own := ststest.Start(t, ststest.Options{Logf: func(string, ...any) {}})
	p := scriptParams(eksFixture(t), []string{"OWN_SSO_ENDPOINT=" + own.SSOEndpoint, "OWN_STS_ENDPOINT=" + own.Endpoint})
	requireScriptPrograms(t, p.Dir)
	testscript.Run(t, p)
}

// execCondition matches a script's [exec:PROG] or [!exec:PROG] condition.
var execCondition = regexp.MustCompile(`\[!?exec:([^\]]+)\]`)

// requireScriptPrograms: testscript's [exec:kubectl] lines are skipped
// silently where the program is missing. With KUBEIAM_TEST_PEERS=1 (CI)
// the real programs are required, so a missing one fails the run instead
// of quietly checking less.
func requireScriptPrograms(t *testing.T, dir string) {
	t.Helper()
	if os.Getenv("KUBEIAM_TEST_PEERS") != "1" {
		return
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range execCondition.FindAllSubmatch(b, -1) {
			if _, err := exec.LookPath(string(m[1])); err != nil {
				t.Errorf("KUBEIAM_TEST_PEERS=1 but %s, which %s needs, is not installed: %v", m[1], filepath.Base(f), err)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// TestScriptsCorePath runs the cases of the commands the front answers
// itself in the common case (shell, use --export) with every call handed
// to kubeiam-core, so both paths are held to the same script.
func TestScriptsCorePath(t *testing.T) {
	p := scriptParams(nil, []string{"KUBEIAM_TEST_CORE_ONLY=1"})
	p.Dir = ""
	p.Files = []string{"../../testdata/script/shell.txtar", "../../testdata/script/use_export.txtar"}
	testscript.Run(t, p)
}

// scriptParams are the scripts' settings; extra are variables to set.
// rig is nil for scripts that need no stand-in.
func scriptParams(rig *ststest.Rig, extra []string) testscript.Params {
	return testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			for _, kv := range extra {
				k, v, _ := strings.Cut(kv, "=")
				env.Setenv(k, v)
			}
			// No ambient AWS configuration leaks into a case.
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("AWS_CONFIG_FILE", env.WorkDir+"/.aws/config")
			env.Setenv("AWS_SHARED_CREDENTIALS_FILE", env.WorkDir+"/.aws/credentials")
			env.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			env.Setenv("XDG_CACHE_HOME", env.WorkDir+"/.cache")
			// $BIN is where the commands above are, so a case can run them
			// by path while it breaks PATH on purpose.
			if p, err := exec.LookPath("kubeiam"); err == nil {
				env.Setenv("BIN", filepath.Dir(p))
			}
			// Characters a script cannot type, for the bad-input cases:
			// --profile prod${NL}forged.
			// The EKS stand-in with eksFixture's clusters, for the eks_*
			// cases: they point AWS_ENDPOINT_URL_EKS at it.
			// The STS and SSO stand-ins of the same rig, for the sso_* cases:
			// they point AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_SSO_OIDC and
			// AWS_ENDPOINT_URL_SSO at them and write ssoConfig as their
			// AWS config. Every SSO role session is sso-user@example.com.
			// STS_HANG is an endpoint that accepts connections and never
			// answers, for the token_network case.
			if rig != nil {
				env.Setenv("STS_HANG", hangEndpoint)
				env.Setenv("EKS_ENDPOINT", rig.EKSEndpoint)
				env.Setenv("STS_ENDPOINT", rig.Endpoint)
				env.Setenv("SSO_ENDPOINT", rig.SSOEndpoint)
				env.Setenv("IAM_ENDPOINT", rig.IAMEndpoint)
			}
			env.Setenv("NL", "\n")
			env.Setenv("CR", "\r")
			env.Setenv("LS", "\u2028")
			return nil
		},
	}
}

// erinAccount is the account of the access-entry cases.
const erinAccount = "777788889999"

// eksFixture starts the rig whose EKS, STS and SSO stand-ins the scripts
// share and returns it. Profiles in the scripts use the stand-in's fixed keys:
// alice and mallory are in account 111122223333, carol in 444455556666.
//
//	111122223333 us-west-2: prod (ACTIVE), staging (CREATING),
//	                        edge (Outposts local cluster, id 7f3c9b2a-…)
//	111122223333 eu-west-1: eu (UPDATING)
//	111122223333 ap-east-1: not enabled (UnrecognizedClientException)
//	444455556666 eu-west-1: analytics (ACTIVE)
//	mallory: AccessDeniedException everywhere
//	SSO role AliceOnly (111122223333): AccessDeniedException everywhere
//
// Access entries (mappings_eks_* cases), as erin in an account of her own
// (777788889999, us-west-2; so discovery cases never see them): legacy
// (CONFIG_MAP), apimode (API, no entries yet), apimode2 (API, for the
// error cases), apimode3 (API, for apply); IAM has her role
// teams/platform/Deployer.
func eksFixture(t *testing.T) *ststest.Rig {
	rig := ststest.Start(t, ststest.Options{Logf: func(string, ...any) {}})
	a, b := ststest.AccountA, ststest.AccountB
	for _, c := range []ststest.EKSCluster{
		{Account: a, Region: "us-west-2", Name: "prod", Endpoint: "https://A1B2C3D4E5F6.gr7.us-west-2.eks.amazonaws.com"},
		{Account: a, Region: "us-west-2", Name: "staging", Status: "CREATING"},
		{Account: a, Region: "us-west-2", Name: "edge", ID: "7f3c9b2a-5d1e-4c8f-9a0b-1c2d3e4f5a6b", Endpoint: "https://10.0.8.10",
			Outpost: &ststest.EKSOutpostConfig{OutpostARNs: []string{"arn:aws:outposts:us-west-2:" + a + ":outpost/op-0123456789abcdef0"}, ControlPlaneInstanceType: "m5.large"}},
		{Account: a, Region: "eu-west-1", Name: "eu", Status: "UPDATING", Version: "1.30", Endpoint: "https://EU0000000001.gr7.eu-west-1.eks.amazonaws.com"},
		{Account: b, Region: "eu-west-1", Name: "analytics", Endpoint: "https://B0B0B0B0B0B0.yl4.eu-west-1.eks.amazonaws.com"},
		{Account: erinAccount, Region: "us-west-2", Name: "legacy", AuthenticationMode: "CONFIG_MAP"},
		{Account: erinAccount, Region: "us-west-2", Name: "apimode", AuthenticationMode: "API"},
		{Account: erinAccount, Region: "us-west-2", Name: "apimode2", AuthenticationMode: "API"},
		{Account: erinAccount, Region: "us-west-2", Name: "apimode3", AuthenticationMode: "API"},
	} {
		rig.EKS.AddCluster(c)
	}
	rig.AddIdentity(ststest.Identity{Name: "erin", Account: erinAccount, ARN: "arn:aws:iam::" + erinAccount + ":user/erin", UserID: "AIDAERIN0000000000007",
		AccessKeyID: "AKIAERIN000000000007", SecretAccessKey: "erinSecretKey00000000000000000000000000007"})
	rig.AddIAMRole(ststest.Role{ARN: "arn:aws:iam::" + erinAccount + ":role/teams/platform/Deployer", RoleID: "AROAERINDEPLOYER00007"})
	rig.AddIdentity(ststest.Identity{Name: "handmade", Account: erinAccount, ARN: "arn:aws:iam::" + erinAccount + ":user/handmade", UserID: "AIDAHANDMADE000000008",
		AccessKeyID: "AKIAHANDMADE00000008", SecretAccessKey: "handmadeSecretKey000000000000000000000008"})
	rig.EKS.DisableRegion(a, "ap-east-1")
	rig.EKS.Deny(rig.Identity("mallory").ARN)
	// An SSO role without EKS permission, for discover --sso-session.
	rig.EKS.Deny("arn:aws:sts::" + a + ":assumed-role/AliceOnly/" + ststest.SSOUser)
	hang, err := ststest.NewFaulty(ststest.Hang, nil, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hang.Close)
	hangEndpoint = hang.URL
	return rig
}

// hangEndpoint is the scripts' STS_HANG (see eksFixture).
var hangEndpoint string
