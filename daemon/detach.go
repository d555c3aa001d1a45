package daemon

import (
	"errors"
	"io"
	"strings"
)

// defaultDetachKeys is Docker's detach sequence.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// errDetached ends an attached client's input: it typed the detach keys.
var errDetached = errors.New("detached from the container")

// parseDetachKeys reads Docker's detachKeys form: comma-separated "ctrl-X"
// (X a letter or one of @[\]^_) or single characters.
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = defaultDetachKeys
	}
	var keys []byte
	for _, k := range strings.Split(s, ",") {
		if ctrl, ok := strings.CutPrefix(k, "ctrl-"); ok {
			if len(ctrl) != 1 {
				return nil, badRequestf("Invalid detach keys (%s) provided: %q is not a key", s, k)
			}
			c := ctrl[0]
			switch {
			case c >= 'a' && c <= 'z':
				keys = append(keys, c-'a'+1)
			case c == '@' || c == '[' || c == '\\' || c == ']' || c == '^' || c == '_':
				keys = append(keys, c-'@')
			default:
				return nil, badRequestf("Invalid detach keys (%s) provided: %q is not a key", s, k)
			}
			continue
		}
		if len(k) != 1 {
			return nil, badRequestf("Invalid detach keys (%s) provided: %q is not a key", s, k)
		}
		keys = append(keys, k[0])
	}
	return keys, nil
}

// escapeProxy passes input on until the detach keys arrive, then reads
// errDetached. A prefix of the keys is held back until it is known not to
// be the sequence, then passed on, as Docker's term.EscapeProxy.
type escapeProxy struct {
	r       io.Reader
	keys    []byte
	matched int
	pending []byte
	err     error // returned once pending is drained
}

func newEscapeProxy(r io.Reader, keys []byte) io.Reader {
	if len(keys) == 0 {
		return r
	}
	return &escapeProxy{r: r, keys: keys}
}

func (p *escapeProxy) Read(buf []byte) (int, error) {
	for len(p.pending) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		in := make([]byte, max(len(buf), 1))
		n, err := p.r.Read(in)
		p.scan(in[:n])
		if err != nil && p.err == nil {
			// The input ended inside a partial sequence: it was data.
			p.pending = append(p.pending, p.keys[:p.matched]...)
			p.matched = 0
			p.err = err
		}
	}
	n := copy(buf, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

// scan moves input to pending, watching for the keys.
func (p *escapeProxy) scan(in []byte) {
	for _, b := range in {
		if b == p.keys[p.matched] {
			p.matched++
			if p.matched == len(p.keys) {
				p.matched = 0
				p.err = errDetached
				return // what follows the keys is not the container's
			}
			continue
		}
		p.pending = append(p.pending, p.keys[:p.matched]...)
		p.matched = 0
		if b == p.keys[0] {
			p.matched = 1
		} else {
			p.pending = append(p.pending, b)
		}
	}
}
