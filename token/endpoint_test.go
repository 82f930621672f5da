package token

import (
	"context"
	"net/url"
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
	regions := []string{
		"us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-south-2",
		"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
		"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
		"eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1", "eu-south-2", "il-central-1", "me-south-1",
		"me-central-1", "mx-central-1", "sa-east-1",
		"cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1", "us-iso-east-1", "us-iso-west-1",
		"us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1", "us-isof-east-1", "eusc-de-east-1",
		"xx-unknown-1", // unknown regions fall into aws, as in the SDK
	}
	for _, r := range regions {
		for _, fips := range []bool{false, true} {
			ep, err := EndpointFor(r, false, fips)
			if err != nil {
				t.Fatal(err)
			}
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
	for _, bad := range []string{"", "evil.com/x", "us-east-1.attacker", "a b"} {
		if _, err := EndpointFor(bad, false, false); err == nil {
			t.Errorf("region %q accepted", bad)
		}
	}
}
