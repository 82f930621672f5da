package codec

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd/api/latest"
	clientcmdv1 "k8s.io/client-go/tools/clientcmd/api/v1"
)

// TestTypesMirrorClientcmd: the codec's types have exactly clientcmd's v1
// fields (names, JSON names, types), the data fields aside, which are
// Base64 where clientcmd has []byte. A field a client-go update adds
// fails here instead of being dropped from every file kubeiam writes.
func TestTypesMirrorClientcmd(t *testing.T) {
	for _, pair := range [][2]reflect.Type{
		{reflect.TypeFor[Config](), reflect.TypeFor[clientcmdv1.Config]()},
		{reflect.TypeFor[NamedCluster](), reflect.TypeFor[clientcmdv1.NamedCluster]()},
		{reflect.TypeFor[Cluster](), reflect.TypeFor[clientcmdv1.Cluster]()},
		{reflect.TypeFor[NamedAuthInfo](), reflect.TypeFor[clientcmdv1.NamedAuthInfo]()},
		{reflect.TypeFor[AuthInfo](), reflect.TypeFor[clientcmdv1.AuthInfo]()},
	} {
		ours, theirs := pair[0], pair[1]
		if ours.NumField() != theirs.NumField() {
			t.Errorf("%s has %d fields, %s %d", ours, ours.NumField(), theirs, theirs.NumField())
			continue
		}
		for i := range ours.NumField() {
			o, c := ours.Field(i), theirs.Field(i)
			same := o.Type == c.Type ||
				o.Type == base64Type && c.Type == reflect.TypeFor[[]byte]() ||
				o.Type.Name() == c.Type.Name() && o.Type.Kind() == c.Type.Kind() // the mirrored structs and lists of them
			tag := o.Tag.Get("json")
			if o.Type == base64Type {
				tag = fmt.Sprint(tag[:len(tag)-len("omitzero")], "omitempty")
			}
			if o.Name != c.Name || !same || tag != c.Tag.Get("json") {
				t.Errorf("%s.%s (%s `%s`) is not %s.%s (%s `%s`)", ours, o.Name, o.Type, o.Tag, theirs, c.Name, c.Type, c.Tag)
			}
		}
	}
}

// full is a v1 config with every field of every cluster, user and context
// set, so that a conversion that forgets one shows.
func full() *clientcmdv1.Config {
	var v1 clientcmdv1.Config
	fill(reflect.ValueOf(&v1).Elem(), 0)
	return &v1
}

// fill sets every field of v to a value that is not its zero.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprint("s", depth))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[runtime.RawExtension]() {
			v.Set(reflect.ValueOf(runtime.RawExtension{Raw: []byte(`{"a":1}`)}))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), depth+i+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth)
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	}
}

// TestV1RoundTrip: FromV1 and V1 keep every field, the data's included.
func TestV1RoundTrip(t *testing.T) {
	want := full()
	if got := FromV1(full()).V1(); !reflect.DeepEqual(got, want) {
		t.Fatalf("FromV1 then V1 lost something:\n got %#v\nwant %#v", got, want)
	}
	// The same through the text a file holds.
	c := FromV1(full())
	for i := range c.Clusters {
		d := &c.Clusters[i].Cluster.CertificateAuthorityData
		*d, _ = parseBase64([]byte(base64.StdEncoding.EncodeToString(d.Bytes())))
	}
	if got := c.V1(); !reflect.DeepEqual(got, want) {
		t.Fatalf("data read as text differs:\n got %#v\nwant %#v", got, want)
	}
}

// TestDefaultIsClientcmds: Default, on its shell of the config, fills in
// what clientcmd's defaulting fills in on the whole v1 config.
func TestDefaultIsClientcmds(t *testing.T) {
	for name, mod := range map[string]func(*clientcmdv1.Config){
		"full": func(*clientcmdv1.Config) {},
		"empty exec": func(v1 *clientcmdv1.Config) {
			v1.AuthInfos[0].AuthInfo.Exec = &clientcmdv1.ExecConfig{APIVersion: "client.authentication.k8s.io/v1beta1"}
			v1.AuthInfos[1].AuthInfo.Exec = &clientcmdv1.ExecConfig{}
		},
		"zero": func(v1 *clientcmdv1.Config) {
			*v1 = clientcmdv1.Config{AuthInfos: []clientcmdv1.NamedAuthInfo{{}}, Clusters: []clientcmdv1.NamedCluster{{}}, Contexts: []clientcmdv1.NamedContext{{}}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			want, in := full(), full()
			mod(want)
			mod(in)
			want.Kind = ""
			in.Kind = ""
			latest.Scheme.Default(want)
			c := FromV1(in)
			if err := c.Default(); err != nil {
				t.Fatal(err)
			}
			if got := c.V1(); !reflect.DeepEqual(got, want) {
				t.Fatalf("Default differs from clientcmd's:\n got %#v\nwant %#v", got, want)
			}
		})
	}
}
