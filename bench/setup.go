package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// moduleRoot is the directory of the main module's go.mod, so the harness
// works from the repository root (`go run ./bench`) and from bench/ (tests).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("could not find the module root: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("could not find the module root: not inside a module")
	}
	return filepath.Dir(mod), nil
}

// defaultAuthenticator is where `make tools` caches aws-iam-authenticator.
func defaultAuthenticator() string {
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache")
	}
	return filepath.Join(dir, "kubeiam", "e2e", "bin", "aws-iam-authenticator-v0.7.2", "aws-iam-authenticator")
}

// findAWS resolves the aws CLI to the real script: a pyenv shim is a bash
// script running `pyenv exec`, which would add its own start-up to every
// call and measure pyenv rather than the CLI.
func findAWS() string {
	p, err := exec.LookPath("aws")
	if err != nil {
		return ""
	}
	if strings.Contains(p, "/.pyenv/shims/") {
		if out, err := exec.Command("pyenv", "which", "aws").Output(); err == nil {
			return strings.TrimSpace(string(out))
		}
	}
	return p
}

// floorSource is the floor: the least a Go exec plugin can cost, a static
// binary that encodes and prints a small JSON document (the shape of an
// ExecCredential) and exits.
const floorSource = `package main

import (
	"encoding/json"
	"os"
)

type status struct {
	Token               string ` + "`json:\"token\"`" + `
	ExpirationTimestamp string ` + "`json:\"expirationTimestamp\"`" + `
}

func main() {
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{
		"kind":       "ExecCredential",
		"apiVersion": "client.authentication.k8s.io/v1beta1",
		"spec":       map[string]any{},
		"status":     status{Token: "k8s-aws-v1.floor", ExpirationTimestamp: "2030-01-01T00:00:00Z"},
	})
}
`

// buildFloor builds the floor from source in its own module, with the flags
// `make build` uses for kubeiam, so both pay the same runtime start-up.
func buildFloor(dir string) (string, error) {
	src := filepath.Join(dir, "floor-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module floor\n\ngo 1.26\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(floorSource), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "floor")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("could not build the floor: %v\n%s", err, out)
	}
	return bin, nil
}

// buildProbe builds bench/keyringprobe, one keyring read per process.
func buildProbe(root, dir string) (string, error) {
	bin := filepath.Join(dir, "keyringprobe")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./bench/keyringprobe")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("could not build the keyring probe: %v\n%s", err, out)
	}
	return bin, nil
}

// Machine describes where the numbers were taken.
type Machine struct {
	CPU      string    `json:"cpu"`
	Cores    int       `json:"cores"`
	Nproc    string    `json:"nproc"`
	Go       string    `json:"go"`
	Kernel   string    `json:"kernel"`
	Date     time.Time `json:"date"`
	LoadFrom string    `json:"load_start"`
	LoadTo   string    `json:"load_end"`
}

func (m Machine) String() string {
	return fmt.Sprintf("%s, %s online CPUs (nproc), %s, %s; load average %s at start, %s at end; %s",
		m.CPU, m.Nproc, m.Go, m.Kernel, m.LoadFrom, m.LoadTo, m.Date.UTC().Format("2006-01-02 15:04 MST"))
}

func machine() Machine {
	m := Machine{CPU: "unknown CPU", Cores: runtime.NumCPU(), Date: time.Now(), LoadFrom: loadAvg()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	m.Nproc = strings.TrimSpace(output("nproc"))
	m.Go = strings.TrimPrefix(strings.TrimSpace(output("go", "version")), "go version ")
	m.Kernel = strings.TrimSpace(output("uname", "-sr"))
	return m
}

func output(name string, args ...string) string {
	out, _ := exec.Command(name, args...).Output()
	return string(bytes.TrimSpace(out))
}

// loadAvg is the 1/5/15-minute load average, reported beside the numbers
// because it says how much they can be trusted.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
