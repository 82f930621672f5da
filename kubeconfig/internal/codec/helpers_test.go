package codec

import (
	"os"
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// decode is Decode and ToAPI: what clientcmd.Load gives.
func decode(data []byte) (*clientcmdapi.Config, error) {
	c, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return ToAPI(c)
}

// encode is FromAPI and EncodeBytes: what Edit's general path writes.
func encode(cfg *clientcmdapi.Config, l Layout, size int) ([]byte, error) {
	c, err := FromAPI(cfg)
	if err != nil {
		return nil, err
	}
	return EncodeBytes(c, l, size)
}

// mustEncode is data decoded and encoded again, in the codec's layout.
func mustEncode(t testing.TB, data []byte) []byte {
	c, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := EncodeBytes(c, Layout{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
