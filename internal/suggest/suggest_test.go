package suggest

import (
	"slices"
	"testing"
)

func TestClose(t *testing.T) {
	names := []string{"prod-aws", "dev-aws", "staging-aws", "prod-eu-aws", "kind-local"}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"prod", []string{"prod-aws", "prod-eu-aws"}}, // prefix
		{"prdo-aws", []string{"prod-aws"}},            // transposition
		{"DEV-AWS", []string{"dev-aws"}},              // case
		{"zzz", []string{}},                           // nothing close
		{"staging-aws-x", []string{"staging-aws"}},    // extra suffix
	} {
		if got := Close(tc.in, names, 5); !slices.Equal(got, tc.want) {
			t.Errorf("Close(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := Close("prod", names, 1); len(got) != 1 {
		t.Errorf("max 1: got %q", got)
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"us-east1", "us-east-1", 1}} {
		if got := Distance(tc.a, tc.b); got != tc.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
