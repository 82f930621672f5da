// Package cache keeps the tokens and derived AWS credentials that `kubeiam
// token` makes, so a repeated kubectl call costs one process start plus one
// keyring read, and a herd of kubectl processes started at once costs one STS
// call between them.
//
// # Storage design
//
// Entries never go into the OS keyring themselves: a token carrying a session
// token is 1.3–2.7 KB and the keyrings cap an item at about 3 KB (macOS) or
// 2.5 KB (Windows), so an entry would fail exactly for the users who need the
// cache most (assumed roles, SSO). Instead the keyring holds one item, a random
// 32-byte data key (service "kubeiam", user "cache-data-key"), and each entry
// is a file in the cache directory whose secret part is sealed with
// AES-256-GCM under that key. The additional data binds the ciphertext to the
// entry ID and the data key ID, so an entry cannot be moved to another key's
// file, and after decryption the stored Key must equal the requested one. The
// non-secret part (the Key fields and expiry times) stays readable so `kubeiam
// cache list` and `clear` work without touching the keyring. One keyring read
// per process is all a cache hit costs — none while the data key is held for
// the session (sessionkey.go: the Linux kernel keyring, 1 h idle; where
// keyctl is refused and on macOS, the kubeiam agent, agent_unix.go) — and the
// size limit never applies.
//
// With the file backend (no keyring) the secrets are stored as plain JSON in
// files of mode 0600 in a 0700 directory, as kubelogin and
// gke-gcloud-auth-plugin do.
//
// # Backends and fallback
//
// Backend "auto" uses the keyring when it answers within the keyring timeout
// (2 s by default) and the file backend otherwise. Once this cache directory
// has used a keyring (remembered in its state file), a keyring that stops
// answering — locked, hanging, the session bus gone — means no caching rather
// than a silent switch to plain-text files: while a keyring exists, no token or
// credential is written to disk in plain text. Set the backend to "file"
// explicitly to opt into plain files. Backend "keyring" never falls back to
// plain files.
//
// Trouble is reported on Options.Warn at most once an hour for each cause (a
// locked keyring, a slow one, a full disk, each kind of untrusted file; the
// times live in the state file), so one warning never hides another, and not
// on every kubectl call. A backend chosen by name that cannot be used, and a
// cache directory that is refused, are reported on every call: the user asked
// for something that is not happening.
//
// On Linux and the BSDs the keyring is the Secret Service on the D-Bus session
// bus. Without a session bus address (DBUS_SESSION_BUS_ADDRESS unset and no
// /run/user/<uid>/bus) the keyring is skipped without asking D-Bus, because
// the D-Bus library would otherwise run dbus-launch and leave a new bus daemon
// behind on every call.
//
// # Files and faults
//
// Files go through internal/fsafe, kubeiam's one home for file safety. They
// are written to a temporary file, synced and renamed, and the directory
// synced, so a reader sees the old entry or the new one, never a partial
// file (a full disk fails the write and leaves the old entry). Every file of
// the directory — entries, state, locks — is opened with
// O_NOFOLLOW|O_NONBLOCK (on Windows, opening a reparse point itself), and
// checked on the open descriptor: a symbolic link
// is never followed, a FIFO never blocks, and anything that is not a regular
// file owned by the user with mode 0600 or stricter is refused. A refused
// file, a corrupt entry, one sealed under another data key or stored for
// another Key, is a miss and is replaced on the next Put (the rename replaces
// whatever is there without following it). The directory itself must be a
// real directory of the user's (not a link to one); otherwise caching is off.
// Nothing is created or chmod-ed outside it. Freshness checks (Entry.TokenValid, Entry.CredentialsValid) also
// reject entries stored "in the future", which is what a clock jumping back
// looks like.
//
// # Single flight
//
// Lock takes a per-key lock on a separate <id>.lock file (flock(2), LockFileEx
// on Windows; locking the data file itself breaks on Windows, where it is
// replaced by rename). The intended use in a token command is:
//
//	e, _ := c.Get(ctx, k)              // fast path, no lock
//	if e == nil || !e.TokenValid(now, 60*time.Second) {
//		unlock, err := c.Lock(ctx, k, 30*time.Second)
//		if err == nil { defer unlock() }
//		e, _ = c.Get(ctx, k)       // another process may have refreshed it
//		if e == nil || !e.TokenValid(now, 60*time.Second) {
//			// refresh (one STS call), then c.Put(ctx, e)
//		}
//	}
//
// Lock files are never deleted: removing a lock file someone else holds would
// let a third process lock a fresh inode and refresh in parallel. The one
// exception is a file kubeiam cannot have made (a link, a FIFO, another
// user's), which no kubeiam process locks.
//
// # Cost
//
// The package is on kubectl's hot path, so it imports no AWS SDK, client-go or
// CLI framework, and its package-level variables do no work at start-up.
//
// The exported API is part of kubeiam's library promise: api/kubeiam.txt
// records it and a test fails when it changes (README, "Using kubeiam as a
// library").
package cache
