package chain

import "github.com/aws/aws-sdk-go-v2/aws"

// RegionSource names where cfg's region came from, as the session's own
// messages name it: "AWS_REGION", "AWS_DEFAULT_REGION", `profile "dev"`,
// or "" when nothing set it (flagRegion, the --region value, wins when
// set). kubeiam doctor reports it; one function so the two never differ.
func RegionSource(cfg aws.Config, flagRegion string) string {
	return regionSource(Options{Region: flagRegion}, cfg)
}

// SourceName turns an SDK credentials source (aws.Credentials.Source) into
// the name messages use ("credential_process", "SSO", "the container
// credentials endpoint", …).
func SourceName(source string) string { return sourceName(source) }
