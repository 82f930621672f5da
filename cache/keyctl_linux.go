package cache

import (
	"syscall"
	"unsafe"
)

// The keyctl(2) calls the session key store makes, on the syscall package
// the binary links anyway: golang.org/x/sys/unix has the same wrappers but
// would add ~0.1 ms of package init to every kubectl call (inittrace).
//
// userKeyring is KEY_SPEC_USER_KEYRING (-4); a variable, because a negative
// constant does not convert to uintptr.
var userKeyring = -4

const (
	keyctlSetperm    = 5
	keyctlUnlink     = 9
	keyctlSearch     = 10
	keyctlRead       = 11
	keyctlSetTimeout = 15
	keyctlInvalidate = 21
)

func keyctl(op int, a2, a3, a4, a5 uintptr) (int, error) {
	r, _, e := syscall.Syscall6(syscall.SYS_KEYCTL, uintptr(op), a2, a3, a4, a5, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// addKey is add_key(2) of a "user" key into keyring.
func addKey(desc string, payload []byte, keyring int) (int, error) {
	typ, d, err := userKeyArgs(desc)
	if err != nil {
		return 0, err
	}
	var p unsafe.Pointer
	if len(payload) > 0 {
		p = unsafe.Pointer(&payload[0])
	}
	r, _, e := syscall.Syscall6(syscall.SYS_ADD_KEY, uintptr(unsafe.Pointer(typ)), uintptr(unsafe.Pointer(d)),
		uintptr(p), uintptr(len(payload)), uintptr(keyring), 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// userKeyArgs are the C strings of the key type "user" and desc.
func userKeyArgs(desc string) (*byte, *byte, error) {
	typ, err := syscall.BytePtrFromString("user")
	if err != nil {
		return nil, nil, err
	}
	d, err := syscall.BytePtrFromString(desc)
	return typ, d, err
}

// searchKey finds a "user" key by description in keyring and what it links.
func searchKey(keyring int, desc string) (int, error) {
	typ, d, err := userKeyArgs(desc)
	if err != nil {
		return 0, err
	}
	return keyctl(keyctlSearch, uintptr(keyring), uintptr(unsafe.Pointer(typ)), uintptr(unsafe.Pointer(d)), 0)
}

// readKey reads a key's payload into buf and returns its full length.
func readKey(id int, buf []byte) (int, error) {
	return keyctl(keyctlRead, uintptr(id), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0)
}
