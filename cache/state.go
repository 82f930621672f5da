package cache

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// state is the small file in the cache directory that outlives a process:
// whether a keyring was ever used here, and when each cause of warning was
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
	// A link or FIFO in its place is refused without blocking, and replaced
	// by the next save; a damaged state file only costs an early warning.
	if b, err := readPrivate(c.path(stateFile)); err == nil {
		_ = json.Unmarshal(b, c.st)
	}
	return c.st
}

func (c *Cache) saveState() {
	b, err := json.Marshal(c.st)
	if err != nil || !c.dirOK {
		return
	}
	// Best effort: losing the state repeats a warning, nothing worse. Where
	// no new file can be made — a full disk, a directory made read-only —
	// the existing file can often still be rewritten in place, and then a
	// warning about that very trouble stays hourly.
	if err := writeAtomic(c.path(stateFile), b); err != nil {
		_ = overwriteInPlace(c.path(stateFile), b)
	}
}

// ensureState creates the state file if there is none, so that there is one
// to rewrite in place when the disk fills up (see saveState).
func (c *Cache) ensureState() {
	if !c.dirOK {
		return
	}
	if fi, err := os.Lstat(c.path(stateFile)); err != nil || !fi.Mode().IsRegular() {
		c.loadState()
		c.saveState()
	}
}

// always is the warning cause that is never rate-limited.
const always = ""

type warning struct{ cause, text string }

// warn prints a warning unless one of the same cause was printed within the
// last hour, by this or any other process using the directory; cause always
// prints every time. A clock that went back also allows the warning: a jump
// must not silence it for hours. With Options.HoldWarnings the warning waits
// for FlushWarnings.
func (c *Cache) warn(cause, format string, args ...any) {
	if c.opts.Warn == nil {
		return
	}
	w := warning{cause, fmt.Sprintf(format, args...)}
	if c.opts.HoldWarnings {
		c.held = append(c.held, w)
		return
	}
	c.emit(w)
}

// FlushWarnings prints the warnings held back by Options.HoldWarnings.
func (c *Cache) FlushWarnings() {
	held := c.held
	c.held = nil
	for _, w := range held {
		c.emit(w)
	}
}

func (c *Cache) emit(w warning) {
	if w.cause != always {
		st := c.loadState()
		now := c.now()
		if last, ok := st.Warned[w.cause]; ok && now.Sub(last) < warnInterval && !last.After(now) {
			return
		}
		for cause, last := range st.Warned {
			if now.Sub(last) >= warnInterval || last.After(now) {
				delete(st.Warned, cause) // keeps the file small
			}
		}
		if st.Warned == nil {
			st.Warned = map[string]time.Time{}
		}
		st.Warned[w.cause] = now.UTC()
		c.saveState()
	}
	fmt.Fprintf(c.opts.Warn, "warning: token cache: %s\n", w.text)
}
