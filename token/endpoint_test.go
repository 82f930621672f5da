package token

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// sdkHost asks the AWS SDK's own STS endpoint rules.
func sdkHost(t *testing.T, region string, global, fips bool) string {
	t.Helper()
	ep, err := sts.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), sts.EndpointParameters{
		Region: aws.String(region), UseDualStack: aws.Bool(false), UseFIPS: aws.Bool(fips), UseGlobalEndpoint: aws.Bool(global),
	})
	if err != nil {
		t.Fatalf("SDK: %s: %v", region, err)
	}
	u, err := url.Parse(ep.URI.String())
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname()
}

// TestEndpointTableMatchesSDK: kubeiam's partition table names the same host
// as the SDK's endpoint rules for every region of every partition, regional
// and FIPS, so the front binary (which cannot afford the SDK's init) and the
// SDK agree.
func TestEndpointTableMatchesSDK(t *testing.T) {
	regions := []string{"xx-unknown-1"} // unknown regions fall into aws, as in the SDK
	for _, p := range Partitions() {
		regions = append(regions, p.Regions...)
	}
	for _, r := range regions {
		for _, fips := range []bool{false, true} {
			ep := sdkEndpoint(r, fips)
			if want := sdkHost(t, r, false, fips); ep.Host != want {
				t.Errorf("%s fips=%t: kubeiam %s, SDK %s", r, fips, ep.Host, want)
			}
			p, _ := PartitionByID(ep.Partition)
			if _, ok := p.HostRegion(ep.Host); !ok && r != "xx-unknown-1" {
				t.Errorf("%s: %s fails the host check of its own partition %s", r, ep.Host, p.ID)
			}
		}
	}
	ep, _ := EndpointFor("eu-west-1", true, false)
	if want := sdkHost(t, "us-east-1", true, false); ep.Host != want || ep.SigningRegion != "us-east-1" {
		t.Errorf("global: %+v, SDK %s", ep, want)
	}
}

// TestKnownRegionsMatchSDK: the partition table is the SDK's partitions.json
// (of the aws-sdk-go-v2 in go.mod): the same region patterns, DNS suffixes
// and regions, less the "-global" pseudo-regions that name no STS host.
func TestKnownRegionsMatchSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Skipf("cannot find the aws-sdk-go-v2 module: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(string(bytes.TrimSpace(out)), "internal", "endpoints", "awsrulesfn", "partitions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Partitions []struct {
			ID          string
			RegionRegex string
			Outputs     struct{ DNSSuffix string }
			Regions     map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Partitions) != len(Partitions()) {
		t.Errorf("the SDK has %d partitions, kubeiam %d", len(doc.Partitions), len(Partitions()))
	}
	for _, sp := range doc.Partitions {
		p, err := PartitionByID(sp.ID)
		if err != nil {
			t.Errorf("SDK partition %s: %v", sp.ID, err)
			continue
		}
		var regions []string
		for r := range sp.Regions {
			if !strings.HasSuffix(r, "-global") {
				regions = append(regions, r)
			}
		}
		slices.Sort(regions)
		if p.RegionRegex.String() != sp.RegionRegex || p.DNSSuffix != sp.Outputs.DNSSuffix || !slices.Equal(p.Regions, regions) {
			t.Errorf("partition %s: kubeiam %s %s %q\nSDK %s %s %q", sp.ID, p.RegionRegex, p.DNSSuffix, p.Regions, sp.RegionRegex, sp.Outputs.DNSSuffix, regions)
		}
	}
}

