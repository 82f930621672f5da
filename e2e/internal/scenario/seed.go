package scenario

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

// SeedMappings are the seed's AWSIamConfig mappings.
func SeedMappings() (users, roles []Mapping) {
	users = []Mapping{{ARN: "arn:aws:iam::" + ststest.AccountA + ":user/" + SeedUser, Username: SeedUser, Groups: []string{ViewGroup}}}
	roles = []Mapping{{ARN: AdminRoleARN, Username: "admin:{{SessionName}}", Groups: []string{"system:masters"}}}
	return users, roles
}

// Seed is scenario (a) — and (d) with the authenticator's own client: the
// seed's workflow. `kubeiam server install` applies the authenticator's
// objects for a cluster spec whose AWSIamConfig maps a user and a role; a
// kubeconfig whose exec makes tokens for the cluster ID logs in as the
// mapped user and as the mapped role.
func (e *Env) Seed(ctx context.Context) error {
	users, roles := SeedMappings()
	if err := e.Install(ctx, users, roles); err != nil {
		return err
	}

	e.step("log in as IAM user %s with a kubeconfig that runs %s", SeedUser, e.Token.Name)
	alice, err := e.user(e.Token.Name+"-"+SeedUser, e.Rig.STS.Identity(SeedUser), e.Rig.ClusterID, "")
	if err != nil {
		return err
	}
	e.say("exec: %s %s", e.Token.Name, strings.Join(e.Token.Exec(e.Rig.ClusterID, "").Args, " "))
	// The mapping was just applied; the authenticator's informer may need
	// a moment to see it.
	if err := e.eventually(ctx, 30*time.Second, func() error { return e.expectUser(ctx, alice, SeedUser, ViewGroup) }); err != nil {
		return err
	}
	if res := e.kubectl(ctx, alice.label, alice.kubeconfig, alice.env, "", "get", "pods", "-A"); res.Err != nil {
		return fmt.Errorf("%s: get pods -A: %w\n%s", alice.label, res.Err, res.Stderr)
	}
	// view may read but not write: the mapped groups are what RBAC sees.
	if res := e.kubectl(ctx, alice.label, alice.kubeconfig, alice.env, "", "auth", "can-i", "create", "configmaps", "-n", "default"); res.Err == nil || !strings.Contains(res.Stdout, "no") {
		return fmt.Errorf("%s: can-i create configmaps = %q, want no", alice.label, strings.TrimSpace(res.Stdout))
	}

	e.step("log in through role %s (assumed by IAM user %s)", AdminRoleARN, RoleCaller)
	before := e.Rig.STS.Count("AssumeRole")
	admin, err := e.user(e.Token.Name+"-role", e.Rig.STS.Identity(RoleCaller), e.Rig.ClusterID, AdminRoleARN)
	if err != nil {
		return err
	}
	e.say("exec: %s %s", e.Token.Name, strings.Join(e.Token.Exec(e.Rig.ClusterID, AdminRoleARN).Args, " "))
	if err := e.expectUser(ctx, admin, "admin:", "system:masters"); err != nil {
		return err
	}
	if e.Rig.STS.Count("AssumeRole") == before {
		return fmt.Errorf("%s: no AssumeRole reached the STS stand-in", admin.label)
	}
	if res := e.kubectl(ctx, admin.label, admin.kubeconfig, admin.env, "", "get", "pods", "-A"); res.Err != nil {
		return fmt.Errorf("%s: get pods -A: %w\n%s", admin.label, res.Err, res.Stderr)
	}
	return nil
}

