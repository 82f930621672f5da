package kubeconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A lock whose holder cannot be checked from here is never taken over,
// however dead its pid looks: on another host the pid means another
// process, and so it does in another pid namespace on the same host name
// (a container with the host's name, or with --uts=host). Each field is
// checked on its own: the other one matches this process.
func TestLockNeverTakesOverWhatItCannotCheck(t *testing.T) {
	me := self()
	dead := deadPid(t)
	for _, tc := range []struct {
		name string
		h    holder
	}{
		{"another host, same pid namespace", holder{pid: dead, host: me.host + "-elsewhere", start: "1", pidn: me.pidn}},
		{"same host name, another pid namespace", holder{pid: dead, host: me.host, start: "1", pidn: me.pidn + "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "config")
			plantLock(t, file, tc.h)
			var notes []string
			unlock, err := Lock(context.Background(), file, LockOptions{Timeout: 100 * time.Millisecond, Notify: func(s string) { notes = append(notes, s) }})
			if err == nil {
				unlock()
				plantLock(t, file, tc.h)
			}
			var le *LockError
			if !errors.As(err, &le) || le.Live || !strings.Contains(err.Error(), "cannot be checked from here") {
				t.Errorf("young lock: %v, want a wait and then a LockError naming an unchecked holder", err)
			}
			old := time.Now().Add(-time.Hour)
			os.Chtimes(file+".lock", old, old)
			_, err = Lock(context.Background(), file, LockOptions{Notify: func(s string) { notes = append(notes, s) }})
			if !errors.As(err, new(*StaleLockError)) {
				t.Errorf("old lock: %v, want a StaleLockError", err)
			}
			if len(notes) > 0 {
				t.Errorf("took over: %q", notes)
			}
			if _, err := Unlock(file, false); err != nil {
				t.Errorf("kubeiam unlock of an old unchecked lock: %v", err)
			}
		})
	}
}
