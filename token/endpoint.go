package token

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/kubeiam/kubeiam/internal/hint"
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

	spec *partitionSpec // the table row it was made from
}

// partitionSpec is one row of the partition table, as plain data. Every
// cached kubectl call looks its region up, so that path compiles no regular
// expression: matchRegion reads the SDK's pattern by hand. The Partition
// values of the public API, with RegionRegex compiled, are made from these
// rows on first use.
type partitionSpec struct {
	id, dnsSuffix, globalHost string
	fipsIsDefault             bool
	// regionRegex is the SDK's pattern. Every partition's has the form
	// ^(P1|P2…)\-\w+\-\d+$; prefixes are its P alternatives.
	regionRegex string
	prefixes    []string
	regions     []string
}

var partitionTable = [...]partitionSpec{
	{id: "aws", dnsSuffix: "amazonaws.com", regionRegex: `^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`, globalHost: "sts.amazonaws.com",
		prefixes: []string{"us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"},
		regions: []string{"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
			"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
			"ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
			"il-central-1", "me-central-1", "me-south-1", "me-west-1", "mx-central-1", "sa-east-1", "sa-west-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"}},
	{id: "aws-cn", dnsSuffix: "amazonaws.com.cn", regionRegex: `^cn\-\w+\-\d+$`, prefixes: []string{"cn"}, regions: []string{"cn-north-1", "cn-northwest-1"}},
	{id: "aws-us-gov", dnsSuffix: "amazonaws.com", regionRegex: `^us\-gov\-\w+\-\d+$`, prefixes: []string{"us-gov"}, fipsIsDefault: true, regions: []string{"us-gov-east-1", "us-gov-west-1"}},
	{id: "aws-iso", dnsSuffix: "c2s.ic.gov", regionRegex: `^us\-iso\-\w+\-\d+$`, prefixes: []string{"us-iso"}, regions: []string{"us-iso-east-1", "us-iso-west-1"}},
	{id: "aws-iso-b", dnsSuffix: "sc2s.sgov.gov", regionRegex: `^us\-isob\-\w+\-\d+$`, prefixes: []string{"us-isob"}, regions: []string{"us-isob-east-1", "us-isob-west-1"}},
	{id: "aws-iso-e", dnsSuffix: "cloud.adc-e.uk", regionRegex: `^eu\-isoe\-\w+\-\d+$`, prefixes: []string{"eu-isoe"}, regions: []string{"eu-isoe-west-1"}},
	{id: "aws-iso-f", dnsSuffix: "csp.hci.ic.gov", regionRegex: `^us\-isof\-\w+\-\d+$`, prefixes: []string{"us-isof"}, regions: []string{"us-isof-east-1", "us-isof-south-1"}},
	{id: "aws-eusc", dnsSuffix: "amazonaws.eu", regionRegex: `^eusc\-(de)\-\w+\-\d+$`, prefixes: []string{"eusc-de"}, regions: []string{"eusc-de-east-1"}},
}

// matchRegion is regionRegex: a prefix, "-", ASCII word characters, "-",
// ASCII digits, and nothing else.
func (s *partitionSpec) matchRegion(region string) bool {
	for _, p := range s.prefixes {
		rest, ok := strings.CutPrefix(region, p+"-")
		if !ok {
			continue
		}
		word, digits, ok := strings.Cut(rest, "-")
		if ok && word != "" && digits != "" && strings.IndexFunc(word, notWord) < 0 && strings.IndexFunc(digits, notDigit) < 0 {
			return true
		}
	}
	return false
}

func notWord(r rune) bool {
	return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_'
}

func notDigit(r rune) bool { return r < '0' || r > '9' }

// specForRegion is the row a region belongs to: the first whose pattern it
// fits, aws last (its "us-" would also match us-gov, us-iso and us-isob);
// regions that fit none are taken to be in aws, as the SDK does.
func specForRegion(region string) *partitionSpec {
	for i := 1; i < len(partitionTable); i++ {
		if partitionTable[i].matchRegion(region) {
			return &partitionTable[i]
		}
	}
	return &partitionTable[0]
}

func specByID(id string) *partitionSpec {
	for i := range partitionTable {
		if partitionTable[i].id == id {
			return &partitionTable[i]
		}
	}
	return nil
}

// hostRegion is Partition.HostRegion for the partition's global host,
// DNS suffix and region pattern.
func hostRegion(host, globalHost, dnsSuffix string, matchRegion func(string) bool) (region string, ok bool) {
	if globalHost != "" && host == globalHost {
		return "us-east-1", true
	}
	rest, ok := strings.CutSuffix(host, "."+dnsSuffix)
	if !ok {
		return "", false
	}
	labels := strings.Split(rest, ".")
	if len(labels) != 2 || (labels[0] != "sts" && labels[0] != "sts-fips") || !matchRegion(labels[1]) {
		return "", false
	}
	return labels[1], true
}

// partitions is the public form of the table, built on first use.
var partitions = sync.OnceValue(func() []Partition {
	ps := make([]Partition, len(partitionTable))
	for i := range partitionTable {
		s := &partitionTable[i]
		ps[i] = Partition{ID: s.id, DNSSuffix: s.dnsSuffix, RegionRegex: regexp.MustCompile(s.regionRegex), GlobalHost: s.globalHost,
			FIPSIsDefault: s.fipsIsDefault, Regions: slices.Clone(s.regions), spec: s}
	}
	return ps
})

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
	s := specForRegion(region)
	for _, p := range partitions() {
		if p.spec == s {
			return p
		}
	}
	panic("token: partition table row without a Partition")
}

// HostRegion tells whether host has the form of an STS host of partition p,
// and which region signs for it: any region that fits the partition's
// naming pattern, plus the FIPS variants. A given server version accepts
// fewer hosts; see Server.
func (p Partition) HostRegion(host string) (region string, ok bool) {
	match := p.RegionRegex.MatchString // a Partition the caller made
	if p.spec != nil {
		match = p.spec.matchRegion
	}
	return hostRegion(host, p.GlobalHost, p.DNSSuffix, match)
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
		return Endpoint{}, hint.With(fmt.Errorf("FIPS: %s servers accept FIPS STS hosts only in %s, so a token for %s would be refused",
			ServerV072.Name, ServerV072.fipsRegions(ep.Partition), ep.Host),
			"drop --fips (and AWS_USE_FIPS_ENDPOINT / the profile's use_fips_endpoint) to sign for sts.%s.%s, use --sts-global, or pick one of those regions with --region",
			region, specForRegion(region).dnsSuffix)
	}
	return ep, nil
}

// sdkEndpoint is the host the AWS SDK's endpoint rules give for a
// well-formed region.
func sdkEndpoint(region string, fips bool) Endpoint {
	p := specForRegion(region)
	ep := Endpoint{Host: "sts." + region + "." + p.dnsSuffix, SigningRegion: region, Partition: p.id, Kind: "regional"}
	if fips {
		ep.Kind = "fips"
		if !p.fipsIsDefault {
			ep.Host = "sts-fips." + region + "." + p.dnsSuffix
		}
	}
	return ep
}
