package codec

import (
	"fmt"

	"github.com/kubeiam/kubeiam/internal/kubeerr"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/tools/clientcmd/api/latest"
	clientcmdv1 "k8s.io/client-go/tools/clientcmd/api/v1"
)

// Config is a kubeconfig file as the codec reads and writes it:
// clientcmd's v1 types (the file's own shape: named lists, in file order),
// except that certificate and key data are Base64 text rather than decoded
// bytes. Contexts, preferences, extensions, exec and auth-provider blocks
// are clientcmd's own types. TestTypesMirrorClientcmd holds the mirrored
// types to clientcmd's field for field, so a field client-go adds is
// noticed, not dropped.
type Config struct {
	Kind           string                       `json:"kind,omitempty"`
	APIVersion     string                       `json:"apiVersion,omitempty"`
	Preferences    clientcmdv1.Preferences      `json:"preferences,omitzero"`
	Clusters       []NamedCluster               `json:"clusters"`
	AuthInfos      []NamedAuthInfo              `json:"users"`
	Contexts       []clientcmdv1.NamedContext   `json:"contexts"`
	CurrentContext string                       `json:"current-context"`
	Extensions     []clientcmdv1.NamedExtension `json:"extensions,omitempty"`
}

// NamedCluster is clientcmdv1.NamedCluster.
type NamedCluster struct {
	Name    string  `json:"name"`
	Cluster Cluster `json:"cluster"`
}

// Cluster is clientcmdv1.Cluster with the CA data as Base64.
type Cluster struct {
	Server                   string                       `json:"server"`
	TLSServerName            string                       `json:"tls-server-name,omitempty"`
	InsecureSkipTLSVerify    bool                         `json:"insecure-skip-tls-verify,omitempty"`
	CertificateAuthority     string                       `json:"certificate-authority,omitempty"`
	CertificateAuthorityData Base64                       `json:"certificate-authority-data,omitzero"`
	ProxyURL                 string                       `json:"proxy-url,omitempty"`
	DisableCompression       bool                         `json:"disable-compression,omitempty"`
	Extensions               []clientcmdv1.NamedExtension `json:"extensions,omitempty"`
}

// NamedAuthInfo is clientcmdv1.NamedAuthInfo.
type NamedAuthInfo struct {
	Name     string   `json:"name"`
	AuthInfo AuthInfo `json:"user"`
}

// AuthInfo is clientcmdv1.AuthInfo with the client certificate and key
// data as Base64.
type AuthInfo struct {
	ClientCertificate     string                          `json:"client-certificate,omitempty"`
	ClientCertificateData Base64                          `json:"client-certificate-data,omitzero"`
	ClientKey             string                          `json:"client-key,omitempty"`
	ClientKeyData         Base64                          `json:"client-key-data,omitzero"`
	Token                 string                          `json:"token,omitempty"`
	TokenFile             string                          `json:"tokenFile,omitempty"`
	Impersonate           string                          `json:"as,omitempty"`
	ImpersonateUID        string                          `json:"as-uid,omitempty"`
	ImpersonateGroups     []string                        `json:"as-groups,omitempty"`
	ImpersonateUserExtra  map[string][]string             `json:"as-user-extra,omitempty"`
	Username              string                          `json:"username,omitempty"`
	Password              string                          `json:"password,omitempty"`
	AuthProvider          *clientcmdv1.AuthProviderConfig `json:"auth-provider,omitempty"`
	Exec                  *clientcmdv1.ExecConfig         `json:"exec,omitempty"`
	Extensions            []clientcmdv1.NamedExtension    `json:"extensions,omitempty"`
}

// The conversions to and from clientcmd's v1 types. With blobs false the
// Base64 fields are left alone: a v1 "shell" of the config, for clientcmd's
// defaulting, without decoding any data (see Default).

func (c *Cluster) toV1(out *clientcmdv1.Cluster, blobs bool) {
	*out = clientcmdv1.Cluster{
		Server:                c.Server,
		TLSServerName:         c.TLSServerName,
		InsecureSkipTLSVerify: c.InsecureSkipTLSVerify,
		CertificateAuthority:  c.CertificateAuthority,
		ProxyURL:              c.ProxyURL,
		DisableCompression:    c.DisableCompression,
		Extensions:            c.Extensions,
	}
	if blobs {
		out.CertificateAuthorityData = c.CertificateAuthorityData.Bytes()
	}
}

