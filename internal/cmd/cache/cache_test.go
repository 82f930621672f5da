package cache

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    Options
		wantErr string
	}{
		{args: []string{"list"}, want: Options{Verb: "list"}},
		{args: []string{"list", "-o", "json"}, want: Options{Verb: "list", Output: "json"}},
		{args: []string{"list", "-o", "yaml"}, wantErr: `unknown output format "yaml"`},
		{args: []string{"clear", "-i", "c1"}, want: Options{Verb: "clear", ClusterID: "c1"}},
		{args: []string{"clear", "--all"}, want: Options{Verb: "clear", All: true}},
		{args: []string{"clear"}, wantErr: "give either --cluster-id ID or --all"},
		{args: []string{"clear", "--all", "--cluster-id", "c1"}, wantErr: "give either"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			io, _, _, _ := iostreams.Test()
			var got *Options
			cmd := NewCmd(io, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Verb != tc.want.Verb || got.Output != tc.want.Output || got.ClusterID != tc.want.ClusterID || got.All != tc.want.All {
				t.Errorf("options = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestListJSONHasNoSecrets(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	c, err := cache.Open(cache.Options{Backend: cache.File, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	k := cache.Key{ClusterID: "c1", Profile: "dev"}
	if err := c.Put(context.Background(), &cache.Entry{Key: k, Token: "k8s-aws-v1.SECRET", TokenExpiry: now.Add(10 * time.Minute),
		Credentials: &cache.Credentials{AccessKeyID: "ASIAX", SecretAccessKey: "SECRET", CanExpire: true, Expires: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	io, _, out, _ := iostreams.Test()
	opts := &Options{IO: io, Getenv: func(string) string { return "file" }, Now: func() time.Time { return now }, Dir: dir, Verb: "list", Output: "json"}
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "SECRET") || strings.Contains(out.String(), "ASIAX") {
		t.Errorf("list leaks a secret:\n%s", out)
	}
	var l listing
	if err := json.Unmarshal(out.Bytes(), &l); err != nil {
		t.Fatal(err)
	}
	if l.Backend != cache.File || len(l.Entries) != 1 || l.Entries[0].ID != k.ID() || !l.Entries[0].TokenValid || l.Entries[0].CredentialsExpiry == nil {
		t.Errorf("listing = %+v", l)
	}
}
