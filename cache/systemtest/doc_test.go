// Package systemtest runs the cache against real things: a real Secret
// Service on a D-Bus session bus, a dead or hanging bus, and real concurrent
// processes. It is a package of its own because go-keyring's MockInit, used by
// the unit tests, replaces the keyring for the whole test binary.
//
// The Secret Service tests skip when DBUS_SESSION_BUS_ADDRESS is empty, and
// fail instead when KUBEIAM_TEST_KEYRING=1 (CI). To run them:
//
//	dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
//	    KUBEIAM_TEST_KEYRING=1 go test ./cache/...'
package systemtest
