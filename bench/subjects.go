package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Keys of the process subjects, used by the targets.
const (
	kFloor       = "floor"
	kCachedFile  = "cached-file"
	kCachedKeyr  = "cached-keyring"
	kCachedDBus  = "cached-keyring-dbus"
	kCachedAgent = "cached-keyring-agent"
	kProbe       = "keyring-probe"
	kUncached    = "uncached-static"
	kUncachedRol = "uncached-role"
	kAuth        = "aws-iam-authenticator"
	kAWS         = "aws-eks-get-token"
	kShell       = "shell-true"
)

// processSubjects are the single-process commands of the round-robin. Each
// is warmed (cached subjects fill their cache) and checked once here.
func processSubjects(cfg *config, e *env, r *rig, v *verifier, floor, probe string, kr *keyringSession) ([]*subject, []string, error) {
	kubeiam := filepath.Join(cfg.Bin, "kubeiam")
	token := []string{"token", "-i", clusterID}
	alice := r.alice.ARN
	var skipped []string

	// The cached subjects assume a role: that is what the cache is for
	// (static keys in the environment are signed without it), and the
	// first, checked call goes through AssumeRole against the stand-in.
	roleToken := append(slices.Clone(token), "-r", roleARN, "-s", session)
	sts := "AWS_ENDPOINT_URL_STS=" + r.http.URL
	fileCache, err := e.freshDir("cache-file")
	if err != nil {
		return nil, nil, err
	}
	fileEnv := e.with("KUBEIAM_CACHE=file", "XDG_CACHE_HOME="+fileCache, sts)
	subjects := []*subject{
		{Key: kFloor, Label: "floor (hello-world Go, prints JSON)",
			cmd:   func() (*exec.Cmd, error) { return command(e.with(), floor), nil },
			check: checkJSON},
		{Key: kCachedFile, Label: "kubeiam token -r ROLE, cached (file)",
			cmd:   func() (*exec.Cmd, error) { return command(fileEnv, kubeiam, roleToken...), nil },
			check: checkHit(v, kubeiam, fileEnv, roleToken, roleSessionARN(), "file backend")},
	}
	if kr != nil {
		keyrCache, err := e.freshDir("cache-keyring")
		if err != nil {
			return nil, nil, err
		}
		keyrEnv := e.with(append(kr.env(), "KUBEIAM_CACHE=keyring", "XDG_CACHE_HOME="+keyrCache, sts)...)
		// The same entries, read with the data key the keyring path reads
		// on every call: the cost the session-held key saves.
		dbusEnv := e.with(append(kr.env(), "KUBEIAM_CACHE=keyring", "KUBEIAM_SESSION_KEY=off", "XDG_CACHE_HOME="+keyrCache, sts)...)
		subjects = append(subjects,
			&subject{Key: kCachedKeyr, Label: "kubeiam token -r ROLE, cached (Secret Service, data key held for the session)",
				cmd:   func() (*exec.Cmd, error) { return command(keyrEnv, kubeiam, roleToken...), nil },
				check: checkHit(v, kubeiam, keyrEnv, roleToken, roleSessionARN(), "keyring backend, data key held for the session")},
			&subject{Key: kCachedDBus, Label: "kubeiam token -r ROLE, cached (Secret Service read on every call, KUBEIAM_SESSION_KEY=off)",
				cmd:   func() (*exec.Cmd, error) { return command(dbusEnv, kubeiam, roleToken...), nil },
				check: checkHit(v, kubeiam, dbusEnv, roleToken, roleSessionARN(), "keyring backend, data key read from the keyring")},
			&subject{Key: kProbe, Label: "keyring probe (floor + one Secret Service lookup)",
				cmd:   func() (*exec.Cmd, error) { return command(e.with(kr.env()...), probe), nil },
				check: checkJSON})
		agent, why, err := agentSubject(e, kr, kubeiam, roleToken, sts, v)
		if err != nil {
			return nil, nil, err
		}
		if agent != nil {
			subjects = append(subjects, agent)
		} else {
			skipped = append(skipped, "cached (Secret Service, keyctl refused): "+why)
		}
	} else {
		skipped = append(skipped, "cached (Secret Service): no keyring session")
	}
	subjects = append(subjects,
		&subject{Key: kUncached, Label: "kubeiam token --no-cache (static keys)",
			cmd:   func() (*exec.Cmd, error) { return command(e.with(), kubeiam, append(token, "--no-cache")...), nil },
			check: answeredBy(v.expectCaller(alice), kubeiam, e.with(), append(token, "--no-cache"))},
		&subject{Key: kUncachedRol, Label: "kubeiam token --no-cache -r ROLE (AssumeRole)",
			cmd: func() (*exec.Cmd, error) {
				return command(e.with(sts), kubeiam, append(slices.Clone(roleToken), "--no-cache")...), nil
			},
			check: answeredBy(v.expectCaller(roleSessionARN()), kubeiam, e.with(sts), append(slices.Clone(roleToken), "--no-cache"))},
	)
	sso, err := ssoSubjects(e, r, v, kubeiam)
	if err != nil {
		return nil, nil, err
	}
	subjects = append(subjects, sso...)
	shell, err := shellSubject(e, kubeiam)
	if err != nil {
		return nil, nil, err
	}
	subjects = append(subjects, shell)
	if cfg.Authenticator != "" && executable(cfg.Authenticator) {
		subjects = append(subjects, &subject{Key: kAuth, Label: "aws-iam-authenticator v0.7.2 token",
			cmd:   func() (*exec.Cmd, error) { return command(e.with(), cfg.Authenticator, token...), nil },
			check: v.expectCaller(alice)})
	} else {
		skipped = append(skipped, "aws-iam-authenticator v0.7.2: not built (make tools)")
	}
	if cfg.AWS != "" {
		subjects = append(subjects, &subject{Key: kAWS, Label: "aws eks get-token (aws CLI " + awsVersion(cfg.AWS) + ")",
			cmd: func() (*exec.Cmd, error) {
				return command(e.with(), cfg.AWS, "eks", "get-token", "--cluster-name", clusterID), nil
			},
			check: v.expectCaller(alice)})
	} else {
		skipped = append(skipped, "aws eks get-token: no aws CLI")
	}
	return subjects, skipped, nil
}

