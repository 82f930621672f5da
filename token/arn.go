package token

import (
	"fmt"
	"slices"
	"strings"
)

// CanonicalARN maps an STS caller ARN to the form aws-iam-authenticator
// matches mappings against: an assumed-role session becomes its role
// (arn:aws:sts::ACCT:assumed-role/NAME/SESSION → arn:aws:iam::ACCT:role/NAME),
// IAM users and roles stay as they are. As aws-iam-authenticator v0.7.2's
// pkg/arn does, the role is everything between "assumed-role/" and the last
// "/" (STS never puts a role path there). Role paths are not part of a
// session's canonical form, which is why mappings with a path never match.
func CanonicalARN(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" {
		return "", fmt.Errorf("could not parse ARN %q", arn)
	}
	partition, service, account, resource := parts[1], parts[2], parts[4], parts[5]
	switch {
	case account == "":
		// No IAM identity lacks an account; fall through to the error.
	case service == "sts" && strings.HasPrefix(resource, "assumed-role/"):
		seg := strings.Split(resource, "/")
		if len(seg) < 3 {
			return "", fmt.Errorf("%s: an assumed-role ARN needs a role and a session name", arn)
		}
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, strings.Join(seg[1:len(seg)-1], "/")), nil
	case service == "iam" && (strings.HasPrefix(resource, "user/") || strings.HasPrefix(resource, "role/") || resource == "root"):
		return arn, nil
	case service == "sts" && strings.HasPrefix(resource, "federated-user/"):
		return arn, nil
	}
	return "", fmt.Errorf("%s is not an identity the server maps (an IAM user or role, root, or an STS assumed-role or federated-user session)", arn)
}

// PartitionIDs are the IDs of the partition table (Partitions), aws first:
// the partitions an IAM role ARN may name, and the one list every other
// partition list derives from.
func PartitionIDs() []string {
	ps := partitions()
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

// RoleARN is an IAM role ARN taken apart.
type RoleARN struct {
	Partition string
	Account   string
	// Path is "/" or "/a/b/", as IAM writes it.
	Path string
	Name string
}

// String is the ARN as IAM writes it.
func (r RoleARN) String() string {
	return "arn:" + r.Partition + ":iam::" + r.Account + ":role" + r.Path + r.Name
}

// ParseRoleARN accepts arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME with
// IAM's own rules: a known partition, no region, a 12-digit account, a path
// of printable ASCII up to 512 characters and a name of 1–64 characters
// from [A-Za-z0-9+=,.@_-]. Anything else would only fail later, at STS,
// after a network call — or worse, be written into a kubeconfig. The error
// says what is wrong; callers add the flag.
func ParseRoleARN(s string) (RoleARN, error) {
	const want = "want arn:aws:iam::123456789012:role/NAME"
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return RoleARN{}, fmt.Errorf("not an ARN (%s)", want)
	}
	var r RoleARN
	partition, service, region, account, resource := parts[1], parts[2], parts[3], parts[4], parts[5]
	switch {
	case !slices.Contains(PartitionIDs(), partition):
		return r, fmt.Errorf("unknown partition %q (known: %s)", partition, strings.Join(PartitionIDs(), ", "))
		// No IAM identity lacks an account; fall through to the error.
	case service == "sts" && strings.HasPrefix(resource, "assumed-role/"):
		hint := ""
		if c, err := CanonicalARN(s); err == nil {
			hint = "; the role is " + c
		}
		return r, fmt.Errorf("an STS session, not a role%s", hint)
	case service != "iam":
		return r, fmt.Errorf("service %q is not iam (%s)", service, want)
	case region != "":
		return r, fmt.Errorf("IAM ARNs have no region (got %q)", region)
	case !IsAccountID(account):
		return r, fmt.Errorf("account %q is not 12 digits", account)
	case !strings.HasPrefix(resource, "role/"):
		typ, _, _ := strings.Cut(resource, "/")
		return r, fmt.Errorf("a %s, not a role (%s)", typ, want)
	}
	rest := strings.TrimPrefix(resource, "role")
	i := strings.LastIndex(rest, "/")
	r.Partition, r.Account, r.Path, r.Name = partition, account, rest[:i+1], rest[i+1:]
	if len(r.Path) > 512 {
		return r, fmt.Errorf("role path is longer than 512 characters")
	}
	for _, c := range r.Path {
		if c < 0x21 || c > 0x7e {
			return r, fmt.Errorf("role path %+q has a character IAM does not allow (%+q)", r.Path, c)
		}
	}
	if strings.Contains(r.Path, "//") {
		return r, fmt.Errorf("role path %q has an empty segment", r.Path)
	}
	if r.Name == "" || len(r.Name) > 64 {
		return r, fmt.Errorf("role name must be 1 to 64 characters (%s)", want)
	}
	for _, c := range r.Name {
		if !isRoleNameChar(c) {
			return r, fmt.Errorf("role name %+q has a character IAM does not allow (%+q; allowed: letters, digits and +=,.@_-)", r.Name, c)
		}
	}
	return r, nil
}

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isRoleNameChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("+=,.@_-", c)
}
