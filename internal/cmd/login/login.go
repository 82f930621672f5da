// Package login implements `kubeiam login` and `kubeiam logout`: signing in
// to IAM Identity Center (SSO) without the AWS CLI, and signing out again.
// The sign-in itself is package token/sso; this is the cobra wiring, the
// messages, and logout's removal of what kubeiam cached from the session.
package login

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/sso"
)

// cacheEnv is the variable `kubeiam token` reads its cache backend from;
// logout opens the cache the same way.
const cacheEnv = "KUBEIAM_CACHE"

// lockWait bounds how long login waits for another kubeiam signing in to
// the same session: about as long as a person takes in the browser.
const lockWait = 5 * time.Minute

// Options are the flags of login and logout and the seams of their tests.
type Options struct {
	IO         *iostreams.IOStreams
	Profile    string
	SSOSession string
	// login
	DeviceCode bool
	NoBrowser  bool
	// StartURL and SSORegion create the [sso-session] section when the
	// file has none of that name.
	StartURL, SSORegion string
	// logout
	All bool

	// HTTPClient overrides the SDK's (tests); OpenBrowser the platform
	// opener.
	HTTPClient  aws.HTTPClient
	OpenBrowser func(string) error
}

// NewCmd builds `kubeiam login`; runF replaces Run in tests.
func NewCmd(io *iostreams.IOStreams, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "login [--profile P | --sso-session S]",
		Short: "Sign in to IAM Identity Center (SSO), as aws sso login does",
		Long: `Sign in to the IAM Identity Center (SSO) session a profile uses, without the
AWS CLI. The browser opens the sign-in page (the URL is printed on stderr too);
after you approve, the token is written where the AWS CLI and SDKs read it
(~/.aws/sso/cache), so kubeiam token, the AWS CLI and other tools share it.

Profiles with an sso-session section sign in with the authorization code flow
(a redirect to a port on 127.0.0.1). --use-device-code, and legacy profiles
(sso_start_url in the profile), print a URL and a code to confirm from any
device instead. Without --profile or --sso-session, AWS_PROFILE or the default
profile is used.

--start-url and --sso-region add the [sso-session NAME] section (named by
--sso-session, else after the start URL's host) to the AWS config file when it
has none, as aws configure sso does; an existing section is left as it is.
Then kubeiam profile sync writes a profile for every account and role.`,
		Example: `  kubeiam login --profile dev
  kubeiam login --start-url https://my-org.awsapps.com/start --sso-region eu-west-1 --sso-session my-sso
  kubeiam login --sso-session my-sso --use-device-code
  kubeiam login --no-browser`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (opts.StartURL == "") != (opts.SSORegion == "") {
				return clierr.Usagef("--start-url and --sso-region go together")
			}
			if opts.StartURL != "" {
				if opts.Profile != "" {
					return clierr.Usagef("--start-url names a session: use --sso-session, not --profile")
				}
				if err := sso.CheckStartURL(opts.StartURL); err != nil {
					return err
				}
				if _, err := token.CheckRegion(opts.SSORegion); err != nil {
					return &clierr.UsageError{Err: err}
				}
				if opts.SSOSession == "" {
					opts.SSOSession = sso.SessionNameFor(opts.StartURL)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return Login(cmd.Context(), opts)
		},
	}
	sessionFlags(cmd, opts)
	cmd.Flags().BoolVar(&opts.DeviceCode, "use-device-code", false, "confirm a code from any device instead of a redirect to this machine")
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "print the URL to open instead of opening a browser")
	cmd.Flags().StringVar(&opts.StartURL, "start-url", "", "IAM Identity Center start URL: adds the [sso-session] section when missing")
	cmd.Flags().StringVar(&opts.SSORegion, "sso-region", "", "region of the IAM Identity Center instance (with --start-url)")
	return cmd
}