func (c *Cluster) fromV1(in *clientcmdv1.Cluster, blobs bool) {
	data := c.CertificateAuthorityData
	if blobs {
		data = Base64Of(in.CertificateAuthorityData)
	}
	*c = Cluster{
		Server:                   in.Server,
		TLSServerName:            in.TLSServerName,
		InsecureSkipTLSVerify:    in.InsecureSkipTLSVerify,
		CertificateAuthority:     in.CertificateAuthority,
		CertificateAuthorityData: data,
		ProxyURL:                 in.ProxyURL,
		DisableCompression:       in.DisableCompression,
		Extensions:               in.Extensions,
	}
}

func (a *AuthInfo) toV1(out *clientcmdv1.AuthInfo, blobs bool) {
	*out = clientcmdv1.AuthInfo{
		ClientCertificate:    a.ClientCertificate,
		ClientKey:            a.ClientKey,
		Token:                a.Token,
		TokenFile:            a.TokenFile,
		Impersonate:          a.Impersonate,
		ImpersonateUID:       a.ImpersonateUID,
		ImpersonateGroups:    a.ImpersonateGroups,
		ImpersonateUserExtra: a.ImpersonateUserExtra,
		Username:             a.Username,
		Password:             a.Password,
		AuthProvider:         a.AuthProvider,
		Exec:                 a.Exec,
		Extensions:           a.Extensions,
	}
	if blobs {
		out.ClientCertificateData = a.ClientCertificateData.Bytes()
		out.ClientKeyData = a.ClientKeyData.Bytes()
	}
}

func (a *AuthInfo) fromV1(in *clientcmdv1.AuthInfo, blobs bool) {
	cert, key := a.ClientCertificateData, a.ClientKeyData
	if blobs {
		cert, key = Base64Of(in.ClientCertificateData), Base64Of(in.ClientKeyData)
	}
	*a = AuthInfo{
		ClientCertificate:     in.ClientCertificate,
		ClientCertificateData: cert,
		ClientKey:             in.ClientKey,
		ClientKeyData:         key,
		Token:                 in.Token,
		TokenFile:             in.TokenFile,
		Impersonate:           in.Impersonate,
		ImpersonateUID:        in.ImpersonateUID,
		ImpersonateGroups:     in.ImpersonateGroups,
		ImpersonateUserExtra:  in.ImpersonateUserExtra,
		Username:              in.Username,
		Password:              in.Password,
		AuthProvider:          in.AuthProvider,
		Exec:                  in.Exec,
		Extensions:            in.Extensions,
	}
}

// toV1 converts c; the lists keep their nil-ness (null and [] are
// different files).
func (c *Config) toV1(blobs bool) *clientcmdv1.Config {
	v1 := &clientcmdv1.Config{
		Kind:           c.Kind,
		APIVersion:     c.APIVersion,
		Preferences:    c.Preferences,
		Contexts:       c.Contexts,
		CurrentContext: c.CurrentContext,
		Extensions:     c.Extensions,
	}
	if c.Clusters != nil {
		v1.Clusters = make([]clientcmdv1.NamedCluster, len(c.Clusters))
		for i := range c.Clusters {
			v1.Clusters[i].Name = c.Clusters[i].Name
			c.Clusters[i].Cluster.toV1(&v1.Clusters[i].Cluster, blobs)
		}
	}
	if c.AuthInfos != nil {
		v1.AuthInfos = make([]clientcmdv1.NamedAuthInfo, len(c.AuthInfos))
		for i := range c.AuthInfos {
			v1.AuthInfos[i].Name = c.AuthInfos[i].Name
			c.AuthInfos[i].AuthInfo.toV1(&v1.AuthInfos[i].AuthInfo, blobs)
		}
	}
	return v1
}

// fromV1 makes c the config v1 holds; with blobs false, c keeps its own
// Base64 values (v1 being c's shell, entry for entry).
func (c *Config) fromV1(v1 *clientcmdv1.Config, blobs bool) {
	clusters, users := c.Clusters, c.AuthInfos
	if blobs {
		clusters, users = nil, nil
		if v1.Clusters != nil {
			clusters = make([]NamedCluster, len(v1.Clusters))
		}
		if v1.AuthInfos != nil {
			users = make([]NamedAuthInfo, len(v1.AuthInfos))
		}
	}
	for i := range v1.Clusters {
		clusters[i].Name = v1.Clusters[i].Name
		clusters[i].Cluster.fromV1(&v1.Clusters[i].Cluster, blobs)
	}
	for i := range v1.AuthInfos {
		users[i].Name = v1.AuthInfos[i].Name
		users[i].AuthInfo.fromV1(&v1.AuthInfos[i].AuthInfo, blobs)
	}
	*c = Config{
		Kind:           v1.Kind,
		APIVersion:     v1.APIVersion,
		Preferences:    v1.Preferences,
		Clusters:       clusters,
		AuthInfos:      users,
		Contexts:       v1.Contexts,
		CurrentContext: v1.CurrentContext,
		Extensions:     v1.Extensions,
	}
}

