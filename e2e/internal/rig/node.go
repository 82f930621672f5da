package rig

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"
)

// The node's fixed names. The kubelet, containerd's shims and the pods'
// hostPath files live outside the rig directory in a few places (the
// authenticator's host directory, /var/log/pods), which the rig lock covers.
const (
	NodeName = "kubeiam-e2e-node"
	// PauseImage is the sandbox image containerd is told to use; the rig
	// builds it locally from e2e/tools/pause.
	PauseImage = "registry.k8s.io/pause:3.10"
	// InitDir is where `kubeiam server init` writes: the authenticator
	// DaemonSet's hostPath directory (installer.HostDir).
	InitDir = "/var/lib/kubeadm/aws-iam-authenticator"
	// serviceIP is the apiserver's ClusterIP (first of the service range);
	// the pod's in-cluster client dials it, and with no kube-proxy the rig
	// forwards it with one iptables rule.
	serviceIP = "10.0.0.1"
	// serverUID is the distroless nonroot user the rendered DaemonSet runs
	// the server as (installer.ServerUID).
	serverUID = 65532
	// rigMarker marks InitDir as the rig's own.
	rigMarker = ".kubeiam-e2e"
)

// node is the running node: containerd, kube-controller-manager,
// kube-scheduler and the kubelet.
type node struct {
	ip      string
	dir     string
	sock    string
	procs   []*proc
	dnat    []string
	podLogs map[string]bool // /var/log/pods entries there before the node
}

// nodeIP returns the machine's first non-loopback IPv4 address: the kubelet
// refuses a loopback node IP.
func nodeIP() (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("could not list network interfaces: %w", err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String(), nil
			}
		}
	}
	return "", errors.New("could not find a non-loopback IPv4 address for the node")
}

// nodeUnavailable says why this machine cannot run the node ("" when it
// can): the node's binaries, root, the container runtime and CNI plugins
// are needed.
func (r *Rig) nodeUnavailable() string {
	if r.Bins.NodeError != "" {
		return r.Bins.NodeError
	}
	if r.Bins.Kubelet == "" {
		return "the node's binaries were not built"
	}
	if os.Geteuid() != 0 {
		return "the node needs root (containerd, kubelet)"
	}
	for _, c := range []string{"containerd", "runc", "ctr", "iptables", "ldd"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Sprintf("%s is not installed (Debian: apt-get install containerd runc iptables)", c)
		}
	}
	if _, err := os.Stat(filepath.Join(cniBinDir, "bridge")); err != nil {
		return "the CNI plugins are not installed (Debian: apt-get install containernetworking-plugins)"
	}
	return ""
}

// cniBinDir is where Debian's containernetworking-plugins puts them.
const cniBinDir = "/usr/lib/cni"

