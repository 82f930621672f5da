package execargs_test

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/kubeiam/kubeiam/token/execargs"
)

// Parse the arguments of a kubeconfig exec block as `kubeiam token` does,
// then ask what the call would use: its cache backend and its cache key.
func ExampleRequest() {
	env := map[string]string{
		"AWS_PROFILE":                 "prod-admins",
		"AWS_REGION":                  "eu-west-1",
		"AWS_CONFIG_FILE":             "/nonexistent/config",
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
		execargs.CacheEnv:             "file",
	}
	getenv := func(k string) string { return env[k] }

	var req execargs.Request
	fs := pflag.NewFlagSet("token", pflag.ContinueOnError)
	req.AddFlags(fs)
	if err := fs.Parse([]string{"-i", "prod", "-r", "arn:aws:iam::111122223333:role/Admin"}); err != nil {
		panic(err)
	}
	req.ClusterIDFrom(getenv)
	if err := req.Validate(); err != nil {
		panic(err)
	}
	backend, _ := req.Backend(getenv)
	key := req.Key(getenv)
	fmt.Println("backend:", backend)
	fmt.Println("cluster:", key.ClusterID, "region:", key.Region, "profile:", key.Profile, "endpoint:", key.Endpoint)
	fmt.Println("role:", key.RoleARN)

	// A role that is not an IAM role ARN is refused before any STS call.
	req.RoleARN = "arn:aws:iam::1111:role/Admin"
	fmt.Println(req.Validate() != nil)
	// Output:
	// backend: file
	// cluster: prod region: eu-west-1 profile: prod-admins endpoint: regional
	// role: arn:aws:iam::111122223333:role/Admin
	// true
}
