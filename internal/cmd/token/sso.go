package token

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/deadline"
	"github.com/kubeiam/kubeiam/internal/execcred"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/token/execargs"
	"github.com/kubeiam/kubeiam/token/sso"
	"github.com/kubeiam/kubeiam/token/sso/ssocache"
)

// ssoBrowserWait bounds a sign-in nobody asked for in a terminal.
const ssoBrowserWait = 5 * time.Minute

// ssoLockWait bounds the wait for another process signing in to the same
// session: a person approving in a browser takes a while.
const ssoLockWait = ssoBrowserWait + 30*time.Second

// ensureSSO makes sure that, when the request's credentials come from an
// IAM Identity Center profile, the SSO token they need is valid before the
// AWS SDK reads it: renewed without a person when it has little time left
// and a refresh token allows, else signed in right here when a person is
// there (kubectl said interactive, or KUBEIAM_SSO_LOGIN=browser). Otherwise
// it fails at once, with no network call, naming the command to run.
//
// Every step happens under the session's sign-in lock, and the token file is
// read again once the lock is held: a herd of kubectl calls on an expired
// session shows one sign-in, and the others use its result.
func ensureSSO(ctx, parent context.Context, opts *Options, info execcred.ExecInfo, prog string) error {
	s, err := sso.ForProfile(opts.Request.Profile, opts.Getenv)
	if s == nil || err != nil {
		return err
	}
	tok, err := readSSOToken(s)
	if err != nil {
		return err
	}
	if tok.State(opts.Now()) == sso.Valid {
		return nil
	}
	interactive := info.Interactive || (!info.FromKubectl && opts.IO.ErrIsTerminal)
	browser := opts.Getenv(execcred.SSOLoginEnv) == "browser"
	if tok.State(opts.Now()) == sso.NeedsLogin && !interactive && !browser {
		return ssoExpired(s, tok, &opts.Request, prog)
	}

	unlock, err := s.Lock(ctx, ssoLockWait)
	if err != nil {
		return err
	}
	defer unlock()
	// Another process may have renewed or signed in while this one waited.
	if tok, err = readSSOToken(s); err != nil {
		return err
	}
	switch tok.State(opts.Now()) {
	case sso.Valid:
		opts.debugf("%s: signed in by another kubeiam process", s)
		return nil
	case sso.Renewable:
		client, err := sso.NewClient(ctx, s, nil)
		if err != nil {
			return err
		}
		renewed, err := client.Renew(ctx, tok)
		if err == nil {
			opts.debugf("%s: renewed until %s", s, renewed.ExpiresAt.UTC().Format(time.RFC3339))
			return nil
		}
		opts.debugf("%s: renewal failed: %v", s, err)
		if k := hint.KindOf(err); k == hint.Network || k == hint.Throttled || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			// The session may well be fine: say what happened rather
			// than ask for a sign-in.
			return err
		}
		var refused *sso.LoginNeededError
		if errors.As(err, &refused) {
			// The identity provider will not renew with this refresh
			// token again: forget it, so the next call (kubectl runs the
			// plugin again at once) fails without asking.
			dead := *tok
			dead.RefreshToken = ""
			if werr := s.WriteToken(&dead); werr != nil {
				opts.debugf("%s: could not forget the refused refresh token: %v", s, werr)
			}
		}
		if !interactive && !browser {
			return ssoExpired(s, tok, &opts.Request, prog)
		}
	}
	if !interactive && !browser {
		return ssoExpired(s, tok, &opts.Request, prog)
	}
	// The sign-in waits for a person, not for the network: it runs outside
	// the command's network budget (each of its calls keeps the
	// per-attempt bound) and ends on Ctrl-C.
	lctx, lcancel := deadline.Start(parent, deadline.Budget{Attempt: deadline.Attempt(ctx, deadline.Token.Attempt)})
	defer lcancel()
	client, err := sso.NewClient(lctx, s, nil)
	if err != nil {
		return err
	}
	if !interactive {
		var cancel context.CancelFunc
		lctx, cancel = context.WithTimeout(ctx, ssoBrowserWait)
		defer cancel()
	}
	fmt.Fprintf(opts.IO.ErrOut, "kubeiam: %s needs a sign-in\n", s)
	// Out of a terminal there is nobody to read a URL: the browser must open.
	signed, err := client.Login(lctx, sso.LoginOptions{Out: opts.IO.ErrOut, NoBrowser: false})
	if err != nil {
		if errors.Is(lctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
			return clierr.WithHint(fmt.Errorf("%s: nobody approved the sign-in within %s", s, ssoBrowserWait),
				"run: %s", loginCommand(&opts.Request, prog))
		}
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "kubeiam: signed in to %s until %s\n", s, signed.ExpiresAt.Local().Format(time.RFC1123))
	return nil
}

// readSSOToken reads the session's token; none is no error (a nil token
// needs a sign-in).
func readSSOToken(s *sso.Session) (*sso.Token, error) {
	tok, err := s.ReadToken()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return tok, err
}

// ssoExpired is the error of a caller nobody can sign in for: one line,
// the command to run named as the user runs kubeiam. The front says the same
// when it can tell from the files alone (ssocache.LookUp).
func ssoExpired(s *sso.Session, tok *sso.Token, req *execargs.Request, prog string) error {
	return ssocache.SignIn{Session: s.String(), SignedIn: tok != nil}.Err(loginCommand(req, prog))
}

// loginCommand is the sign-in command for the request's profile, as the
// user would type it (AWS_PROFILE, or the default profile: login finds it
// as this did).
func loginCommand(req *execargs.Request, prog string) string {
	return hint.LoginCommand(prog, req.Profile)
}
