package token

import (
	"errors"
	"testing"
)

// TestCheckRegionSuggests: a region that is not well-formed is refused with
// the closest known region.
func TestCheckRegionSuggests(t *testing.T) {
	for region, want := range map[string]string{
		"us-east1":        "us-east-1",
		"US-EAST-1":       "us-east-1",
		" us-west-2 ":     "us-west-2",
		"eu-west_1":       "eu-west-1",
		"euwest1":         "eu-west-1",
		"ap-southeast-1a": "ap-southeast-1",
		"cn-north1":       "cn-north-1",
		"us-gov-west1":    "us-gov-west-1",
		"":                "us-east-1",
		"   ":             "us-east-1",
	} {
		_, err := CheckRegion(region)
		var re *RegionError
		if !errors.As(err, &re) || re.Suggestion != want {
			t.Errorf("%q: %v, want a suggestion of %s", region, err, want)
		}
	}
	// Something far from every region still gets a real one.
	_, err := CheckRegion("mars-1")
	var re *RegionError
	if !errors.As(err, &re) {
		t.Fatalf("mars-1: %v", err)
	}
	if _, err := CheckRegion(re.Suggestion); err != nil {
		t.Errorf("mars-1: suggested %q, which is not a region", re.Suggestion)
	}
	re.Source = "AWS_REGION"
	if got, want := re.Error(), `AWS_REGION "mars-1" is not an AWS region; did you mean `+re.Suggestion+`?`; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	for _, ok := range []string{"us-east-1", "eu-isoe-west-1", "eusc-de-east-1", "us-isof-south-1"} {
		if known, err := CheckRegion(ok); err != nil || !known {
			t.Errorf("%s: known=%t err=%v", ok, known, err)
		}
	}
}
