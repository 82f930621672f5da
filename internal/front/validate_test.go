package front

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubeiam/kubeiam/token/execargs"
)

// The front never answers a request kubeiam-core would refuse: with static
// keys it signs on its own, so an invalid role, a cluster ID with a control
// character or a bad profile must send the call to the core, which reports it.
func TestFrontHandsInvalidRequestsToCore(t *testing.T) {
	env := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_REGION": "us-west-2", "AWS_CONFIG_FILE": "/nonexistent", "KUBEIAM_CACHE": "none",
	}
	getenv := func(k string) string { return env[k] }
	var out, errOut bytes.Buffer
	if ok, _ := serve(context.Background(), "kubeiam", []string{"-i", "c1"}, getenv, &out, &errOut, time.Now()); !ok || !strings.Contains(out.String(), "k8s-aws-v1.") {
		t.Fatalf("a valid static-key request was not answered: %q %q", out.String(), errOut.String())
	}
	for _, args := range [][]string{
		{"-i", "c1\nx"},
		{"-i", "c1", "-r", "admins"},
		{"-i", "c1", "--role", "arn:aws:iam::111122223333:user/u"},
		{"-i", "c1", "--region", "us-west-2\r"},
		{"-i", "c1", "--session-name", "a\u2028b"},
		{"-i", "c1", "--external-id", "x\x00"},
	} {
		out.Reset()
		errOut.Reset()
		if ok, _ := serve(context.Background(), "kubeiam", args, getenv, &out, &errOut, time.Now()); ok || out.Len()+errOut.Len() > 0 {
			t.Errorf("%q: the front answered (%q %q)", args, out.String(), errOut.String())
		}
		var r execargs.Request
		fs := pflag.NewFlagSet("token", pflag.ContinueOnError)
		r.AddFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		err := r.Validate()
		if err == nil {
			t.Errorf("%q: Validate accepted it", args)
		} else if args[len(args)-2] == "--external-id" && strings.Contains(err.Error(), "x\\x00") {
			t.Errorf("the external ID was echoed: %v", err)
		}
	}
}