// FromV1 is v1 in the codec's types (its data encoded).
func FromV1(v1 *clientcmdv1.Config) *Config {
	var c Config
	c.fromV1(v1, true)
	return &c
}

// V1 is c in clientcmd's v1 types, its data decoded. It shares everything
// but the named lists and the data with c.
func (c *Config) V1() *clientcmdv1.Config { return c.toV1(true) }

// Default checks the kind and fills in clientcmd's defaults, as its loader
// does before the conversion to the internal types — on a shell of c, so
// no data is decoded (clientcmd's defaults touch none).
func (c *Config) Default() error {
	if err := checkKind(c.Kind); err != nil {
		return err
	}
	shell := c.toV1(false)
	latest.Scheme.Default(shell)
	c.fromV1(shell, false)
	return nil
}

func checkKind(kind string) error {
	if kind != "" && kind != "Config" {
		return fmt.Errorf("kind %q is not a kubeconfig (want Config)", kind)
	}
	return nil
}

// ToAPI converts what Decode read to clientcmd's internal types, as
// clientcmd.Load does; nil is an empty config, as for kubectl.
func ToAPI(c *Config) (*clientcmdapi.Config, error) {
	if c == nil {
		return clientcmdapi.NewConfig(), nil
	}
	if err := checkKind(c.Kind); err != nil {
		return nil, err
	}
	v1 := c.V1()
	latest.Scheme.Default(v1)
	cfg := clientcmdapi.NewConfig()
	if err := latest.Scheme.Convert(v1, cfg, nil); err != nil {
		// A name twice in a list: client-go's message prints the list,
		// tokens and keys included.
		return nil, kubeerr.Scrub(err)
	}
	return cfg, nil
}

// FromAPI converts cfg to be written, as clientcmd.Write does.
func FromAPI(cfg *clientcmdapi.Config) (*Config, error) {
	var v1 clientcmdv1.Config
	if err := latest.Scheme.Convert(cfg, &v1, nil); err != nil {
		return nil, err
	}
	v1.APIVersion, v1.Kind = "v1", "Config"
	return FromV1(&v1), nil
}

// RoundTrips reports whether converting c (already defaulted) to
// clientcmd's internal types and back gives c again, field for field, so
// that an edit made on c writes what the same edit made on the internal
// types would. client-go's generated conversions copy every field of a
// cluster, user, context and the preferences as it is, both ways; what
// differs is:
//
//   - the named lists, which become maps (a duplicate name is an error) and
//     come back sorted by name: each must be sorted, without duplicates;
//   - an empty list, which comes back as none ("null" rather than "[]");
//   - extensions, which pass through runtime.Object: there must be none;
//   - kind and apiVersion, which the encoder sets to Config and v1 (a
//     kind other than Config is an error).
func (c *Config) RoundTrips() bool {
	if c.Kind != "" && c.Kind != "Config" || len(c.Extensions) > 0 || len(c.Preferences.Extensions) > 0 {
		return false
	}
	return sortedNoExtensions(c.Clusters, func(c *NamedCluster) (string, int) { return c.Name, len(c.Cluster.Extensions) }) &&
		sortedNoExtensions(c.AuthInfos, func(a *NamedAuthInfo) (string, int) { return a.Name, len(a.AuthInfo.Extensions) }) &&
		sortedNoExtensions(c.Contexts, func(c *clientcmdv1.NamedContext) (string, int) { return c.Name, len(c.Context.Extensions) })
}

// sortedNoExtensions: list is nil or non-empty, its names strictly
// increasing (sort.Strings' order, as the conversion writes them), and no
// entry has extensions.
func sortedNoExtensions[T any](list []T, of func(*T) (string, int)) bool {
	if list != nil && len(list) == 0 {
		return false
	}
	prev := ""
	for i := range list {
		name, ext := of(&list[i])
		if ext > 0 || i > 0 && name <= prev {
			return false
		}
		prev = name
	}
	return true
}