// initServer runs `kubeiam server init` into InitDir, as an EKS Anywhere
// control-plane host has it, and returns the kube-apiserver flags it asks
// for, with the kubeadm patch's container paths mapped back to the host
// paths they mount (the rig's apiserver runs on the host, not as a static
// pod).
func (r *Rig) initServer(ctx context.Context) ([]string, error) {
	// A directory there that the rig did not make may be a real control
	// plane's: never overwrite it.
	if _, err := os.Stat(InitDir); err == nil {
		if _, err := os.Stat(filepath.Join(InitDir, rigMarker)); err != nil {
			return nil, fmt.Errorf("could not use %s: it exists and an e2e rig did not make it (remove it by hand if it is a leftover)", InitDir)
		}
	}
	if err := os.RemoveAll(InitDir); err != nil {
		return nil, fmt.Errorf("could not clear %s: %w", InitDir, err)
	}
	if err := os.MkdirAll(InitDir, 0o755); err != nil {
		return nil, fmt.Errorf("could not create %s: %w", InitDir, err)
	}
	if err := os.WriteFile(filepath.Join(InitDir, rigMarker), nil, 0o644); err != nil {
		return nil, fmt.Errorf("could not mark %s: %w", InitDir, err)
	}
	out, err := exec.CommandContext(ctx, r.Bins.Kubeiam, "server", "init", "--cluster-id", r.ClusterID, "--out", InitDir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("kubeiam server init: %w\n%s", err, out)
	}
	r.logf("kubeiam server init --cluster-id %s --out %s", r.ClusterID, InitDir)
	var printed []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		r.logf("  %s", l)
		if f, ok := strings.CutPrefix(l, "kube-apiserver: "); ok {
			printed = append(printed, strings.Fields(f)...)
		}
	}
	// The server runs as the distroless nonroot user; key.pem is 0600, so
	// the hint init prints is followed as a user would.
	if err := chownR(filepath.Join(InitDir, "pki"), serverUID); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(InitDir, "kubeadm-patch.yaml"))
	if err != nil {
		return nil, fmt.Errorf("could not read the kubeadm patch: %w", err)
	}
	var patch struct {
		APIServer struct {
			ExtraArgs    map[string]string `json:"extraArgs"`
			ExtraVolumes []struct {
				HostPath  string `json:"hostPath"`
				MountPath string `json:"mountPath"`
			} `json:"extraVolumes"`
		} `json:"apiServer"`
	}
	if err := yaml.Unmarshal(b, &patch); err != nil {
		return nil, fmt.Errorf("could not parse the kubeadm patch: %w", err)
	}
	var flags []string
	for k, v := range patch.APIServer.ExtraArgs {
		for _, vol := range patch.APIServer.ExtraVolumes {
			if rest, ok := strings.CutPrefix(v, vol.MountPath); ok {
				v = filepath.Join(vol.HostPath, rest)
				break
			}
		}
		flags = append(flags, "--"+k+"="+v)
	}
	sort.Strings(flags)
	// What init prints and what the patch carries must agree, or a user
	// following either would wire the apiserver differently.
	for _, p := range printed {
		name, _, _ := strings.Cut(p, "=")
		if _, ok := patch.APIServer.ExtraArgs[strings.TrimPrefix(name, "--")]; !ok {
			return nil, fmt.Errorf("server init printed %s, which its kubeadm patch does not carry", p)
		}
	}
	if len(flags) == 0 {
		return nil, errors.New("the kubeadm patch from server init has no apiserver flags")
	}
	return flags, nil
}

func chownR(dir string, uid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, uid, uid); err != nil {
			return fmt.Errorf("could not chown %s: %w", p, err)
		}
		return nil
	})
}

