package execargs

import (
	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/token"
)

// Validate checks what the request would send to STS or sign into a header
// before any network call: a role that is an IAM role ARN, a cluster ID
// without whitespace, and no control characters anywhere. The front hands an
// invalid request to kubeiam-core, which reports it (one place for the
// message); the core refuses it as a usage error.
func (r *Request) Validate() error {
	if err := input.ClusterID("--cluster-id", r.ClusterID); err != nil {
		return err
	}
	if r.RoleARN != "" {
		if _, err := token.ParseRoleARN(r.RoleARN); err != nil {
			return input.Invalid("--role-arn", r.RoleARN, err)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"--session-name", r.SessionName}, {"--region", r.Region}, {"--profile", r.Profile},
	} {
		if err := input.Text(f.name, f.v); err != nil {
			return err
		}
	}
	if err := input.Text("--external-id", r.ExternalID); err != nil {
		err.(*input.Error).Secret = true
		return err
	}
	return nil
}
