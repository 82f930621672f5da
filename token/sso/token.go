package sso

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kubeiam/kubeiam/internal/fsafe"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/token/sso/ssocache"
)

// RenewBefore is how long before its expiry an access token is renewed.
const RenewBefore = ssocache.RenewBefore

// Token is the content of a session's token file (see package ssocache).
type Token = ssocache.Token

// State says what a token is good for.
type State = ssocache.State

// The states of a token.
const (
	NeedsLogin = ssocache.NeedsLogin
	Renewable  = ssocache.Renewable
	Valid      = ssocache.Valid
)

// ReadToken reads the session's token file. A missing file is
// errors.Is(err, fs.ErrNotExist); a file that is damaged, not a regular
// file of the user with a private mode, or a symbolic link is a one-line
// error naming it.
func (s *Session) ReadToken() (*Token, error) {
	path, err := s.TokenFile()
	if err != nil {
		return nil, err
	}
	b, err := fsafe.ReadFile(path, fsafe.SmallFile, fsafe.Tighten)
	var ue *fsafe.UntrustedError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no SSO token for %s: %w", s, fs.ErrNotExist)
	case errors.As(err, &ue):
		return nil, hint.With(fmt.Errorf("refusing the SSO token file of %s: %w", s, err),
			"remove %s and sign in again", path)
	case err != nil:
		return nil, fmt.Errorf("could not read the SSO token of %s: %w", s, err)
	}
	t, err := ssocache.Parse(b)
	if err != nil {
		return nil, hint.With(fmt.Errorf("the SSO token file %s is damaged: %v", path, err),
			"remove it and sign in again")
	}
	return t, nil
}

// WriteToken writes t as the session's token file: mode 0600, through a
// synced temporary file and a rename, fields t does not know kept.
func (s *Session) WriteToken(t *Token) error {
	path, err := s.TokenFile()
	if err != nil {
		return err
	}
	b, err := t.MarshalJSON()
	if err != nil {
		return fmt.Errorf("could not encode the SSO token: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("could not write the SSO token: %w", err)
	}
	if err := fsafe.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("could not write the SSO token: %w", err)
	}
	return nil
}

// RemoveToken removes the session's token file; a missing one is no error.
func (s *Session) RemoveToken() error {
	path, err := s.TokenFile()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("could not remove the SSO token: %w", err)
	}
	return nil
}