// NewLogoutCmd builds `kubeiam logout`; runF replaces Run in tests.
func NewLogoutCmd(io *iostreams.IOStreams, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "logout [--profile P | --sso-session S | --all]",
		Short: "Sign out of IAM Identity Center (SSO) and forget what was cached from it",
		Long: `Sign out of the IAM Identity Center (SSO) session a profile uses: the access
token is signed out at the SSO portal, its file in ~/.aws/sso/cache is removed
(the AWS CLI is signed out too), and so is every kubeiam cache entry made with
a profile of that session. --all does this for every session of the AWS config
file and forgets the cache's data key held for this login session. Signing
out twice is not an error.`,
		Example: `  kubeiam logout --profile dev
  kubeiam logout --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.All && (opts.Profile != "" || opts.SSOSession != "") {
				return clierr.Usagef("--all cannot be used with --profile or --sso-session")
			}
			if runF != nil {
				return runF(opts)
			}
			return Logout(cmd.Context(), opts)
		},
	}
	sessionFlags(cmd, opts)
	cmd.Flags().BoolVar(&opts.All, "all", false, "sign out of every SSO session in the AWS config file")
	return cmd
}

func sessionFlags(cmd *cobra.Command, opts *Options) {
	cmd.Flags().StringVar(&opts.Profile, "profile", "", "AWS profile whose SSO session to use (default: AWS_PROFILE, else default)")
	cmd.Flags().StringVar(&opts.SSOSession, "sso-session", "", "name of an [sso-session NAME] section of the AWS config file")
	// Checked here rather than with cobra's flag groups, whose message
	// names the group rather than the mistake.
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if opts.Profile != "" && opts.SSOSession != "" {
			return clierr.Usagef("--profile and --sso-session cannot be used together: name the profile, or its session")
		}
		return nil
	}
}

// session resolves the session the flags name.
func (o *Options) session() (*sso.Session, error) {
	if o.SSOSession != "" {
		return sso.ResolveSession(o.SSOSession)
	}
	s, err := sso.Resolve(o.Profile)
	if err != nil || s != nil {
		return s, err
	}
	name := o.Profile
	if name == "" {
		name = "the default profile"
		if p := os.Getenv("AWS_PROFILE"); p != "" {
			name = fmt.Sprintf("profile %q (AWS_PROFILE)", p)
		}
	} else {
		name = fmt.Sprintf("profile %q", name)
	}
	return nil, clierr.WithHint(fmt.Errorf("%s does not use IAM Identity Center (SSO)", name),
		"name a profile with sso_session or sso_start_url (--profile), or a session (--sso-session)")
}

// interruptible ends ctx on Ctrl-C or SIGTERM, so a sign-in that waits for
// the browser stops with one line instead of a signal's death.
func interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

// Login signs in to the session the options name.
func Login(ctx context.Context, o *Options) error {
	ctx, stop := interruptible(ctx)
	defer stop()
	if o.StartURL != "" {
		created, err := sso.EnsureSession(ctx, o.SSOSession, o.StartURL, o.SSORegion)
		if err != nil {
			return err
		}
		if created {
			f, _ := sso.ConfigFile()
			fmt.Fprintf(o.IO.ErrOut, "Added [sso-session %s] to %s\n", o.SSOSession, f)
		}
	}
	s, err := o.session()
	if err != nil {
		return err
	}
	c, err := sso.NewClient(ctx, s, o.HTTPClient)
	if err != nil {
		return err
	}
	// Another kubeiam (an inline sign-in of kubeiam token) may be signing in
	// to the same session; one sign-in is enough for both.
	unlock, err := s.Lock(ctx, 100*time.Millisecond)
	if err != nil {
		fmt.Fprintf(o.IO.ErrOut, "Waiting for another kubeiam signing in to %s...\n", s)
		if unlock, err = s.Lock(ctx, lockWait); err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("sign-in to %s cancelled", s)
			}
			return err
		}
	}
	defer unlock()
	t, err := c.Login(ctx, sso.LoginOptions{DeviceCode: o.DeviceCode, NoBrowser: o.NoBrowser, Out: o.IO.ErrOut, OpenBrowser: o.OpenBrowser})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "Signed in to %s (expires %s)\n", s, t.ExpiresAt.Local().Format("2006-01-02 15:04 MST"))
	return nil
}

// Logout signs out of the session the options name, or of all.
func Logout(ctx context.Context, o *Options) error {
	ctx, stop := interruptible(ctx)
	defer stop()
	var sessions []*sso.Session
	if o.All {
		var err error
		if sessions, err = sso.Sessions(); err != nil {
			return err
		}
	} else {
		s, err := o.session()
		if err != nil {
			return err
		}
		sessions = []*sso.Session{s}
	}
	var errs []error
	for _, s := range sessions {
		c, err := sso.NewClient(ctx, s, o.HTTPClient)
		if err == nil {
			err = c.Logout(ctx)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n, err := removeCached(ctx, o, s)
		if err != nil {
			errs = append(errs, err)
		}
		fmt.Fprintf(o.IO.ErrOut, "Signed out of %s (removed %d cached %s)\n", s, n, text.Plural(n, "token", "tokens"))
	}
	if o.All && len(sessions) == 0 {
		fmt.Fprintln(o.IO.ErrOut, "No SSO sessions in the AWS config file")
	}
	// Signing out ends what this login session holds too: the copy of the
	// cache's data key kept for it (the keyring still has the key).
	if err := cache.DropSessionKey(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removeCached removes the kubeiam cache entries made with a profile that
// depends on s. A cache key names the profile as given to kubeiam token
// (flag, else AWS_PROFILE); empty means the default profile.
func removeCached(ctx context.Context, o *Options, s *sso.Session) (int, error) {
	b, err := cache.ParseBackend(os.Getenv(cacheEnv))
	if err != nil {
		b = cache.Auto
	}
	c, err := cache.Open(cache.Options{Backend: b, Warn: o.IO.ErrOut})
	if err != nil {
		return 0, err
	}
	uses := map[string]bool{}
	return c.RemoveMatching(ctx, func(k cache.Key) bool {
		p := k.Profile
		if p == "" {
			p = "default"
		}
		if v, ok := uses[p]; ok {
			return v
		}
		ps, err := sso.Resolve(p)
		uses[p] = err == nil && sso.SameSession(ps, s)
		return uses[p]
	})
}
