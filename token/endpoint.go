package token

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/kubeiam/kubeiam/internal/clierr"
)

// DefaultRegion is used when neither flags, environment nor profile name a
// region. Falling back beats probing IMDS, which stalls off EC2.
const DefaultRegion = "us-east-1"

// Partition describes where an STS host may live. The server checks the token
// host against the hosts of its partition. This table mirrors the AWS SDK's
// partition metadata; tests check every entry against the SDK's own endpoint
// rules and partitions.json, so the two cannot drift apart unnoticed. It is
// kept here, rather than asking the SDK at run time, because the SDK's
// endpoint package costs milliseconds of init on every kubectl call.
type Partition struct {
	ID          string
	DNSSuffix   string
	RegionRegex *regexp.Regexp
	// GlobalHost is the legacy global endpoint, only in the aws partition.
	GlobalHost string
	// FIPSIsDefault: the partition's regular endpoints are FIPS endpoints
	// already (GovCloud), so there is no sts-fips host.
	FIPSIsDefault bool
	// Regions are the partition's regions the SDK knows (aws-sdk-go-v2
	// v1.48.0); a region that fits RegionRegex but is not listed may be
	// newer than the table.
	Regions []string
}

// partitions is built on first use, not at package init: the front binary
// links this package and most calls never look at a region.
var partitions = sync.OnceValue(newPartitionTable)

func newPartitionTable() []Partition {
	return []Partition{
		{ID: "aws", DNSSuffix: "amazonaws.com", RegionRegex: regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`), GlobalHost: "sts.amazonaws.com",
			Regions: []string{"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
				"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
				"ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
				"il-central-1", "me-central-1", "me-south-1", "me-west-1", "mx-central-1", "sa-east-1", "sa-west-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"}},
		{ID: "aws-cn", DNSSuffix: "amazonaws.com.cn", RegionRegex: regexp.MustCompile(`^cn\-\w+\-\d+$`), Regions: []string{"cn-north-1", "cn-northwest-1"}},
		{ID: "aws-us-gov", DNSSuffix: "amazonaws.com", RegionRegex: regexp.MustCompile(`^us\-gov\-\w+\-\d+$`), FIPSIsDefault: true, Regions: []string{"us-gov-east-1", "us-gov-west-1"}},
		{ID: "aws-iso", DNSSuffix: "c2s.ic.gov", RegionRegex: regexp.MustCompile(`^us\-iso\-\w+\-\d+$`), Regions: []string{"us-iso-east-1", "us-iso-west-1"}},
		{ID: "aws-iso-b", DNSSuffix: "sc2s.sgov.gov", RegionRegex: regexp.MustCompile(`^us\-isob\-\w+\-\d+$`), Regions: []string{"us-isob-east-1", "us-isob-west-1"}},
		{ID: "aws-iso-e", DNSSuffix: "cloud.adc-e.uk", RegionRegex: regexp.MustCompile(`^eu\-isoe\-\w+\-\d+$`), Regions: []string{"eu-isoe-west-1"}},
		{ID: "aws-iso-f", DNSSuffix: "csp.hci.ic.gov", RegionRegex: regexp.MustCompile(`^us\-isof\-\w+\-\d+$`), Regions: []string{"us-isof-east-1", "us-isof-south-1"}},
		{ID: "aws-eusc", DNSSuffix: "amazonaws.eu", RegionRegex: regexp.MustCompile(`^eusc\-(de)\-\w+\-\d+$`), Regions: []string{"eusc-de-east-1"}},
	}
}

// Partitions returns the known partitions, aws first.
func Partitions() []Partition { return slices.Clone(partitions()) }

// PartitionByID returns the partition with that ID.
func PartitionByID(id string) (Partition, error) {
	var ids []string
	for _, p := range partitions() {
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
	ps := partitions()
	// aws last: its "us-" would also match us-gov, us-iso and us-isob.
	for _, p := range ps[1:] {
		if p.RegionRegex.MatchString(region) {
			return p
		}
	}
	return ps[0]
}

// HostRegion tells whether host has the form of an STS host of partition p,
// and which region signs for it: any region that fits the partition's
// naming pattern, plus the FIPS variants. A given server version accepts
// fewer hosts; see Server.
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
	// Kind is "regional", "global" or "fips".
	Kind string
	// UnknownRegion: the region is well-formed but not in the partition
	// table; it may be newer than kubeiam, or a server may not know it.
	UnknownRegion bool
}

// Warning is the one line to print on stderr before handing out a token for
// the endpoint, or "" when there is nothing to say.
func (ep Endpoint) Warning() string {
	if !ep.UnknownRegion || ep.Kind == "global" {
		return ""
	}
	return fmt.Sprintf("kubeiam: warning: region %s is not in kubeiam's region table; signed for %s anyway (a server that does not know the region refuses the token)",
		ep.SigningRegion, ep.Host)
}

// EndpointFor picks the canonical STS host for region: regional by default,
// sts.amazonaws.com (signed for us-east-1) when global, the FIPS host when
// fips. AWS_ENDPOINT_URL_STS never changes it: that variable redirects the
// SDK's own calls, while the token must name a host on the server's
// allow-list. A region that is not well-formed is a *RegionError; FIPS where
// aws-iam-authenticator servers have no FIPS host is an error too, as
// neither would give a token any server accepts.
func EndpointFor(region string, global, fips bool) (Endpoint, error) {
	if global {
		if region != "" {
			if _, err := CheckRegion(region); err != nil {
				return Endpoint{}, err
			}
		}
		return Endpoint{Host: "sts.amazonaws.com", SigningRegion: "us-east-1", Partition: "aws", Kind: "global"}, nil
	}
	known, err := CheckRegion(region)
	if err != nil {
		return Endpoint{}, err
	}
	ep := sdkEndpoint(region, fips)
	ep.UnknownRegion = !known
	if fips && !ServerV072.acceptsFIPS(ep) {
		return Endpoint{}, clierr.WithHint(fmt.Errorf("FIPS: %s servers accept FIPS STS hosts only in %s, so a token for %s would be refused",
			ServerV072.Name, ServerV072.fipsRegions(ep.Partition), ep.Host),
			"drop --fips (and AWS_USE_FIPS_ENDPOINT / the profile's use_fips_endpoint) to sign for sts.%s.%s, use --sts-global, or pick one of those regions with --region",
			region, PartitionForRegion(region).DNSSuffix)
	}
	return ep, nil
}

// sdkEndpoint is the host the AWS SDK's endpoint rules give for a
// well-formed region.
func sdkEndpoint(region string, fips bool) Endpoint {
	p := PartitionForRegion(region)
	ep := Endpoint{Host: "sts." + region + "." + p.DNSSuffix, SigningRegion: region, Partition: p.ID, Kind: "regional"}
	if fips {
		ep.Kind = "fips"
		if !p.FIPSIsDefault {
			ep.Host = "sts-fips." + region + "." + p.DNSSuffix
		}
	}
	return ep
}
