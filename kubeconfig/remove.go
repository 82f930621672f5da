package kubeconfig

import (
	"fmt"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Removal says what Remove took out and what it kept because another context
// still uses it.
type Removal struct {
	Removed []string
	Kept    []string
}

// Remove takes out the cluster NAME, the user NAME-aws and the context
// NAME-aws (the names write uses). A cluster or user that another context
// still refers to is kept, so removing IAM access never breaks the admin
// context of the same cluster. current-context is cleared if it pointed at
// the removed context.
func Remove(cfg *clientcmdapi.Config, cluster string) (*Removal, error) {
	if err := ValidateClusterName(cluster); err != nil {
		return nil, err
	}
	ctxName, userName := cluster+"-aws", cluster+"-aws"
	_, hasCtx := cfg.Contexts[ctxName]
	_, hasUser := cfg.AuthInfos[userName]
	_, hasCluster := cfg.Clusters[cluster]
	if !hasCtx && !hasUser && !hasCluster {
		return nil, fmt.Errorf("could not remove cluster %q: no cluster %q, user %q or context %q", cluster, cluster, userName, ctxName)
	}
	r := &Removal{}
	if hasCtx {
		delete(cfg.Contexts, ctxName)
		r.Removed = append(r.Removed, "context "+ctxName)
		if cfg.CurrentContext == ctxName {
			cfg.CurrentContext = ""
		}
	}
	usedUser, usedCluster := false, false
	for _, c := range cfg.Contexts {
		usedUser = usedUser || c.AuthInfo == userName
		usedCluster = usedCluster || c.Cluster == cluster
	}
	if hasUser {
		if usedUser {
			r.Kept = append(r.Kept, "user "+userName)
		} else {
			delete(cfg.AuthInfos, userName)
			r.Removed = append(r.Removed, "user "+userName)
		}
	}
	if hasCluster {
		if usedCluster {
			r.Kept = append(r.Kept, "cluster "+cluster)
		} else {
			delete(cfg.Clusters, cluster)
			r.Removed = append(r.Removed, "cluster "+cluster)
		}
	}
	return r, nil
}
