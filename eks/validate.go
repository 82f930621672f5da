package eks

import (
	"context"
	"fmt"
	"strings"

	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/token"
)

// ReservedPrefixes are what EKS refuses at the start of an access entry's
// username (and group names): they belong to Kubernetes, EKS and AWS.
var ReservedPrefixes = []string{"system:", "eks:", "aws:", "amazon:", "iam:"}

// ReservedPrefix returns the reserved prefix s starts with, or "".
func ReservedPrefix(s string) string {
	for _, p := range ReservedPrefixes {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	return ""
}

// ValidateUsername applies EKS's rules for a STANDARD entry's username
// before any call: no reserved prefix, and {{SessionName}} only after a
// colon (EKS refuses a username that could collide with another
// principal's).
func ValidateUsername(flag, u string) error {
	if err := input.Text(flag, u); err != nil {
		return err
	}
	if p := ReservedPrefix(u); p != "" {
		return &input.Error{Name: flag, Value: u, Reason: fmt.Sprintf("EKS refuses usernames starting with %s (system:, eks:, aws:, amazon:, iam: are reserved)", p)}
	}
	for _, t := range []string{"{{SessionName}}", "{{SessionNameRaw}}"} {
		if i := strings.Index(u, t); i >= 0 && !strings.Contains(u[:i], ":") {
			return &input.Error{Name: flag, Value: u, Reason: fmt.Sprintf("EKS needs a colon before %s, like sso:%s", t, t)}
		}
	}
	return nil
}

// ValidateGroup refuses a Kubernetes group EKS refuses in an access entry.
func ValidateGroup(flag, g string) error {
	if err := input.Text(flag, g); err != nil {
		return err
	}
	if g == "" {
		return &input.Error{Name: flag, Value: g, Reason: "a group name is not empty"}
	}
	if p := ReservedPrefix(g); p != "" {
		why := fmt.Sprintf("EKS refuses groups starting with %s", p)
		if g == "system:masters" {
			why += "; give cluster admin with --policy AmazonEKSClusterAdminPolicy"
		}
		return &input.Error{Name: flag, Value: g, Reason: why}
	}
	return nil
}

// Principal is an IAM principal ARN read for an access entry.
type Principal struct {
	ARN, Partition, Account string
	// Kind is "user" or "role".
	Kind string
	// Name is the user or role name without its path.
	Name string
	// HasPath: the ARN carries a path (role/PATH/NAME).
	HasPath bool
}

// ParsePrincipal checks an access entry's principal ARN before any call:
// an IAM user or role ARN, never an STS session ARN or a service-linked
// role, which EKS refuses.
func ParsePrincipal(flag, arn string) (Principal, error) {
	if err := input.Text(flag, arn); err != nil {
		return Principal{}, err
	}
	bad := func(why string) error { return &input.Error{Name: flag, Value: arn, Reason: why} }
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" {
		return Principal{}, bad("not an ARN; access entries take arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME")
	}
	if !token.IsAccountID(parts[4]) {
		return Principal{}, bad("the account is not 12 digits")
	}
	if parts[2] == "sts" {
		if role, ok := strings.CutPrefix(parts[5], "assumed-role/"); ok {
			name, _, _ := strings.Cut(role, "/")
			return Principal{}, hint.With(bad("an STS session ARN; EKS takes the IAM role of the session, with its path"),
				"give arn:%s:iam::%s:role/%s (kubeiam looks up the path), or use --arn with explain, which takes sessions", parts[1], parts[4], name)
		}
		return Principal{}, bad("an STS ARN; EKS takes IAM users and roles only")
	}
	res := parts[5]
	p := Principal{ARN: arn, Partition: parts[1], Account: parts[4]}
	switch {
	case parts[2] != "iam":
		return Principal{}, bad("not an IAM ARN; access entries take IAM users and roles")
	case strings.HasPrefix(res, "role/aws-service-role/"):
		return Principal{}, bad("a service-linked role, which EKS refuses as a principal")
	case strings.HasPrefix(res, "role/"):
		p.Kind = "role"
	case strings.HasPrefix(res, "user/"):
		p.Kind = "user"
	default:
		return Principal{}, bad("neither an IAM user nor an IAM role")
	}
	rest := res[len(p.Kind)+1:]
	p.Name = rest[strings.LastIndex(rest, "/")+1:]
	p.HasPath = strings.Contains(rest, "/")
	if p.Name == "" {
		return Principal{}, bad("the name is empty")
	}
	return p, nil
}

// Resolve returns the principal ARN EKS stores for a role: with its real
// path, asked of IAM (GetRole). A role IAM cannot show (another account)
// keeps the ARN as given and says so in note.
func (c *AccessClient) Resolve(ctx context.Context, p Principal) (arn, note string, err error) {
	if p.Kind != "role" {
		return p.ARN, "", nil
	}
	got, ok, err := c.RoleARN(ctx, p.Account, p.Name)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return p.ARN, fmt.Sprintf("IAM GetRole could not show role %s (another account, no such role, or no iam:GetRole): its path is not checked", p.Name), nil
	}
	if got != p.ARN {
		return got, fmt.Sprintf("role %s is %s in IAM (with its path)", p.Name, got), nil
	}
	return got, "", nil
}

// CallerPrincipal turns a caller ARN (IAM user, role, or STS assumed-role
// session such as an IAM Identity Center login) into the IAM principal
// EKS looks its access entry up by, and the session name.
func CallerPrincipal(arn string) (Principal, string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && parts[2] == "sts" {
		role, ok := strings.CutPrefix(parts[5], "assumed-role/")
		name, session, ok2 := strings.Cut(role, "/")
		if !ok || !ok2 || name == "" {
			return Principal{}, "", &input.Error{Name: "--arn", Value: arn, Reason: "an STS ARN that is not an assumed-role session"}
		}
		if !token.IsAccountID(parts[4]) {
			return Principal{}, "", &input.Error{Name: "--arn", Value: arn, Reason: "the account is not 12 digits"}
		}
		return Principal{ARN: fmt.Sprintf("arn:%s:iam::%s:role/%s", parts[1], parts[4], name), Partition: parts[1], Account: parts[4], Kind: "role", Name: name}, session, nil
	}
	p, err := ParsePrincipal("--arn", arn)
	return p, "", err
}
