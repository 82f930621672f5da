// Package proc answers the questions kubeiam asks about other processes and
// files — is this pid running, is it still the process that started then,
// is this file mine — and runs the command `kubeiam shell` starts in the
// foreground (Foreground), with the standard library and syscalls only
// (golang.org/x/sys/unix where no syscall says it, off Linux), so the front
// binary can link it.
package proc
