package eks

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/mappings"
)

// State is who EKS lets in: the mode, the access entries and, unless the
// mode is API, aws-auth.
type State struct {
	Mode    string
	Entries []Entry
	AWSAuth []mappings.Mapping
}

// Admins lists the principals with cluster-admin power EKS grants: an
// access entry with AmazonEKSClusterAdminPolicy at cluster scope, or an
// aws-auth entry in system:masters while EKS still reads aws-auth.
func (s State) Admins() []string {
	var out []string
	if s.Mode != ModeConfigMap {
		for _, e := range s.Entries {
			if e.ClusterAdmin() {
				out = append(out, "access entry "+e.PrincipalARN+" (AmazonEKSClusterAdminPolicy, cluster scope)")
			}
		}
	}
	if s.Mode != ModeAPI {
		subjects := mappings.DefaultAdminSubjects()
		for _, m := range s.AWSAuth {
			if subjects.IsAdmin(m) {
				out = append(out, m.Source+" "+m.ARN+" (system:masters)")
			}
		}
	}
	return out
}

// Admits says whether EKS maps the principal (an IAM user, or a role with
// or without its path) in this state, and by what.
func (s State) Admits(p Principal) (bool, string) {
	c, err := mappings.CallerOfARN(p.ARN)
	if err != nil {
		return false, ""
	}
	ch := Chain(s.Mode, s.Entries, func() ([]mappings.Mapping, error) { return s.AWSAuth, nil })
	if m, ok := ch.Match(c); ok {
		return true, m.Source + " " + m.ARN
	}
	return false, ""
}

// samePrincipal compares an entry's ARN with p: roles by account and name
// (unique in an account whatever the path), users by ARN.
func samePrincipal(entryARN string, p Principal) bool {
	q, err := ParsePrincipal("", entryARN)
	if err != nil {
		return false
	}
	if q.Kind == "role" && p.Kind == "role" {
		return q.Account == p.Account && strings.EqualFold(q.Name, p.Name)
	}
	return strings.EqualFold(q.ARN, p.ARN)
}

// LockoutError refuses a change that would leave the cluster without an
// admin, or the caller without access.
type LockoutError struct {
	Reason string
}

func (e *LockoutError) Error() string {
	return "could not make the change: " + e.Reason + "; nothing was changed (--allow-lockout makes it anyway)"
}

// CheckLockout compares the state before and after a change. caller is the
// principal running kubeiam (nil when unknown). It returns the admins
// after the change, and a *LockoutError unless allow.
func CheckLockout(before, after State, caller *Principal, allow bool) ([]string, error) {
	admins := after.Admins()
	var reason string
	switch {
	case len(admins) == 0 && len(before.Admins()) > 0:
		reason = "no principal would keep AmazonEKSClusterAdminPolicy at cluster scope (or system:masters through aws-auth, which EKS " + readsAWSAuth(after.Mode) + ")"
	case caller != nil:
		if ok, _ := before.Admits(*caller); ok {
			if ok, _ := after.Admits(*caller); !ok {
				reason = "it removes your own access (" + caller.ARN + ")"
			}
		}
	}
	if reason != "" && !allow {
		return admins, &LockoutError{Reason: reason}
	}
	return admins, nil
}

func readsAWSAuth(mode string) string {
	if mode == ModeAPI {
		return "no longer reads in mode API"
	}
	return "still reads"
}

// Caller returns the principal the client's credentials are (STS
// GetCallerIdentity), as EKS looks it up.
func (c *AccessClient) Caller(ctx context.Context) (Principal, string, error) {
	callCtx, cancel := c.call(ctx)
	defer cancel()
	out, err := sts.NewFromConfig(c.cfg, func(o *sts.Options) {
		if c.opts.HTTPClient != nil {
			o.HTTPClient = c.opts.HTTPClient
		}
		if o.Region == "" {
			o.Region = c.Region
		}
		if c.opts.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(c.opts.STSEndpoint)
		}
	}).GetCallerIdentity(callCtx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Principal{}, "", fmt.Errorf("could not find out who you are (sts GetCallerIdentity): %s", text.OneLine(err.Error()))
	}
	arn := *out.Arn
	p, _, err := CallerPrincipal(arn)
	return p, arn, err
}
