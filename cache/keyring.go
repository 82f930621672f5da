package cache

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// The keyring item holding the data key.
const (
	keyringService = "kubeiam"
	keyringUser    = "cache-data-key"
	dataKeySize    = 32 // AES-256
)

// DefaultKeyringTimeout bounds each process's wait for the keyring: a
// locked keyring showing an unlock prompt, or a hung Secret Service, must not
// hang kubectl.
const DefaultKeyringTimeout = 2 * time.Second

// secretStore is the part of go-keyring the cache uses; tests put a fake
// behind it to make the keyring hang or fail.
type secretStore interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

// osKeyring is the OS keyring through go-keyring (or its mock after
// keyring.MockInit).
type osKeyring struct{}

func (osKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (osKeyring) Set(service, user, secret string) error   { return keyring.Set(service, user, secret) }
func (osKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }

// errKeyringTimeout is returned when the keyring does not answer in time.
var errKeyringTimeout = errors.New("keyring did not answer in time")

// withDeadline runs fn on its own goroutine so a hung D-Bus call cannot hold
// the caller past the deadline; the goroutine is abandoned and dies with the
// short-lived process.
func withDeadline[T any](ctx context.Context, deadline time.Time, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-t.C:
		var zero T
		return zero, errKeyringTimeout
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// dataKey is the AES key sealing entries, and its public ID.
type dataKey struct {
	key []byte
	id  string
}

func newDataKey(raw []byte) *dataKey {
	h := sha256.Sum256(append([]byte("kubeiam-data-key-id\n"), raw...))
	return &dataKey{key: raw, id: hex.EncodeToString(h[:8])}
}

// loadDataKey reads the data key from the keyring, creating it on first use.
// Creation is serialised by a lock file so two first processes do not store
// two keys, which would make each other's entries undecryptable.
func (c *Cache) loadDataKey(ctx context.Context, deadline time.Time) (*dataKey, error) {
	get := func() (*dataKey, error) {
		s, err := withDeadline(ctx, deadline, func() (string, error) { return c.ring.Get(keyringService, keyringUser) })
		if err != nil {
			return nil, err
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != dataKeySize {
			// Not ours or damaged: replacing it only costs cache misses.
			return nil, keyring.ErrNotFound
		}
		return newDataKey(raw), nil
	}
	k, err := get()
	if !errors.Is(err, keyring.ErrNotFound) {
		return k, err
	}

	lctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	unlock, lerr := fsafe.Lock(lctx, c.path("datakey.lock"), fsafe.Exclusive)
	if lerr != nil {
		if errors.Is(lerr, context.DeadlineExceeded) {
			lerr = errKeyringTimeout
		}
		return nil, fmt.Errorf("could not lock data key creation: %w", lerr)
	}
	defer unlock()
	if k, err := get(); !errors.Is(err, keyring.ErrNotFound) {
		return k, err
	}
	raw := make([]byte, dataKeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("could not create data key: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	if _, err := withDeadline(ctx, deadline, func() (struct{}, error) {
		return struct{}{}, c.ring.Set(keyringService, keyringUser, enc)
	}); err != nil {
		return nil, fmt.Errorf("could not store data key in keyring: %w", err)
	}
	// The lock file covers processes sharing this cache directory only; one
	// using another directory may have stored its own key meanwhile, and the
	// keyring keeps the last one written. Read back and use that.
	if k, err := get(); err == nil {
		return k, nil
	}
	return newDataKey(raw), nil
}
