package kubeconfig

import (
	"testing"

	"github.com/kubeiam/kubeiam/internal/execplugin"
)

// TestFrontEnvAgrees: kubeconfig names the front's variable itself (a
// domain package does not import the front); the front sets
// execplugin.FrontEnv. A test may import both.
func TestFrontEnvAgrees(t *testing.T) {
	if frontEnv != execplugin.FrontEnv {
		t.Errorf("kubeconfig reads %s, the front sets %s", frontEnv, execplugin.FrontEnv)
	}
}
