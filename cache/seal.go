package cache

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// sealed is the encrypted secret part of an entry file.
type sealed struct {
	KeyID string `json:"keyID"`
	Nonce []byte `json:"nonce"`
	Data  []byte `json:"data"`
}

// additionalData binds a ciphertext to its entry ID and data key, so an
// entry copied to another key's file, or sealed under an older key, fails to
// open instead of answering for the wrong identity.
func additionalData(entryID, keyID string) []byte {
	return []byte("kubeiam-cache-entry-v1\n" + entryID + "\n" + keyID)
}

func (k *dataKey) aead() (cipher.AEAD, error) {
	b, err := aes.NewCipher(k.key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func (k *dataKey) seal(entryID string, plain []byte) (*sealed, error) {
	g, err := k.aead()
	if err != nil {
		return nil, fmt.Errorf("could not seal cache entry: %w", err)
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("could not seal cache entry: %w", err)
	}
	return &sealed{KeyID: k.id, Nonce: nonce, Data: g.Seal(nil, nonce, plain, additionalData(entryID, k.id))}, nil
}

func (k *dataKey) open(entryID string, s *sealed) ([]byte, error) {
	if s.KeyID != k.id {
		return nil, errors.New("entry sealed under another data key")
	}
	g, err := k.aead()
	if err != nil {
		return nil, err
	}
	if len(s.Nonce) != g.NonceSize() {
		return nil, errors.New("bad nonce")
	}
	return g.Open(nil, s.Nonce, s.Data, additionalData(entryID, k.id))
}
