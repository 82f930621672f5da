// Package fsafe is kubeiam's one home for handling files others could tamper
// with or that a crash could tear: every package that reads a private file,
// writes a file another program reads, or takes a cross-process lock goes
// through it. It uses the standard library, syscall and golang.org/x/sys
// (Windows only) so the front binary can link it at no init cost.
//
//   - OpenFile / ReadFile open without following a symbolic link at the path
//     and without blocking on a FIFO, then check the open descriptor (so the
//     file cannot be swapped between check and use): a regular file, and on
//     request one owned by the user and private to them. Refusals are an
//     *UntrustedError wrapping ErrSymlink, ErrNotRegular, ErrNotOwned or
//     ErrNotPrivate, so a caller can tell a file someone put there from an
//     I/O error.
//   - WriteFile / Write (and Stage + Commit, for a writer that prepares the
//     file before it takes a lock and renames under it) replace a file
//     through a temporary file beside it that has its mode before its first
//     byte, is fsynced, renamed over the target, after which the directory
//     is fsynced: a reader, a crash or a power cut sees the old file or the
//     new, never a mix, and a failure leaves the old file and no temporary.
//   - Lock / TryLock / Wait take flock(2) (LockFileEx on Windows) locks,
//     exclusive or shared, with a context for the wait.
//
// Why not github.com/gofrs/flock for the locks: it opens the lock file
// itself, by name and following links, and keeps the descriptor private, so
// it can neither lock a descriptor fsafe opened and checked, nor the one the
// front hands to kubeiam-core across exec (internal/handover), nor a
// directory (kubeconfig's stale-lock mutex); and its context wait polls,
// where Wait blocks in the kernel (see Wait for why). What it would add over
// the two system calls below is that open, so it does not fit here.
package fsafe
