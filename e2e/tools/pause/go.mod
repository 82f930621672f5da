// Module pause is the rig's pod sandbox process: no image registry is
// reachable, so the sandbox image is built locally from this.
module github.com/kubeiam/kubeiam/e2e/tools/pause

go 1.24.0
