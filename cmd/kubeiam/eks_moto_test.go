package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/kubeconfig"
)

// TestEKSAgainstMoto is the interop case with the AWS CLI, on the EKS API of
// the preinstalled moto_server: for the same cluster, `aws eks
// update-kubeconfig` and `kubeiam kubeconfig write --eks` write the same
// cluster entry (name, server, CA); kubectl reads both files; and `kubeiam
// kubeconfig adopt` of the AWS CLI's entry gives exactly the --eks entry's
// exec block. It needs moto_server, aws and kubectl, so it runs with
// KUBEIAM_TEST_PEERS=1 (CI sets it), and then a missing one fails it.
func TestEKSAgainstMoto(t *testing.T) {
	if testing.Short() || os.Getenv("KUBEIAM_TEST_PEERS") != "1" {
		t.Skip("runs moto_server, the AWS CLI and kubectl: set KUBEIAM_TEST_PEERS=1")
	}
	bins := map[string]string{}
	for _, b := range []string{"moto_server", "aws", "kubectl"} {
		p, err := exec.LookPath(b)
		if err != nil {
			t.Fatalf("KUBEIAM_TEST_PEERS=1 but %s is not installed: %v", b, err)
		}
		bins[b] = p
	}
	endpoint := startMoto(t, bins["moto_server"])
	dir := t.TempDir()
	front, core := kubeiamLinks(t)
	env := append(cleanEnv(), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"KUBEIAM_CORE="+core, "KUBECONFIG="+filepath.Join(dir, "unused"))
	runIn := func(name string, extra []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Dir = append(env, extra...), dir
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %q: %v\n%s%s", name, args, err, out.String(), errOut.String())
		}
		return out.String()
	}
	runIn(bins["aws"], nil, "eks", "create-cluster", "--endpoint-url", endpoint, "--name", "moto1",
		"--role-arn", "arn:aws:iam::123456789012:role/eks", "--resources-vpc-config", "subnetIds=subnet-0123456789abcdef0")

	awsFile, kubeiamFile := filepath.Join(dir, "aws.kubeconfig"), filepath.Join(dir, "kubeiam.kubeconfig")
	runIn(bins["aws"], nil, "eks", "update-kubeconfig", "--endpoint-url", endpoint, "--name", "moto1", "--kubeconfig", awsFile)
	runIn(front, []string{"AWS_ENDPOINT_URL_EKS=" + endpoint}, "kubeconfig", "write", "--eks", "moto1", "--kubeconfig", kubeiamFile)

	for _, f := range []string{awsFile, kubeiamFile} {
		runIn(bins["kubectl"], nil, "--kubeconfig", f, "config", "view", "--raw")
	}
	awsCfg, err := kubeconfig.LoadFile(awsFile)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := kubeconfig.LoadFile(kubeiamFile)
	if err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:eks:us-east-1:123456789012:cluster/moto1"
	a, k := awsCfg.Clusters[arn], ours.Clusters[arn]
	if a == nil || k == nil {
		t.Fatalf("cluster %s: aws CLI has %v, kubeiam has %v", arn, a != nil, k != nil)
	}
	if a.Server != k.Server || !bytes.Equal(a.CertificateAuthorityData, k.CertificateAuthorityData) || len(k.CertificateAuthorityData) == 0 {
		t.Errorf("cluster entries differ: aws CLI %s (CA %d bytes), kubeiam %s (CA %d bytes)", a.Server, len(a.CertificateAuthorityData), k.Server, len(k.CertificateAuthorityData))
	}
	if ours.Contexts[arn] == nil || ours.Contexts[arn].AuthInfo != arn || awsCfg.Contexts[arn] == nil {
		t.Errorf("contexts are not both named by the ARN: kubeiam %v", ours.Contexts)
	}

	sameExec := func(awsFile, awsUser, ourUser string) {
		t.Helper()
		runIn(front, nil, "kubeconfig", "adopt", "--all", "--kubeconfig", awsFile)
		adopted, err := kubeconfig.LoadFile(awsFile)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := kubeconfig.LoadFile(kubeiamFile)
		if err != nil {
			t.Fatal(err)
		}
		got, want := adopted.AuthInfos[awsUser].Exec, ours.AuthInfos[ourUser].Exec
		if got == nil || want == nil {
			t.Fatalf("no exec: adopted %v, --eks %v", got, want)
		}
		got.Config, want.Config = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("adopted aws CLI exec: %s %q %+v\n--eks exec: %s %q %+v", got.Command, got.Args, *got, want.Command, want.Args, *want)
		}
	}
	sameExec(awsFile, arn, arn)

	// With a role: the AWS CLI writes `--role ROLE` (argparse's prefix of
	// --role-arn), which adopt must read as the role.
	const role = "arn:aws:iam::123456789012:role/KubeViewer"
	roleFile := filepath.Join(dir, "aws-role.kubeconfig")
	runIn(bins["aws"], nil, "eks", "update-kubeconfig", "--endpoint-url", endpoint, "--name", "moto1", "--kubeconfig", roleFile, "--role-arn", role)
	runIn(front, []string{"AWS_ENDPOINT_URL_EKS=" + endpoint}, "kubeconfig", "write", "--eks", "moto1", "--kubeconfig", kubeiamFile, "-r", role)
	sameExec(roleFile, arn, arn+"@KubeViewer")
}

// kubeiamLinks puts this test binary in a directory as kubeiam and
// kubeiam-core (TestMain dispatches on the name) and returns both paths.
func kubeiamLinks(t *testing.T) (front, core string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range []string{"kubeiam", "kubeiam-core"} {
		if err := os.Symlink(self, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "kubeiam"), filepath.Join(dir, "kubeiam-core")
}

// startMoto runs moto_server on a free loopback port until the test ends.
func startMoto(t *testing.T, bin string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s: %v\n%s", url, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
