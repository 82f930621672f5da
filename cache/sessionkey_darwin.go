package cache

// On macOS go-keyring runs /usr/bin/security for every read: a process
// start plus a Keychain lookup, several times a kubeiam process start (see
// README, "Keyring design"). The kubeiam agent holds the key instead.
func defaultSessionStore() sessionStore { return agentStore{} }
