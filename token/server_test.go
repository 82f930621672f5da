package token

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerVerify: kubeiam verify's view of a v0.7.2 server: its host table,
// plus the host of the region it runs in.
func TestServerVerify(t *testing.T) {
	for _, tc := range []struct {
		host, partition, serverRegion string
		ok                            bool
	}{
		{"sts.us-west-2.amazonaws.com", "aws", "", true},
		{"sts.amazonaws.com", "aws", "", true},
		{"sts-fips.us-east-1.amazonaws.com", "aws", "", true},
		{"sts-fips.eu-west-1.amazonaws.com", "aws", "", false},
		{"sts-fips.ca-central-1.amazonaws.com", "aws", "", false},
		{"sts-fips.cn-north-1.amazonaws.com.cn", "aws-cn", "", false},
		{"sts.cn-north-1.amazonaws.com.cn", "aws-cn", "", true},
		// Newer than v0.7.2's endpoint data: only where the server runs.
		{"sts.mx-central-1.amazonaws.com", "aws", "", false},
		{"sts.mx-central-1.amazonaws.com", "aws", "mx-central-1", true},
		{"sts.eu-isoe-west-1.cloud.adc-e.uk", "aws-iso-e", "", false},
		{"sts.eu-isoe-west-1.cloud.adc-e.uk", "aws-iso-e", "eu-isoe-west-1", true},
		{"sts.eusc-de-east-1.amazonaws.eu", "aws-eusc", "eusc-de-east-1", false},
		{"sts.us-east1.amazonaws.com", "aws", "", false},
	} {
		tok := tokenFor(t, "https://"+tc.host+"/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60&X-Amz-Date=20261126T120000Z&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id")
		_, err := ServerV072.Verify(tok, tc.partition, tc.serverRegion, fixedNow)
		var ce *CheckError
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s (%s, in %q): %v", tc.host, tc.partition, tc.serverRegion, err)
		case !tc.ok && (!errors.As(err, &ce) || ce.Check != "host" || !strings.Contains(err.Error(), "aws-iam-authenticator v0.7.2")):
			t.Errorf("%s (%s, in %q): err = %v, want the host check to name v0.7.2", tc.host, tc.partition, tc.serverRegion, err)
		}
	}
}

// TestServerV072MatchesItsVerifier asks aws-iam-authenticator v0.7.2's own
// verifier (testdata/v072hosts, built against the release's go.mod) about
// every STS host of every region kubeiam knows, regional and FIPS, and
// expects ServerV072 to give the same answers.
func TestServerV072MatchesItsVerifier(t *testing.T) {
	if testing.Short() {
		t.Skip("builds aws-iam-authenticator's verifier")
	}
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skip(err)
	}
	src := filepath.Join(strings.TrimSpace(string(modcache)), "sigs.k8s.io", "aws-iam-authenticator@v0.7.2")
	gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		t.Skipf("aws-iam-authenticator v0.7.2 is not in the module cache (the e2e rig downloads it): %v", err)
	}
	dir := t.TempDir()
	_, rest, _ := strings.Cut(string(gomod), "\n")
	files := map[string][]byte{
		"go.mod": []byte("module v072hosts\n" + rest + "\nrequire sigs.k8s.io/aws-iam-authenticator v0.7.2\n"),
	}
	if files["go.sum"], err = os.ReadFile(filepath.Join(src, "go.sum")); err != nil {
		t.Fatal(err)
	}
	if files["main.go"], err = os.ReadFile(filepath.Join("testdata", "v072hosts", "main.go")); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "v072hosts")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GONOSUMDB=*", "GONOSUMCHECK=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build v0.7.2's verifier offline: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ask := func(partition, serverRegion string, hosts []string) {
		cmd := exec.CommandContext(ctx, bin, append([]string{partition, serverRegion}, hosts...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("v072hosts: %v", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		n := 0
		for ; sc.Scan(); n++ {
			host, verdict, _ := strings.Cut(sc.Text(), " ")
			_, err := ServerV072.HostRegion(partition, serverRegion, host)
			if (verdict == "true") != (err == nil) {
				t.Errorf("%s in %s (server region %q): v0.7.2 accepts=%s, kubeiam: %v", host, partition, serverRegion, verdict, err)
			}
		}
		if n != len(hosts) {
			t.Fatalf("v072hosts answered %d of %d hosts", n, len(hosts))
		}
	}
	hosts := []string{"sts.amazonaws.com"}
	for _, p := range Partitions() {
		for _, r := range p.Regions {
			hosts = append(hosts, sdkEndpoint(r, false).Host, sdkEndpoint(r, true).Host, "sts-fips."+r+"."+p.DNSSuffix)
		}
	}
	for _, p := range Partitions() {
		ask(p.ID, "", hosts)
	}
	ask("aws", "mx-central-1", []string{"sts.mx-central-1.amazonaws.com", "sts-fips.mx-central-1.amazonaws.com"})
	ask("aws-iso-e", "eu-isoe-west-1", []string{"sts.eu-isoe-west-1.cloud.adc-e.uk"})
}
