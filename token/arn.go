package token

import (
	"fmt"
	"strings"
)

// CanonicalARN maps an STS caller ARN to the form aws-iam-authenticator
// matches mappings against: an assumed-role session becomes its role
// (arn:aws:sts::ACCT:assumed-role/NAME/SESSION → arn:aws:iam::ACCT:role/NAME),
// IAM users and roles stay as they are. Role paths are not part of the
// canonical form, which is why mappings with a path never match.
func CanonicalARN(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[4] == "" {
		return "", fmt.Errorf("could not parse ARN %q", arn)
	}
	partition, service, account, resource := parts[1], parts[2], parts[4], parts[5]
	switch {
	case service == "sts" && strings.HasPrefix(resource, "assumed-role/"):
		seg := strings.Split(resource, "/")
		if len(seg) < 3 {
			return "", fmt.Errorf("could not parse assumed-role ARN %q", arn)
		}
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, seg[1]), nil
	case service == "iam" && (strings.HasPrefix(resource, "user/") || strings.HasPrefix(resource, "role/") || resource == "root"):
		return arn, nil
	case service == "sts" && strings.HasPrefix(resource, "federated-user/"):
		return arn, nil
	}
	return "", fmt.Errorf("unsupported ARN %q: want an IAM user or role, or an STS assumed-role session", arn)
}
