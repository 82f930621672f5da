package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// byteScenario is a kubeconfig and the kubeconfig-writing commands run on
// it in order. Both sides run it in the same directory (cleared in
// between), so paths in the output are the same; after every step the
// files in the directory and the step's stdout (dry-run diffs are
// kubeconfig output too) are compared byte for byte.
type byteScenario struct {
	name  string
	files map[string][]byte
	steps [][]string
}

// adoptInput is kubeconfig_adopt.txtar's kubeconfig: entries written by
// aws-iam-authenticator and by `aws eks update-kubeconfig`, one adopt cannot
// convert, and one that is not an exec user at all.
const adoptInput = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://a:6443"}
- name: b
  cluster: {server: "https://b:6443"}
users:
- name: a-aws
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: /usr/local/bin/aws-iam-authenticator
      args: [token, -i, cid-a, -r, "arn:aws:iam::111122223333:role/ops"]
      env: [{name: AWS_PROFILE, value: ops}]
- name: b-eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, eu-west-1, eks, get-token, --cluster-name, b, --output, json, --role, "arn:aws:iam::111122223333:role/viewer"]
- name: weird
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws-iam-authenticator
      args: [token, -i, c, --some-new-flag]
- name: cert
  user: {token: abc}
contexts:
- name: a-aws
  context: {cluster: a, user: a-aws}
- name: b
  context: {cluster: b, user: b-eks}
- name: weird
  context: {cluster: a, user: weird}
- name: plain
  context: {cluster: a, user: cert}
