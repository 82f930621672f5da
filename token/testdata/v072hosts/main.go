// Command v072hosts asks aws-iam-authenticator v0.7.2's own verifier which
// STS hosts it accepts: v072hosts PARTITION SERVER_REGION HOST... prints
// "HOST true|false" per host. TestServerV072MatchesItsVerifier builds it in
// a module made from v0.7.2's go.mod, so the verifier and its endpoint data
// are exactly those of the release.
package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/aws-iam-authenticator/pkg/token"
)

func main() {
	partition, region := os.Args[1], os.Args[2]
	v := token.NewVerifier("c", partition, region)
	for _, host := range os.Args[3:] {
		u := "https://" + host + "/?Action=GetCallerIdentity"
		_, err := v.Verify("k8s-aws-v1." + base64.RawURLEncoding.EncodeToString([]byte(u)))
		ok := err == nil || !strings.Contains(err.Error(), "unexpected hostname")
		fmt.Printf("%s %t\n", host, ok)
	}
}
