package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The library packages (token, cache, kubeconfig, bundle, installer, …) are
// usable from other modules, which cannot name internal packages: an
// exported function, type, field, variable or constant whose declaration
// names an internal type can be called but not spelled. go doc prints the
// declarations unindented or tab-indented and the doc text indented by four
// spaces, so only declaration lines are checked.
func TestPublicAPIHasNoInternalTypes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list and go doc")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/kubeiam/kubeiam/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		if strings.Contains(pkg, "/internal") || strings.Contains(pkg, "/cmd/") || strings.HasSuffix(pkg, "/bench") || strings.Contains(pkg, "/e2e") {
			continue
		}
		var names []string
		for _, imp := range imports {
			if strings.HasPrefix(imp, "github.com/kubeiam/kubeiam/internal/") {
				names = append(names, regexp.QuoteMeta(imp[strings.LastIndex(imp, "/")+1:]))
			}
		}
		if len(names) == 0 {
			continue
		}
		doc, err := exec.Command("go", "doc", "-all", pkg).Output()
		if err != nil {
			t.Fatalf("go doc %s: %v", pkg, err)
		}
		checked++
		re := regexp.MustCompile(`\b(` + strings.Join(names, "|") + `)\.[A-Z]`)
		for _, l := range strings.Split(string(doc), "\n") {
			if !strings.HasPrefix(l, "    ") && re.MatchString(l) {
				t.Errorf("%s exposes an internal type: %s", pkg, strings.TrimSpace(l))
			}
		}
	}
	if checked == 0 {
		t.Fatal("no public package imports an internal one: the check checked nothing")
	}
}