// ChangeMappings is scenario (b), the seed's upgrade step: a user added to
// the mappings gains access, and loses it when removed.
func (e *Env) ChangeMappings(ctx context.Context) error {
	// A user of its own, so no other case's cached answer can help or hurt.
	name := "dave-" + randHex(3)
	id := e.Rig.STS.NewUser(ststest.AccountA, name)
	u, err := e.user(e.Token.Name+"-"+name, id, e.Rig.ClusterID, "")
	if err != nil {
		return err
	}

	e.step("before the change: IAM user %s is not mapped", name)
	if err := e.expectDenied(ctx, u); err != nil {
		return err
	}

	e.step("map IAM user %s (as %q in %s) in the spec with kubeiam mappings add, then kubeiam server sync", id.ARN, name, ViewGroup)
	if err := e.EditAndSync(ctx, "+ user "+id.ARN, "add", "--user-arn", id.ARN, "--username", name, "--group", ViewGroup); err != nil {
		return err
	}
	if err := e.eventually(ctx, 45*time.Second, func() error { return e.expectUser(ctx, u, name, ViewGroup) }); err != nil {
		return err
	}
	if res := e.kubectl(ctx, u.label, u.kubeconfig, u.env, "", "get", "pods", "-A"); res.Err != nil {
		return fmt.Errorf("%s: get pods -A: %w\n%s", u.label, res.Err, res.Stderr)
	}

	e.step("unmap %s again with kubeiam mappings remove, then kubeiam server sync", name)
	if err := e.EditAndSync(ctx, "- user "+id.ARN, "remove", "--user-arn", id.ARN); err != nil {
		return err
	}
	return e.eventually(ctx, 45*time.Second, func() error { return e.expectDenied(ctx, u) })
}

// Denied is scenario (c): valid AWS identities and well-formed tokens that
// must still not get in.
func (e *Env) Denied(ctx context.Context) error {
	e.step("an IAM identity with no mapping")
	mallory := e.Rig.STS.Identity("mallory")
	u, err := e.user(e.Token.Name+"-unmapped", mallory, e.Rig.ClusterID, "")
	if err != nil {
		return err
	}
	before := e.Rig.STS.Count("GetCallerIdentity")
	if err := e.expectDenied(ctx, u); err != nil {
		return err
	}
	// The server did ask STS: the identity is real, only unmapped.
	if e.Rig.STS.Count("GetCallerIdentity") == before {
		return fmt.Errorf("unmapped: the authenticator never asked STS, so the denial proves nothing about mappings")
	}

	e.step("a token signed for another cluster ID")
	other, err := e.user(e.Token.Name+"-othercluster", e.Rig.STS.Identity(SeedUser), "another-cluster-"+randHex(3), "")
	if err != nil {
		return err
	}
	if err := e.expectDenied(ctx, other); err != nil {
		return err
	}

	e.step("a token signed 16 minutes ago (the server accepts 15)")
	tok, err := PresignedToken(e.Rig.STS.Identity(SeedUser), e.Rig.ClusterID, time.Now().Add(-16*time.Minute))
	if err != nil {
		return err
	}
	e.say("token made by the scenario itself with the SDK's v4 signer, X-Amz-Date 16 minutes back")
	env := e.Rig.ClientEnv(e.Rig.STS.Identity(SeedUser))
	// No exec block: --token alone must carry the request.
	kc, err := e.Rig.UserKubeconfig("bare-token", nil)
	if err != nil {
		return err
	}
	res := e.kubectl(ctx, "expired-token", kc, env, "", "--token="+tok, "auth", "whoami")
	if res.Err == nil || !strings.Contains(res.Stderr, "Unauthorized") {
		return fmt.Errorf("expired token: got %v %s, want Unauthorized", res.Err, res.Stderr)
	}
	// The same construction signed now is accepted, so the denial above is
	// down to the age alone.
	fresh, err := PresignedToken(e.Rig.STS.Identity(SeedUser), e.Rig.ClusterID, time.Now())
	if err != nil {
		return err
	}
	if res := e.kubectl(ctx, "fresh-token", kc, env, "", "--token="+fresh, "auth", "whoami"); res.Err != nil {
		return fmt.Errorf("fresh token made the same way was refused: %v\n%s", res.Err, res.Stderr)
	}
	return nil
}

// PresignedToken makes an EKS token for the global endpoint as of at.
func PresignedToken(id ststest.Identity, clusterID string, at time.Time) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60", nil)
	if err != nil {
		return "", fmt.Errorf("could not build request: %w", err)
	}
	req.Header.Set("x-k8s-aws-id", clusterID)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: id.AccessKeyID, SecretAccessKey: id.SecretAccessKey, SessionToken: id.SessionToken},
		req, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sts", "us-east-1", at)
	if err != nil {
		return "", fmt.Errorf("could not presign: %w", err)
	}
	return "k8s-aws-v1." + base64.RawURLEncoding.EncodeToString([]byte(u)), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