func checkJSON(s sample) error {
	var v map[string]any
	if err := json.Unmarshal(s.Stdout, &v); err != nil {
		return fmt.Errorf("output is not JSON: %v", err)
	}
	return nil
}

// answeredBy wraps check and records, from the -v messages of one more
// call, which binary answered: the front signs static environment keys
// itself and answers cache hits, everything else continues in kubeiam-core.
func answeredBy(check func(sample) error, kubeiam string, env, args []string) func(sample) error {
	return func(s sample) error {
		if err := check(s); err != nil {
			return err
		}
		smp, err := timeCmd(command(env, kubeiam, append(slices.Clone(args), "-v")...))
		if err != nil {
			return err
		}
		return noteError(frontOrCore(smp.Stderr))
	}
}

// noteError is not a failure: sanity keeps it as the subject's note.
type noteError string

func (n noteError) Error() string { return string(n) }

func frontOrCore(stderr []byte) string {
	switch msg := string(stderr); {
	case strings.Contains(msg, "cached token ("):
		return "answered by the front (cache hit)"
	case strings.Contains(msg, "signing with static keys from the environment"):
		return "answered by the front (signs static keys itself)"
	default:
		return "answered by kubeiam-core (front execs it)"
	}
}

// checkHit makes sure a cached subject is what it claims: after the first
// call (a miss, which fills the cache) the next is a hit answered by the
// front as -v describes it (backend, and where the data key came from), not
// a silent fallback to files, to no cache or to another key source, which
// would time something else.
func checkHit(v *verifier, kubeiam string, env, token []string, caller, how string) func(sample) error {
	return checkHitRun(timeCmd, v, kubeiam, env, token, caller, how)
}

