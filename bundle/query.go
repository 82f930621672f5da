package bundle

import (
	"fmt"
	"log/slog"

	"github.com/mikefarah/yq/v4/pkg/yqlib"
)

// Query evaluates a yq expression over a manifest the way `yq e EXPR -`
// does, so the expression from the EKS Anywhere documentation works as
// written. Scalars come out bare, one a line; anything else as YAML.
func Query(expr string, manifest []byte) (string, error) {
	// yqlib logs parse details at info level to stderr; the CLI keeps stderr
	// for kubeiam's own messages.
	yqlib.GetLogger().SetLevel(slog.LevelError)
	prefs := yqlib.NewDefaultYamlPreferences()
	out, err := yqlib.NewStringEvaluator().Evaluate(expr, string(manifest), yqlib.NewYamlEncoder(prefs), yqlib.NewYamlDecoder(prefs))
	if err != nil {
		return "", fmt.Errorf("could not evaluate query: %w", err)
	}
	return out, nil
}
