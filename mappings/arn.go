package mappings

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/kubeiam/kubeiam/token"
)

// serverPartitions are the partitions aws-iam-authenticator v0.7.2 accepts
// in a caller ARN (those of the AWS SDK v1 it is built with); a caller ARN
// in any other is refused before mapping. It is kubeiam's partition table
// less the partitions that SDK predates (serverUnknownPartitions).
var serverPartitions = sync.OnceValue(func() []string {
	return slices.DeleteFunc(token.PartitionIDs(), func(id string) bool { return slices.Contains(serverUnknownPartitions, id) })
})

// serverUnknownPartitions are in kubeiam's table but not in the AWS SDK v1
// endpoints of aws-iam-authenticator v0.7.2.
var serverUnknownPartitions = []string{"aws-eusc"}

// Principal kinds, as the server tells them apart.
const (
	PrincipalUser          = "user"
	PrincipalRole          = "role"
	PrincipalRoot          = "root"
	PrincipalAssumedRole   = "assumed-role"
	PrincipalFederatedUser = "federated-user"
)

// Principal is a caller ARN read the server's way.
type Principal struct {
	ARN string
	// Canonical is what the server compares mappings with (after
	// lower-casing both sides).
	Canonical string
	Kind      string
	Partition string
	Account   string
	// Session is the session name of an assumed-role ARN.
	Session string
}

// Canonicalize reads a caller ARN by aws-iam-authenticator v0.7.2's rules
// (pkg/arn): the partition must be one the server knows; an STS
// assumed-role session becomes the IAM role made of everything between
// "assumed-role/" and the last "/" (STS never puts a role path there, so
// that is the role name); IAM users, roles and root and STS federated
// users stay as they are — a role ARN keeps its path, which is why a
// mapping with a path never meets the path-less role of a session.
func Canonicalize(arn string) (Principal, error) {
	p := Principal{ARN: arn}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return p, fmt.Errorf("%q is not an ARN", arn)
	}
	p.Partition, p.Account = parts[1], parts[4]
	if !slices.Contains(serverPartitions(), p.Partition) {
		return p, fmt.Errorf("%s: the server does not know partition %q", arn, p.Partition)
	}
	canon, err := token.CanonicalARN(arn)
	if err != nil {
		return p, err
	}
	p.Canonical = canon
	service, res := parts[2], strings.Split(parts[5], "/")
	switch {
	case service == "sts" && res[0] == "assumed-role":
		p.Kind, p.Session = PrincipalAssumedRole, res[len(res)-1]
	case service == "sts":
		p.Kind = PrincipalFederatedUser
	default:
		p.Kind = res[0]
	}
	return p, nil
}

// SSORole describes an IAM Identity Center role: its permission set and
// whether the ARN is written with the aws-reserved/sso.amazonaws.com path.
// ok is false for any other role.
func SSORole(roleARN string) (permissionSet string, ok bool) {
	i := strings.LastIndex(roleARN, "/")
	name, found := strings.CutPrefix(roleARN[i+1:], "AWSReservedSSO_")
	if !found {
		return "", false
	}
	// AWSReservedSSO_<permission set>_<16 hex digits>; the set's name may
	// itself contain "_".
	j := strings.LastIndex(name, "_")
	if j <= 0 {
		return "", false
	}
	return name[:j], true
}

// Caller is an AWS identity in the terms the server maps it by: what STS
// answered for a token, plus the access key the token was signed with.
type Caller struct {
	ARN          string
	CanonicalARN string
	AccountID    string
	// SessionName is the part of an assumed-role session after the role
	// name (the server takes it from UserId "AROA…:SESSION"); empty for
	// IAM users.
	SessionName string
	// AccessKeyID is the token's signing key; empty when no token was made
	// (the identity was given as an ARN).
	AccessKeyID string
	// SessionUnknown: the identity was given as a role ARN, so the session
	// name its callers will have is not known here.
	SessionUnknown bool
}

// CallerOfARN is the caller an ARN stands for, read by the server's rules.
// A role ARN stands for any session of the role: its canonical form has
// no path (STS session ARNs carry none), and its session name is unknown.
func CallerOfARN(arn string) (Caller, error) {
	if strings.IndexFunc(arn, unicode.IsSpace) >= 0 {
		return Caller{}, fmt.Errorf("%q contains whitespace, which no caller ARN has", arn)
	}
	p, err := Canonicalize(arn)
	if err != nil {
		return Caller{}, err
	}
	c := Caller{ARN: arn, CanonicalARN: p.Canonical, AccountID: p.Account, SessionName: p.Session}
	if p.Kind == PrincipalRole {
		name := p.Canonical[strings.LastIndex(p.Canonical, "/")+1:]
		c.CanonicalARN = fmt.Sprintf("arn:%s:iam::%s:role/%s", p.Partition, p.Account, name)
		c.SessionUnknown = true
	}
	return c, nil
}

// Describe names the kind of caller, IAM Identity Center roles as such.
func (c Caller) Describe() string {
	p, err := Canonicalize(c.ARN)
	if err != nil {
		return ""
	}
	what := map[string]string{PrincipalUser: "IAM user", PrincipalRoot: "account root user", PrincipalFederatedUser: "federated user",
		PrincipalAssumedRole: "role session", PrincipalRole: "any session of the role"}[p.Kind]
	if set, ok := SSORole(c.CanonicalARN); ok && (p.Kind == PrincipalAssumedRole || p.Kind == PrincipalRole) {
		what += ", IAM Identity Center permission set " + set
	}
	return what
}