current-context: plain
# a comment kubectl would drop
`

func byteScenarios(caPEM []byte) []byteScenario {
	write := func(cluster, server, id string, extra ...string) []string {
		return append([]string{"kubeconfig", "write", "--cluster", cluster, "--server", server, "--certificate-authority", "ca.pem", "--cluster-id", id}, extra...)
	}
	return []byteScenario{
		{name: "write, profile, use, remove on 20 contexts",
			files: map[string][]byte{"config": generateKubeconfig(20), "ca.pem": caPEM},
			steps: [][]string{
				write("prod", "https://10.10.0.10:6443", "prod-id", "--merge", "--dry-run"),
				write("prod", "https://10.10.0.10:6443", "prod-id", "--merge"),
				write("prod", "https://10.10.0.11:6443", "prod-id", "--merge", "--set-current-context"),
				write("dev", "https://10.20.0.10:6443", "dev-id", "--exec-command", "aws-iam-authenticator", "--exec-api-version", "v1", "--profile", "dev", "-o", "dev.kubeconfig"),
				write("ops", "https://10.30.0.10:6443", "ops-id", "--role-arn", "arn:aws:iam::111122223333:role/ops", "--merge"),
				{"profile", "set", "c00003-aws", "--profile", "prod", "--role-arn", "arn:aws:iam::111122223333:role/admin"},
				{"profile", "set", "c00003-aws", "--profile", "other"},
				{"profile", "unset", "c00003-aws"},
				{"use", "c00005-aws"},
				{"use", "-"},
				{"kubeconfig", "remove", "--cluster", "prod", "--dry-run"},
				{"kubeconfig", "remove", "--cluster", "prod"},
			}},
		{name: "adopt",
			files: map[string][]byte{"config": []byte(adoptInput)},
			steps: [][]string{
				{"kubeconfig", "adopt", "--all", "--dry-run"},
				{"kubeconfig", "adopt", "--all"},
				{"use", "b"},
			}},
		{name: "merge into 1,000 contexts",
			files: map[string][]byte{"config": generateKubeconfig(1000), "ca.pem": caPEM},
			steps: [][]string{
				write("bench-new", "https://10.255.0.1:6443", "bench-new", "--merge"),
				write("c00500", "https://10.255.0.2:6443", "c00500", "--merge"),
			}},
	}
}

// stepOutput is what one step left: its exit code, stdout, and every file.
type stepOutput struct {
	exit   int
	stdout []byte
	files  map[string][]byte
}

// compareBytes runs every scenario with both sides and returns one line
// (with the first differing lines) per file or stdout that differs, and
// how many were compared.
func compareBytes(e *env, r *rig, base, head compareSide) ([]string, int, error) {
	var diffs []string
	compared := 0
	for _, sc := range byteScenarios(r.caPEM) {
		dir, err := e.freshDir("bytes")
		if err != nil {
			return nil, 0, err
		}
		outs := map[string][]stepOutput{}
		for _, side := range []compareSide{base, head} {
			if outs[side.name], err = runScenario(e, dir, sc, side); err != nil {
				return nil, 0, err
			}
		}
		for i, step := range sc.steps {
			b, h := outs["base"][i], outs["head"][i]
			where := fmt.Sprintf("%s, step %d (kubeiam %s)", sc.name, i+1, strings.Join(step, " "))
			if b.exit != h.exit {
				diffs = append(diffs, fmt.Sprintf("%s: exit %d (base), %d (head)", where, b.exit, h.exit))
			}
			compared++
			if d := firstDiff(unkeyed(b.stdout), unkeyed(h.stdout)); d != "" {
				diffs = append(diffs, fmt.Sprintf("%s, stdout:\n%s", where, d))
			}
			names := slices.Sorted(func(yield func(string) bool) {
				seen := map[string]bool{}
				for _, m := range []map[string][]byte{b.files, h.files} {
					for n := range m {
						if !seen[n] {
							seen[n] = true
							if !yield(n) {
								return
							}
						}
					}
				}
			})
			for _, n := range names {
				compared++
				bf, bok := b.files[n]
				hf, hok := h.files[n]
				switch {
				case !bok:
					diffs = append(diffs, fmt.Sprintf("%s: %s only in head", where, n))
				case !hok:
					diffs = append(diffs, fmt.Sprintf("%s: %s only in base", where, n))
				default:
					if d := firstDiff(bf, hf); d != "" {
						diffs = append(diffs, fmt.Sprintf("%s, %s:\n%s", where, n, d))
					}
				}
			}
		}
	}
	return diffs, compared, nil
}

// runScenario runs sc's steps with side in dir, emptied first, and
// returns what each step left.
func runScenario(e *env, dir string, sc byteScenario, side compareSide) ([]stepOutput, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for n, b := range sc.files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			return nil, err
		}
	}
	// State (use -'s previous context) and cache under dot directories,
	// which are not compared: they belong to the user, not the kubeconfig.
	env := e.with("KUBECONFIG=config", "HOME="+filepath.Join(dir, ".home"), "XDG_STATE_HOME="+filepath.Join(dir, ".state"),
		"XDG_CACHE_HOME="+filepath.Join(dir, ".cache"))
	var outs []stepOutput
	for _, step := range sc.steps {
		cmd := command(env, side.kubeiam(), step...)
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		o := stepOutput{stdout: stdout.Bytes(), files: map[string][]byte{}}
		if err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				return nil, fmt.Errorf("%s: %v", side.name, err)
			}
			o.exit = ee.ExitCode()
			// Every step is meant to succeed on the base: one that fails
			// there is a mistake in the scenario, and would compare two
			// unchanged files.
			if side.name == "base" {
				return nil, fmt.Errorf("%s, base: kubeiam %s: exit %d: %s", sc.name, strings.Join(step, " "), o.exit, firstLine(stderr.String()))
			}
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, ent := range ents {
			if strings.HasPrefix(ent.Name(), ".") || ent.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, ent.Name()))
			if err != nil {
				return nil, err
			}
			o.files[ent.Name()] = b
		}
		outs = append(outs, o)
	}
	return outs, nil
}

// redactTag is the keyed hash dry-run diffs append to a secret they hide
// (kubeconfig/redact.go): its key is random per process, so it differs
// between any two runs, of the same binary too.
var redactTag = regexp.MustCompile(`\b(DATA\+OMITTED|REDACTED)-[0-9a-f]{8}\b`)

// unkeyed is stdout with each redaction tag's hash replaced by the order in
// which its value first appeared: equal secrets still show as equal, and
// different ones as different, as the tags do within one run.
func unkeyed(b []byte) []byte {
	seen := map[string]int{}
	return redactTag.ReplaceAllFunc(b, func(m []byte) []byte {
		n, ok := seen[string(m)]
		if !ok {
			n = len(seen) + 1
			seen[string(m)] = n
		}
		kind, _, _ := bytes.Cut(m, []byte("-"))
		return fmt.Appendf(nil, "%s-#%d", kind, n)
	})
}

// firstDiff is "" for equal inputs, else the first differing line of each
// (numbered) and the sizes.
func firstDiff(a, b []byte) string {
	if bytes.Equal(a, b) {
		return ""
	}
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	i := 0
	for i < len(al) && i < len(bl) && al[i] == bl[i] {
		i++
	}
	line := func(ls []string) string {
		if i < len(ls) {
			return fmt.Sprintf("%q", ls[i])
		}
		return "(end of file)"
	}
	return fmt.Sprintf("  line %d, base: %s\n  line %d, head: %s\n  (%d bytes base, %d bytes head)", i+1, line(al), i+1, line(bl), len(a), len(b))
}
