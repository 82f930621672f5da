package token

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Partition describes where an STS host may live. The server checks the token
// host against the hosts of its partition; this table mirrors the SDK's
// partition metadata for the partitions aws-iam-authenticator knows.
type Partition struct {
	ID          string
	DNSSuffix   string
	RegionRegex *regexp.Regexp
	// GlobalHost is the legacy global endpoint, only in the aws partition.
	GlobalHost string
}

// Partitions returns the known partitions, aws first.
func Partitions() []Partition {
	return []Partition{
		{ID: "aws", DNSSuffix: "amazonaws.com", RegionRegex: regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`), GlobalHost: "sts.amazonaws.com"},
		{ID: "aws-cn", DNSSuffix: "amazonaws.com.cn", RegionRegex: regexp.MustCompile(`^cn-\w+-\d+$`)},
		{ID: "aws-us-gov", DNSSuffix: "amazonaws.com", RegionRegex: regexp.MustCompile(`^us-gov-\w+-\d+$`)},
		{ID: "aws-iso", DNSSuffix: "c2s.ic.gov", RegionRegex: regexp.MustCompile(`^us-iso-\w+-\d+$`)},
		{ID: "aws-iso-b", DNSSuffix: "sc2s.sgov.gov", RegionRegex: regexp.MustCompile(`^us-isob-\w+-\d+$`)},
	}
}

// PartitionByID returns the partition with that ID.
func PartitionByID(id string) (Partition, error) {
	var ids []string
	for _, p := range Partitions() {
		if p.ID == id {
			return p, nil
		}
		ids = append(ids, p.ID)
	}
	return Partition{}, fmt.Errorf("unknown partition %q (known: %s)", id, strings.Join(ids, ", "))
}

// PartitionForRegion returns the partition a region belongs to. Regions that
// match no pattern are taken to be in aws, as the SDK does.
func PartitionForRegion(region string) Partition {
	ps := Partitions()
	// Most specific first: us-gov/us-iso/us-isob would also match aws's "us-".
	for _, i := range []int{2, 3, 4, 1, 0} {
		if ps[i].RegionRegex.MatchString(region) {
			return ps[i]
		}
	}
	return ps[0]
}

// HostRegion tells whether host is an STS host of partition p that an
// aws-iam-authenticator server would accept, and which region signs for it.
// The server enumerates the SDK's known regions; kubeiam accepts any region
// that fits the partition's naming pattern, plus the FIPS variants.
func (p Partition) HostRegion(host string) (region string, ok bool) {
	if p.GlobalHost != "" && host == p.GlobalHost {
		return "us-east-1", true
	}
	suffix := "." + p.DNSSuffix
	if !strings.HasSuffix(host, suffix) {
		return "", false
	}
	labels := strings.Split(strings.TrimSuffix(host, suffix), ".")
	if len(labels) != 2 || (labels[0] != "sts" && labels[0] != "sts-fips") {
		return "", false
	}
	if !p.RegionRegex.MatchString(labels[1]) {
		return "", false
	}
	return labels[1], true
}

// Endpoint is the STS host a token names and the region that signs for it.
type Endpoint struct {
	Host          string
	SigningRegion string
	Partition     string
	// Kind is "regional", "global" or "fips"; it is part of the cache key.
	Kind string
}

// ResolveEndpoint picks the canonical STS host for region. It asks the SDK's
// own endpoint rules (so partitions and FIPS hosts stay as AWS publishes them)
// but never passes a custom endpoint: AWS_ENDPOINT_URL_STS redirects the SDK's
// calls, never the host a token names, which the server checks against its
// allow-list.
func ResolveEndpoint(ctx context.Context, region string, global, fips bool) (Endpoint, error) {
	kind := "regional"
	switch {
	case global:
		region, kind = "us-east-1", "global"
	case fips:
		kind = "fips"
	}
	ep, err := sts.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, sts.EndpointParameters{
		Region:            aws.String(region),
		UseDualStack:      aws.Bool(false),
		UseFIPS:           aws.Bool(fips && !global),
		UseGlobalEndpoint: aws.Bool(global),
	})
	if err != nil {
		return Endpoint{}, fmt.Errorf("could not resolve the STS endpoint for region %q: %w", region, err)
	}
	u, err := url.Parse(ep.URI.String())
	if err != nil {
		return Endpoint{}, fmt.Errorf("could not parse the STS endpoint %q: %w", ep.URI.String(), err)
	}
	return Endpoint{Host: u.Hostname(), SigningRegion: region, Partition: PartitionForRegion(region).ID, Kind: kind}, nil
}