func TestEndpointForChecksRegionAndFIPS(t *testing.T) {
	for _, tc := range []struct {
		region       string
		global, fips bool
		host         string // "" when refused
		unknown      bool
	}{
		{region: "us-east-1", host: "sts.us-east-1.amazonaws.com"},
		{region: "us-east-1", fips: true, host: "sts-fips.us-east-1.amazonaws.com"},
		{region: "us-west-2", fips: true, host: "sts-fips.us-west-2.amazonaws.com"},
		{region: "us-gov-west-1", fips: true, host: "sts.us-gov-west-1.amazonaws.com"},
		// aws-iam-authenticator v0.7.2 has no FIPS host for these.
		{region: "eu-west-1", fips: true},
		{region: "ca-central-1", fips: true},
		{region: "cn-north-1", fips: true},
		// Global ignores FIPS, as the SDK does, but not a malformed region.
		{region: "eu-west-1", global: true, fips: true, host: "sts.amazonaws.com"},
		{region: "", global: true, host: "sts.amazonaws.com"},
		{region: "us-east1", global: true},
		// Well-formed but newer than the table: signed, flagged.
		{region: "ap-southeast-9", host: "sts.ap-southeast-9.amazonaws.com", unknown: true},
		{region: "cn-south-2", host: "sts.cn-south-2.amazonaws.com.cn", unknown: true},
		// Not well-formed.
		{region: ""}, {region: "us-east1"}, {region: "US-EAST-1"}, {region: "mars-1"}, {region: "us-EAST-1"},
		{region: " us-east-1"}, {region: "us east 1"}, {region: "evil.com/x"}, {region: "us-east-1.attacker"}, {region: "xx-unknown-1"},
	} {
		ep, err := EndpointFor(tc.region, tc.global, tc.fips)
		switch {
		case tc.host == "" && err == nil:
			t.Errorf("%q global=%t fips=%t: accepted as %s", tc.region, tc.global, tc.fips, ep.Host)
		case tc.host != "" && err != nil:
			t.Errorf("%q global=%t fips=%t: %v", tc.region, tc.global, tc.fips, err)
		case tc.host != "" && (ep.Host != tc.host || ep.UnknownRegion != tc.unknown):
			t.Errorf("%q global=%t fips=%t: %+v, want host %s unknown %t", tc.region, tc.global, tc.fips, ep, tc.host, tc.unknown)
		case tc.unknown != (ep.Warning() != ""):
			t.Errorf("%q: warning %q", tc.region, ep.Warning())
		}
	}
	_, err := EndpointFor("eu-west-1", false, true)
	if err == nil || !strings.Contains(err.Error(), "only in us-east-1, us-east-2, us-west-1, us-west-2") {
		t.Errorf("FIPS in eu-west-1: %v", err)
	}
}

// matchRegion, the hot path's reading of each partition's pattern, agrees
// with the pattern itself compiled by regexp: on every known region, on
// near misses of them, and (FuzzMatchRegion) on whatever the fuzzer finds.
func TestMatchRegionIsThePattern(t *testing.T) {
	var corpus []string
	for _, s := range partitionTable {
		for _, r := range s.regions {
			corpus = append(corpus, r, strings.ToUpper(r), r+"-", r+"x", "-"+r, r+"-1", strings.Replace(r, "-", "_", 1),
				strings.Replace(r, "-", "", 1), r[:len(r)-1], r+"\n", " "+r, strings.Replace(r, "1", "١", 1))
		}
		for _, p := range s.prefixes {
			corpus = append(corpus, p, p+"-", p+"--1", p+"-a-", p+"-a-1", p+"-_-0", p+"-a_b9-12", p+"-a-1a", p+"-a-b-1", p+"-é-1")
		}
	}
	corpus = append(corpus, "", "-", "--", "us", "xx-unknown-1")
	for _, r := range corpus {
		checkMatchRegion(t, r)
	}
}

func FuzzMatchRegion(f *testing.F) {
	for _, r := range []string{"us-east-1", "us-gov-west-1", "eusc-de-east-1", "cn-north-1", "us-isob-east-1", "eu-isoe-west-1", "ap-x_y-0"} {
		f.Add(r)
	}
	f.Fuzz(checkMatchRegion)
}

func checkMatchRegion(t *testing.T, region string) {
	for _, s := range partitionTable {
		if got, want := s.matchRegion(region), regexp.MustCompile(s.regionRegex).MatchString(region); got != want {
			t.Errorf("partition %s, region %q: matchRegion %t, %s %t", s.id, region, got, s.regionRegex, want)
		}
	}
}
