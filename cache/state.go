package cache

import (
	"encoding/json"
	"fmt"
	"time"
)

// state is the small file in the cache directory that outlives a process:
// whether a keyring was ever used here, and when each kind of warning was
// last shown.
type state struct {
	// KeyringUsed is set once a data key was read from or stored in the
	// keyring; from then on auto never falls back to plain-text files.
	KeyringUsed bool `json:"keyringUsed,omitempty"`
	// KeyringTimeout is when the keyring last failed to answer in time;
	// for a while after that it is not asked again, so a hung keyring costs
	// one timeout a minute rather than one per kubectl call.
	KeyringTimeout time.Time            `json:"keyringTimeout,omitzero"`
	Warned         map[string]time.Time `json:"warned,omitempty"`
}

const (
	stateFile      = "state.json"
	warnInterval   = time.Hour
	keyringBackoff = time.Minute
)

func (c *Cache) loadState() *state {
	if c.st != nil {
		return c.st
	}
	c.st = &state{}
	if !c.dirOK {
		return c.st
	}
	if b, err := readPrivate(c.path(stateFile)); err == nil {
		// A damaged state file only costs an early warning.
		_ = json.Unmarshal(b, c.st)
	}
	return c.st
}

func (c *Cache) saveState() {
	b, err := json.Marshal(c.st)
	if err != nil || !c.dirOK {
		return
	}
	// Best effort: losing the state repeats a warning, nothing worse.
	_ = writeAtomic(c.path(stateFile), b)
}

// warn prints a warning of the given kind unless one was printed within the
// last hour, by this or any other process using the directory. A clock that
// went back also allows the warning: a jump must not silence it for hours.
func (c *Cache) warn(kind, format string, args ...any) {
	if c.opts.Warn == nil {
		return
	}
	st := c.loadState()
	now := c.now()
	if last, ok := st.Warned[kind]; ok && now.Sub(last) < warnInterval && !last.After(now) {
		return
	}
	if st.Warned == nil {
		st.Warned = map[string]time.Time{}
	}
	st.Warned[kind] = now.UTC()
	c.saveState()
	fmt.Fprintf(c.opts.Warn, "warning: token cache: "+format+"\n", args...)
}