// nodeAPIServerFlags are what the apiserver needs for a node: the Node
// authorizer for the kubelet's credentials and a client certificate for
// logs and exec, reaching the kubelet by its InternalIP.
func (r *Rig) nodeAPIServerFlags() ([]string, error) {
	pk := filepath.Join(r.Dir, "pki")
	crt, key, err := r.ca.issue("kube-apiserver-kubelet-client", []string{"system:masters"}, nil)
	if err != nil {
		return nil, err
	}
	if err := writeKeyPair(filepath.Join(pk, "apiserver-kubelet-client.crt"), filepath.Join(pk, "apiserver-kubelet-client.key"), crt, key); err != nil {
		return nil, err
	}
	return []string{
		"--kubelet-client-certificate=" + filepath.Join(pk, "apiserver-kubelet-client.crt"),
		"--kubelet-client-key=" + filepath.Join(pk, "apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority=" + r.CAFile,
		"--kubelet-preferred-address-types=InternalIP",
		"--enable-admission-plugins=NodeRestriction",
	}, nil
}

// startNode brings up containerd (with the pause and authenticator images
// imported), kube-controller-manager, kube-scheduler and the kubelet, and
// waits for the node to be Ready and labelled as a control-plane node.
func (r *Rig) startNode(ctx context.Context, images []string, apiPort int) error {
	if len(images) == 0 {
		return errors.New("no authenticator image references to import (Options.Images)")
	}
	ip, err := nodeIP()
	if err != nil {
		return err
	}
	n := &node{ip: ip, dir: filepath.Join(r.Dir, "node")}
	r.node = n
	n.sock = filepath.Join(n.dir, "containerd.sock")
	r.nodeSock = n.sock
	for _, d := range []string{"containerd", "cni", "kubelet"} {
		if err := os.MkdirAll(filepath.Join(n.dir, d), 0o755); err != nil {
			return fmt.Errorf("could not create node directory: %w", err)
		}
	}
	// The rig directory is 0700 by MkdirTemp; the pod's user walks the
	// kubelet's volume paths under it.
	if err := os.Chmod(r.Dir, 0o755); err != nil {
		return fmt.Errorf("could not open up the rig directory: %w", err)
	}
	n.podLogs = map[string]bool{}
	if es, err := os.ReadDir("/var/log/pods"); err == nil {
		for _, e := range es {
			n.podLogs[e.Name()] = true
		}
	}

	// The pod's in-cluster client dials the kubernetes Service's ClusterIP;
	// there is no kube-proxy, so one rule forwards it to the apiserver.
	n.dnat = []string{"OUTPUT", "-t", "nat", "-d", serviceIP + "/32", "-p", "tcp", "--dport", "443", "-m", "comment", "--comment", "kubeiam-e2e " + r.Dir,
		"-j", "DNAT", "--to-destination", "127.0.0.1:" + strconv.Itoa(apiPort)}
	if out, err := exec.CommandContext(ctx, "iptables", append([]string{"-A"}, n.dnat...)...).CombinedOutput(); err != nil {
		n.dnat = nil
		return fmt.Errorf("could not add the ClusterIP forward: %w: %s", err, out)
	}

	if err := r.startContainerd(ctx); err != nil {
		return err
	}
	if err := r.importImage(ctx, "pause", image{tags: []string{PauseImage}, entrypoint: []string{"/pause"},
		files: mustFiles(binaryFiles(r.Bins.Pause, "pause"))}); err != nil {
		return err
	}
	files, err := binaryFiles(r.Bins.Authenticator, "aws-iam-authenticator")
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(r.STSCABundle)
	if err != nil {
		return fmt.Errorf("could not read the STS CA bundle: %w", err)
	}
	// The rig's network, baked into the image rather than the pod spec,
	// which stays exactly as kubeiam renders it: STS through the stand-in's
	// proxy (hostNetwork reaches it on 127.0.0.1), everything else direct.
	files = append(files, imageFile{path: "etc/ssl/certs/ca-certificates.crt", data: ca, mode: 0o644})
	env := []string{"HTTPS_PROXY=" + r.Proxy.URL.String(), "NO_PROXY=127.0.0.1,localhost," + serviceIP,
		"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "PATH=/"}
	if err := r.importImage(ctx, "aws-iam-authenticator", image{tags: images, entrypoint: []string{"/aws-iam-authenticator"}, env: env, files: files}); err != nil {
		return err
	}
	r.logf("images imported into containerd: %s, %s", PauseImage, strings.Join(images, ", "))

	if err := r.startControllers(ctx); err != nil {
		return err
	}
	if err := r.startKubelet(ctx); err != nil {
		return err
	}
	return nil
}

func mustFiles(f []imageFile, err error) []imageFile {
	if err != nil {
		panic(err)
	}
	return f
}

func (r *Rig) startContainerd(ctx context.Context) error {
	n := r.node
	cfg := filepath.Join(n.dir, "containerd.toml")
	// restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE, and without
	// it every sandbox fails with "can't get final child's PID from pipe".
	toml := `version = 2
root = "` + filepath.Join(n.dir, "containerd", "root") + `"
state = "` + filepath.Join(n.dir, "containerd", "state") + `"
[grpc]
  address = "` + n.sock + `"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "` + PauseImage + `"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "` + cniBinDir + `"
    conf_dir = "` + filepath.Join(n.dir, "cni") + `"
`
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		return fmt.Errorf("could not write containerd config: %w", err)
	}
	// A bridge network: the node stays NotReady (and tainted, so the
	// DaemonSet has no node) until a CNI config exists, even though the
	// authenticator pod uses the host network.
	conflist := `{"cniVersion":"1.0.0","name":"kubeiam-e2e","plugins":[{"type":"bridge","bridge":"kubeiam-e2e0","isGateway":true,"ipMasq":false,
"ipam":{"type":"host-local","ranges":[[{"subnet":"10.88.0.0/16"}]]}},{"type":"portmap","capabilities":{"portMappings":true}}]}`
	if err := os.WriteFile(filepath.Join(n.dir, "cni", "10-kubeiam-e2e.conflist"), []byte(conflist), 0o644); err != nil {
		return fmt.Errorf("could not write CNI config: %w", err)
	}
	p, err := r.spawnNode("containerd", nil, "containerd", "--config", cfg, "--log-level", "warn")
	if err != nil {
		return err
	}
	return waitFor(ctx, p, 30*time.Second, func() error {
		out, err := exec.CommandContext(ctx, "ctr", "--address", n.sock, "version").CombinedOutput()
		if err != nil {
			return fmt.Errorf("ctr version: %v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	})
}

// spawnNode starts a node component and records it for the node's
// teardown.
func (r *Rig) spawnNode(name string, env []string, bin string, args ...string) (*proc, error) {
	p, err := r.spawn(name, false, env, bin, args...)
	if err != nil {
		return nil, err
	}
	r.node.procs = append(r.node.procs, p)
	return p, nil
}

func (r *Rig) startControllers(ctx context.Context) error {
	pk := filepath.Join(r.Dir, "pki")
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	kcmPort, err := freePort()
	if err != nil {
		return err
	}
	// kube-controller-manager makes the DaemonSet's pod and publishes
	// kube-root-ca.crt, which every pod's service account volume needs.
	kcm, err := r.spawnNode("kube-controller-manager", noProxy, r.Bins.KubeControllerManager,
		"--kubeconfig="+r.AdminKubeconfig,
		"--authentication-kubeconfig="+r.AdminKubeconfig, "--authorization-kubeconfig="+r.AdminKubeconfig,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(kcmPort),
		"--leader-elect=false",
		"--root-ca-file="+r.CAFile,
		"--service-account-private-key-file="+filepath.Join(pk, "sa.key"),
		"--use-service-account-credentials=false",
		"--cluster-name=kubeiam-e2e",
		"--v=1")
	if err != nil {
		return err
	}
	schedPort, err := freePort()
	if err != nil {
		return err
	}
	sched, err := r.spawnNode("kube-scheduler", noProxy, r.Bins.KubeScheduler,
		"--kubeconfig="+r.AdminKubeconfig,
		"--authentication-kubeconfig="+r.AdminKubeconfig, "--authorization-kubeconfig="+r.AdminKubeconfig,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(schedPort),
		"--leader-elect=false", "--v=1")
	if err != nil {
		return err
	}
	if err := waitFor(ctx, kcm, 60*time.Second, httpOK(insecure, "https://127.0.0.1:"+strconv.Itoa(kcmPort)+"/healthz")); err != nil {
		return err
	}
	return waitFor(ctx, sched, 60*time.Second, httpOK(insecure, "https://127.0.0.1:"+strconv.Itoa(schedPort)+"/healthz"))
}

var noProxy = []string{"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost"}

func (r *Rig) startKubelet(ctx context.Context) error {
	n := r.node
	pk := filepath.Join(r.Dir, "pki")
	// Serving certificate for logs/exec (the apiserver checks it against
	// the cluster CA) and a client certificate the Node authorizer knows.
	scrt, skey, err := r.ca.issue("kubelet", nil, []string{n.ip, NodeName, "127.0.0.1"})
	if err != nil {
		return err
	}
	if err := writeKeyPair(filepath.Join(pk, "kubelet.crt"), filepath.Join(pk, "kubelet.key"), scrt, skey); err != nil {
		return err
	}
	ccrt, ckey, err := r.ca.issue("system:node:"+NodeName, []string{"system:nodes"}, nil)
	if err != nil {
		return err
	}
	kc := filepath.Join(n.dir, "kubelet.kubeconfig")
	if err := os.WriteFile(kc, []byte(kubeconfigYAML(r.APIServerURL, r.ca.certPEM, "system:node:"+NodeName, userFields{certPEM: ccrt, keyPEM: ckey})), 0o600); err != nil {
		return fmt.Errorf("could not write kubelet kubeconfig: %w", err)
	}
	// cgroupfs on this machine's cgroup v1; no swap check; eviction
	// thresholds low, so a busy shared disk does not taint the node.
	cfg := `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://` + n.sock + `
failSwapOn: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ` + strconv.Quote(r.CAFile) + `}
authorization: {mode: Webhook}
tlsCertFile: ` + strconv.Quote(filepath.Join(pk, "kubelet.crt")) + `
tlsPrivateKeyFile: ` + strconv.Quote(filepath.Join(pk, "kubelet.key")) + `
address: ` + n.ip + `
healthzBindAddress: 127.0.0.1
healthzPort: 0
resolvConf: /etc/resolv.conf
evictionHard: {"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
`
	cfgPath := filepath.Join(n.dir, "kubelet.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("could not write kubelet config: %w", err)
	}
	p, err := r.spawnNode("kubelet", noProxy, r.Bins.Kubelet,
		"--config="+cfgPath,
		"--kubeconfig="+kc,
		"--root-dir="+filepath.Join(n.dir, "kubelet"),
		"--hostname-override="+NodeName,
		"--node-ip="+n.ip,
		"--v=1")
	if err != nil {
		return err
	}
	start := time.Now()
	if err := waitFor(ctx, p, 120*time.Second, func() error {
		res := r.Kubectl(ctx, r.AdminKubeconfig, nil, "", "get", "node", NodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].message}`)
		if res.Err != nil {
			return fmt.Errorf("%v: %s", res.Err, strings.TrimSpace(res.Stderr))
		}
		if !strings.HasPrefix(res.Stdout, "True") {
			return fmt.Errorf("node %s not Ready: %s", NodeName, res.Stdout)
		}
		return nil
	}); err != nil {
		return err
	}
	// node-role labels are not the kubelet's to set on itself; the
	// rendered DaemonSet selects control-plane nodes.
	if res := r.Kubectl(ctx, r.AdminKubeconfig, nil, "", "label", "node", NodeName, "node-role.kubernetes.io/control-plane="); res.Err != nil {
		return fmt.Errorf("could not label the node: %v: %s", res.Err, res.Stderr)
	}
	r.Node = NodeName
	r.logf("node %s (%s) Ready in %s: containerd, kubelet (cgroupfs), kube-scheduler, kube-controller-manager", NodeName, n.ip, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// stopNode takes the node down so nothing outlives the rig: pods first
// (while the kubelet can still stop them), then the kubelet and
// controllers, then containerd's tasks, containerd and its shims, then the
// mounts, the forward rule and the host files.
func (r *Rig) stopNode() {
	n := r.node
	if n == nil {
		return
	}
	r.node = nil
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if r.Node != "" {
		r.Kubectl(ctx, r.AdminKubeconfig, nil, "", "delete", "daemonsets", "--all", "--all-namespaces", "--wait=false")
		r.Kubectl(ctx, r.AdminKubeconfig, nil, "", "delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--timeout=30s")
	}
	for i := len(n.procs) - 1; i >= 0; i-- {
		if n.procs[i].name != "containerd" {
			n.procs[i].stop()
		}
	}
	ctrCmd := func(args ...string) string {
		out, _ := exec.CommandContext(ctx, "ctr", append([]string{"--address", n.sock, "-n", "k8s.io"}, args...)...).CombinedOutput()
		return string(out)
	}
	for _, p := range n.procs {
		if p.name == "containerd" && !p.exited() {
			for _, id := range strings.Fields(ctrCmd("tasks", "ls", "-q")) {
				ctrCmd("tasks", "kill", "-s", "SIGKILL", id)
			}
			deadline := time.Now().Add(10 * time.Second)
			for strings.TrimSpace(ctrCmd("tasks", "ls", "-q")) != "" && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
			}
			for _, id := range strings.Fields(ctrCmd("tasks", "ls", "-q")) {
				ctrCmd("tasks", "delete", "--force", id)
			}
			for _, id := range strings.Fields(ctrCmd("containers", "ls", "-q")) {
				ctrCmd("containers", "rm", id)
			}
			p.stop()
		}
	}
	for _, pid := range shims(n.sock) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	unmountUnder(r.Dir)
	if n.dnat != nil {
		_ = exec.Command("iptables", append([]string{"-D"}, n.dnat...)...).Run()
	}
	if es, err := os.ReadDir("/var/log/pods"); err == nil {
		for _, e := range es {
			if !n.podLogs[e.Name()] {
				keepPodLogs(filepath.Join("/var/log/pods", e.Name()), filepath.Join(r.Dir, "logs"))
				os.RemoveAll(filepath.Join("/var/log/pods", e.Name()))
			}
		}
	}
	if es, err := os.ReadDir("/var/log/containers"); err == nil {
		for _, e := range es {
			if _, err := os.Stat(filepath.Join("/var/log/containers", e.Name())); err != nil {
				os.Remove(filepath.Join("/var/log/containers", e.Name())) // dangling now
			}
		}
	}
	_ = exec.Command("ip", "link", "delete", "kubeiam-e2e0").Run()
	os.RemoveAll(InitDir)
}

// keepPodLogs copies a pod's container logs (NAMESPACE_POD_UID/CONTAINER/N.log)
// into the rig's log directory as pod-POD-CONTAINER-N.log, so they outlive
// the teardown that clears /var/log/pods.
func keepPodLogs(podDir, logs string) {
	pod := filepath.Base(podDir)
	if parts := strings.Split(pod, "_"); len(parts) == 3 {
		pod = parts[1]
	}
	files, _ := filepath.Glob(filepath.Join(podDir, "*", "*.log"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		name := "pod-" + pod + "-" + filepath.Base(filepath.Dir(f)) + "-" + filepath.Base(f)
		_ = os.WriteFile(filepath.Join(logs, name), b, 0o644)
	}
}

// shims lists the containerd shims serving this rig's containerd: they
// are started in sessions of their own and outlive it.
func shims(sock string) []int {
	var pids []int
	es, _ := os.ReadDir("/proc")
	for _, e := range es {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if strings.Contains(args[0], "containerd-shim") && strings.Contains(string(b), sock) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// unmountUnder detaches every mount below dir (the kubelet's volume tmpfs,
// containerd's rootfs overlays and sandbox shm), deepest first.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	for _, m := range mounts {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
}

// nodeLeftovers lists what of the node outlived Stop: shims of this rig's
// containerd and mounts under its directory.
func (r *Rig) nodeLeftovers() []string {
	var out []string
	if r.nodeSock == "" {
		return nil
	}
	for _, pid := range shims(r.nodeSock) {
		out = append(out, fmt.Sprintf("containerd-shim (pid %d)", pid))
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], r.Dir+"/") {
			out = append(out, "mount "+f[4])
		}
	}
	return out
}

// cleanStale removes what a rig killed without its teardown (SIGKILL, a
// crash) left of its node: containerd and its shims keep running and the
// ClusterIP rule stays. Only this rig's kind of processes are touched, by
// PID, and only while the rig lock is held, so no live rig owns them.
func cleanStale(logf func(string, ...any)) {
	es, _ := os.ReadDir("/proc")
	for _, e := range es {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmd := string(b)
		if strings.Contains(cmd, "/kubeiam-e2e-") && strings.Contains(cmd, "/node/containerd.") && strings.Contains(strings.SplitN(cmd, "\x00", 2)[0], "containerd") {
			logf("stopping pid %d left by an earlier rig: %s", pid, strings.ReplaceAll(cmd, "\x00", " "))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	out, err := exec.Command("iptables", "-t", "nat", "-S", "OUTPUT").Output()
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "-A OUTPUT ") && strings.Contains(l, "kubeiam-e2e") {
			args := append([]string{"-t", "nat", "-D"}, splitRule(strings.TrimPrefix(l, "-A "))...)
			if exec.Command("iptables", args...).Run() == nil {
				logf("removed an iptables rule left by an earlier rig: %s", l)
			}
		}
	}
}

// splitRule splits an `iptables -S` line, keeping quoted comments whole.
func splitRule(l string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range l {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
