package token

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// DefaultRegion is used when neither flags, environment nor profile name a
// region. Falling back beats probing IMDS, which stalls off EC2.
const DefaultRegion = "us-east-1"

// Partition describes where an STS host may live. The server checks the token
// host against the hosts of its partition. This table mirrors the AWS SDK's
// partition metadata; a test checks every entry against the SDK's own
// endpoint rules, so the two cannot drift apart unnoticed. It is kept here,
// rather than asking the SDK at run time, because the SDK's endpoint package
// costs milliseconds of init on every kubectl call.
type Partition struct {
	ID          string
	DNSSuffix   string
	RegionRegex *regexp.Regexp
	// GlobalHost is the legacy global endpoint, only in the aws partition.
	GlobalHost string
	// FIPSIsDefault: the partition's regular endpoints are FIPS endpoints
	// already (GovCloud), so there is no sts-fips host.
	FIPSIsDefault bool
}

// Partitions returns the known partitions, aws first.
func Partitions() []Partition { return slices.Clone(partitions()) }

// partitions builds the table once per process, on first use (never at
// init): compiling its patterns costs more than a cached token's whole
// check, which runs on every kubectl call.
var partitions = sync.OnceValue(func() []Partition {
	return []Partition{
		{ID: "aws", DNSSuffix: "amazonaws.com", RegionRegex: regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`), GlobalHost: "sts.amazonaws.com"},
		{ID: "aws-cn", DNSSuffix: "amazonaws.com.cn", RegionRegex: regexp.MustCompile(`^cn-\w+-\d+$`)},
		{ID: "aws-us-gov", DNSSuffix: "amazonaws.com", RegionRegex: regexp.MustCompile(`^us-gov-\w+-\d+$`), FIPSIsDefault: true},
		{ID: "aws-iso", DNSSuffix: "c2s.ic.gov", RegionRegex: regexp.MustCompile(`^us-iso-\w+-\d+$`)},
		{ID: "aws-iso-b", DNSSuffix: "sc2s.sgov.gov", RegionRegex: regexp.MustCompile(`^us-isob-\w+-\d+$`)},
		{ID: "aws-iso-e", DNSSuffix: "cloud.adc-e.uk", RegionRegex: regexp.MustCompile(`^eu-isoe-\w+-\d+$`)},
		{ID: "aws-iso-f", DNSSuffix: "csp.hci.ic.gov", RegionRegex: regexp.MustCompile(`^us-isof-\w+-\d+$`)},
		{ID: "aws-eusc", DNSSuffix: "amazonaws.eu", RegionRegex: regexp.MustCompile(`^eusc-(de)-\w+-\d+$`)},
	}
})

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
	// Kind is "regional", "global" or "fips".
	Kind string
}

// EndpointFor picks the canonical STS host for region: regional by default,
// sts.amazonaws.com (signed for us-east-1) when global, the FIPS host when
// fips. AWS_ENDPOINT_URL_STS never changes it: that variable redirects the
// SDK's own calls, while the token must name a host on the server's
// allow-list.
func EndpointFor(region string, global, fips bool) (Endpoint, error) {
	if global {
		return Endpoint{Host: "sts.amazonaws.com", SigningRegion: "us-east-1", Partition: "aws", Kind: "global"}, nil
	}
	if region == "" || strings.ContainsAny(region, "./:@ ") {
		return Endpoint{}, fmt.Errorf("could not pick an STS endpoint: %q is not a region", region)
	}
	p := PartitionForRegion(region)
	ep := Endpoint{Host: "sts." + region + "." + p.DNSSuffix, SigningRegion: region, Partition: p.ID, Kind: "regional"}
	if fips {
		ep.Kind = "fips"
		if !p.FIPSIsDefault {
			ep.Host = "sts-fips." + region + "." + p.DNSSuffix
		}
	}
	return ep, nil
}