// checkHitRun is checkHit with the second call run by run.
func checkHitRun(run func(*exec.Cmd) (sample, error), v *verifier, kubeiam string, env, token []string, caller, how string) func(sample) error {
	return func(s sample) error {
		if err := v.expectCaller(caller)(s); err != nil {
			return err
		}
		smp, err := run(command(env, kubeiam, append(token, "-v")...))
		if err != nil {
			return err
		}
		if !strings.Contains(string(smp.Stderr), "cached token ("+how+")") {
			return errors.New("the second call was not a cache hit (" + how + "): " + firstLine(string(smp.Stderr)))
		}
		return noteError(frontOrCore(smp.Stderr))
	}
}

func executable(p string) bool {
	_, err := exec.LookPath(p)
	return err == nil
}

func awsVersion(aws string) string {
	out, _ := exec.Command(aws, "--version").CombinedOutput()
	v, _, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	return strings.TrimPrefix(v, "aws-cli/")
}

// shellSubject times `kubeiam shell CTX -- true`: a private kubeconfig
// made, the command run, the file removed. The check makes sure the
// command did run in the context.
func shellSubject(e *env, kubeiam string) (*subject, error) {
	dir, err := e.freshDir("shell")
	if err != nil {
		return nil, err
	}
	kc := filepath.Join(dir, "config")
	if err := os.WriteFile(kc, generateKubeconfig(10), 0o600); err != nil {
		return nil, err
	}
	env := e.with("KUBECONFIG="+kc, "XDG_RUNTIME_DIR="+dir)
	const ctx = "c00007-aws"
	return &subject{Key: kShell, Label: "kubeiam shell CTX -- true (10-context kubeconfig)",
		cmd: func() (*exec.Cmd, error) { return command(env, kubeiam, "shell", ctx, "--", "true"), nil },
		check: func(s sample) error {
			if len(s.Stderr) > 0 {
				return errors.New(firstLine(string(s.Stderr)))
			}
			out, err := command(env, kubeiam, "shell", ctx, "--", "printenv", "KUBEIAM_CONTEXT").Output()
			if err != nil || strings.TrimSpace(string(out)) != ctx {
				return fmt.Errorf("the command did not run in %s: %q %v", ctx, out, err)
			}
			return nil
		}}, nil
}

// agentSubject is the keyring hit where keyctl is refused (containers): the
// data key comes from the kubeiam agent over its socket. Its own cache and
// runtime directory (so its own agent); the agent is dropped when the
// keyring session closes. Nil, with the reason, where the filter cannot be
// set.
func agentSubject(e *env, kr *keyringSession, kubeiam string, roleToken []string, sts string, v *verifier) (*subject, string, error) {
	denied, err := startDeniedThread()
	if err != nil {
		return nil, err.Error(), nil
	}
	cache, err := e.freshDir("cache-agent")
	if err != nil {
		return nil, "", err
	}
	run, err := e.freshDir("agent-run")
	if err != nil {
		return nil, "", err
	}
	env := e.with(append(kr.env(), "KUBEIAM_CACHE=keyring", "XDG_CACHE_HOME="+cache, "XDG_RUNTIME_DIR="+run, sts)...)
	kr.atClose = append(kr.atClose, func() { _ = command(env, kubeiam, "cache", "clear", "--all").Run() })
	return &subject{Key: kCachedAgent, Label: "kubeiam token -r ROLE, cached (Secret Service, keyctl refused: data key from the kubeiam agent)",
		cmd:   func() (*exec.Cmd, error) { return command(env, kubeiam, roleToken...), nil },
		run:   denied.time,
		check: checkHitRun(denied.time, v, kubeiam, env, roleToken, roleSessionARN(), "keyring backend, data key held for the session")}, "", nil
}
