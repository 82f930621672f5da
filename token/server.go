package token

import (
	"fmt"
	"slices"
	"strings"
)

// Server is the STS host table of one aws-iam-authenticator server version:
// the only hosts it accepts in a token; any other is "unexpected hostname".
type Server struct {
	// Name is how the version is printed: "aws-iam-authenticator v0.7.2".
	Name string
	// Partitions list the hosts the server's endpoint data resolves for STS,
	// per partition. A partition missing here is one the server does not
	// know (it then accepts nothing). A slice, not a map, so the table costs
	// no work at package init.
	Partitions []ServerPartition
}

// ServerPartition is a server's STS hosts in one partition.
type ServerPartition struct {
	ID    string
	Hosts []string
}

// hosts returns the server's hosts in partition and whether it knows it.
func (s *Server) hosts(partition string) ([]string, bool) {
	for _, p := range s.Partitions {
		if p.ID == partition {
			return p.Hosts, true
		}
	}
	return nil, false
}

// ServerV072 is the host table of aws-iam-authenticator v0.7.2 (and the
// v0.7.x servers built with the same endpoint data). Its verifier
// (pkg/token stsHostsForPartition) takes every STS endpoint that
// aws-sdk-go v1.55.7's endpoints data lists for the partition, resolved with
// the regional option, and adds the host of the region it runs in (EC2
// instance metadata; none off EC2). So: no sts-fips host outside four US
// regions, none at all in aws-cn, and no regions newer than that SDK
// release. testdata/v072hosts regenerates the lists from that SDK.
var ServerV072 = &Server{
	Name: "aws-iam-authenticator v0.7.2",
	Partitions: []ServerPartition{
		{"aws", []string{"sts-fips.us-east-1.amazonaws.com", "sts-fips.us-east-2.amazonaws.com", "sts-fips.us-west-1.amazonaws.com", "sts-fips.us-west-2.amazonaws.com",
			"sts.af-south-1.amazonaws.com", "sts.amazonaws.com", "sts.ap-east-1.amazonaws.com", "sts.ap-northeast-1.amazonaws.com",
			"sts.ap-northeast-2.amazonaws.com", "sts.ap-northeast-3.amazonaws.com", "sts.ap-south-1.amazonaws.com", "sts.ap-south-2.amazonaws.com",
			"sts.ap-southeast-1.amazonaws.com", "sts.ap-southeast-2.amazonaws.com", "sts.ap-southeast-3.amazonaws.com", "sts.ap-southeast-4.amazonaws.com",
			"sts.ca-central-1.amazonaws.com", "sts.ca-west-1.amazonaws.com", "sts.eu-central-1.amazonaws.com", "sts.eu-central-2.amazonaws.com",
			"sts.eu-north-1.amazonaws.com", "sts.eu-south-1.amazonaws.com", "sts.eu-south-2.amazonaws.com", "sts.eu-west-1.amazonaws.com",
			"sts.eu-west-2.amazonaws.com", "sts.eu-west-3.amazonaws.com", "sts.il-central-1.amazonaws.com", "sts.me-central-1.amazonaws.com",
			"sts.me-south-1.amazonaws.com", "sts.sa-east-1.amazonaws.com", "sts.us-east-1.amazonaws.com", "sts.us-east-2.amazonaws.com",
			"sts.us-west-1.amazonaws.com", "sts.us-west-2.amazonaws.com"}},
		{"aws-cn", []string{"sts.cn-north-1.amazonaws.com.cn", "sts.cn-northwest-1.amazonaws.com.cn"}},
		{"aws-us-gov", []string{"sts.us-gov-east-1.amazonaws.com", "sts.us-gov-west-1.amazonaws.com"}},
		{"aws-iso", []string{"sts.us-iso-east-1.c2s.ic.gov", "sts.us-iso-west-1.c2s.ic.gov"}},
		{"aws-iso-b", []string{"sts.us-isob-east-1.sc2s.sgov.gov"}},
		// The SDK release lists no STS endpoints here: only the host of the
		// server's own region is accepted.
		{"aws-iso-e", nil},
		{"aws-iso-f", nil},
	},
}

// HostRegion tells whether the server, running for partition in
// serverRegion ("" off EC2), accepts host, and which region signs for it;
// when it does not, the error says why in the server's terms.
func (s *Server) HostRegion(partition, serverRegion, host string) (string, error) {
	hosts, ok := s.hosts(partition)
	if !ok {
		return "", fmt.Errorf("%s does not know partition %s and accepts no host", s.Name, partition)
	}
	p, err := PartitionByID(partition)
	if err != nil {
		return "", err
	}
	accepted := slices.Contains(hosts, host) || (serverRegion != "" && host == "sts."+serverRegion+"."+p.DNSSuffix)
	region, ok := p.HostRegion(host)
	if accepted && ok {
		return region, nil
	}
	where := ""
	if serverRegion != "" {
		where = " running in " + serverRegion
	}
	return "", fmt.Errorf("%q is not in the STS host table of %s%s for partition %s (the server answers \"unexpected hostname\")", host, s.Name, where, partition)
}

// acceptsFIPS tells whether the server has ep's FIPS host in its table
// (GovCloud's regular hosts are its FIPS hosts).
func (s *Server) acceptsFIPS(ep Endpoint) bool {
	hosts, _ := s.hosts(ep.Partition)
	return slices.Contains(hosts, ep.Host)
}

// fipsRegions lists the regions of partition with an sts-fips host, for
// messages.
func (s *Server) fipsRegions(partition string) string {
	var regions []string
	hosts, _ := s.hosts(partition)
	for _, h := range hosts {
		if r, ok := strings.CutPrefix(h, "sts-fips."); ok {
			regions = append(regions, strings.SplitN(r, ".", 2)[0])
		}
	}
	if len(regions) == 0 {
		return "no region of partition " + partition
	}
	return strings.Join(regions, ", ")
}
