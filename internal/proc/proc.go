// Package proc answers the questions kubeiam asks about other processes and
// files — is this pid running, is it still the process that started then,
// is this file mine — with the standard library and syscalls only, so the
// front binary can link it.
package proc
