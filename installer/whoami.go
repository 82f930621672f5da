package installer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeiam/kubeiam/mappings"
)

// SpecEntries are a spec's mapRoles, mapUsers and mapAccounts as entries
// located in file ("" for a spec not read from a file).
func SpecEntries(c IAMConfig, file string) []mappings.Mapping {
	var out []mappings.Mapping
	src := func(list string, line int) string {
		switch {
		case file != "" && line > 0:
			return fmt.Sprintf("%s:%d", file, line)
		case file != "":
			return file + " " + list
		}
		return "spec " + list
	}
	for _, x := range []struct {
		kind, list string
		ms         []Mapping
	}{{mappings.KindRole, "mapRoles", c.MapRoles}, {mappings.KindUser, "mapUsers", c.MapUsers}} {
		for _, m := range x.ms {
			out = append(out, mappings.Mapping{Kind: x.kind, ARN: m.ARN, Username: m.Username, Groups: m.Groups,
				Source: src(x.list, m.Line), Key: strings.ToLower(m.ARN), Managed: true})
		}
	}
	for _, a := range c.MapAccounts {
		out = append(out, mappings.Mapping{Kind: mappings.KindAccount, ARN: a, Source: src("mapAccounts", 0), Managed: true})
	}
	return out
}

// SpecChain is what a server set up from the spec reads once the spec is
// synced: the spec's entries in aws-auth for EKSConfigMap, and as
// IAMIdentityMapping objects for CRD (which has no accounts). foreignCRD
// are live objects kubeiam did not write, which a sync leaves alone.
func SpecChain(c IAMConfig, file string, foreignCRD []mappings.Mapping) mappings.Chain {
	entries := SpecEntries(c, file)
	src := mappings.Sources{ConfigMap: entries}
	for _, e := range entries {
		if e.Kind != mappings.KindAccount {
			src.CRD = append(src.CRD, mappings.FromSpecEntry(e))
		}
	}
	src.CRD = append(src.CRD, foreignCRD...)
	return mappings.ChainOf(c.BackendMode, src)
}

// Installed is what a cluster says about identity mapping: the cluster ID
// its server checks tokens against and the mappings of every backend it
// reads.
type Installed struct {
	// ClusterID is empty when ConfigMap kube-system/aws-iam-authenticator
	// is missing.
	ClusterID string
	// HasAWSAuth is false when ConfigMap kube-system/aws-auth is missing.
	HasAWSAuth bool
	// Modes are the DaemonSet's --backend-mode list; nil without one.
	Modes []string
	// AWSAuth and Objects are the entries of aws-auth and of the
	// IAMIdentityMapping objects (nil when the CRD is not installed).
	AWSAuth, Objects []mappings.Mapping
	// CRDNote says why the objects could not be read, when they could not.
	CRDNote string
	Chain   mappings.Chain
}

// ReadInstalled reads the cluster ID, the server's backend modes and the
// mappings of each backend it reads, the way install does.
func ReadInstalled(ctx context.Context, c Client) (*Installed, error) {
	st, err := readState(ctx, c, nil, false)
	if err != nil {
		return nil, err
	}
	inst := &Installed{ClusterID: st.clusterID, HasAWSAuth: st.awsAuth != nil}
	// Who wrote which entry (a corrupt OwnedARNsAnnotation) does not change
	// what the entries map.
	if inst.AWSAuth, err = mappings.ParseAWSAuth(st.awsAuth); err != nil && !errors.As(err, new(*mappings.OwnedARNsError)) {
		return nil, err
	}
	if st.daemonSet != nil {
		inst.Modes = installedConfig(st.daemonSet).BackendMode
	}
	if mappings.Reads(inst.Modes, mappings.ModeCRD) {
		objs, err := ListIdentityMappings(ctx, c)
		var nf *NoCRDError
		switch {
		case errors.As(err, &nf):
			inst.CRDNote = err.Error()
		case err != nil:
			return nil, err
		}
		for _, o := range objs {
			inst.Objects = append(inst.Objects, mappings.FromObject(o))
		}
	}
	inst.Chain = mappings.ChainOf(inst.Modes, mappings.Sources{ConfigMap: inst.AWSAuth, CRD: inst.Objects})
	if inst.CRDNote != "" {
		inst.Chain.Assumed = inst.CRDNote
	}
	return inst, nil
}

// NoCRDError: the cluster has no IAMIdentityMapping CRD, so a CRD-mode
// server finds no mappings there (it keeps serving and retries).
type NoCRDError struct{}

func (*NoCRDError) Error() string {
	return "CRD " + mappings.CRDName + " is not installed: the server's CRD backend maps nobody"
}

// ListIdentityMappings lists the cluster's IAMIdentityMapping objects.
func ListIdentityMappings(ctx context.Context, c Client) ([]*unstructured.Unstructured, error) {
	l, ok := c.(lister)
	if !ok {
		return nil, nil
	}
	objs, err := l.List(ctx, mappings.CRDKind, "")
	if apierrors.IsNotFound(err) {
		return nil, &NoCRDError{}
	}
	return objs, err
}
