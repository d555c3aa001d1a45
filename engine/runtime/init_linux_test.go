package runtime

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// TestInitMessageRoundTrip: the spec and the raw seccomp program cross the
// spec pipe intact, and the message is written in one piece.
func TestInitMessageRoundTrip(t *testing.T) {
	prog, err := seccompFilter(Security{})
	if err != nil {
		t.Fatal(err)
	}
	spec := &Spec{ID: "abc", Root: "/r", Process: Process{Args: []string{"true"}, Env: []string{"PATH=/bin"}}}
	in := &initMessage{Mode: "container", Spec: spec, Filter: encodeFilter(prog), AwaitParent: true}
	var w countingWriter
	if err := writeInitMessage(&w, in); err != nil {
		t.Fatal(err)
	}
	if w.writes != 1 {
		t.Errorf("message written in %d writes, want 1", w.writes)
	}
	out, err := readInitMessage(bytes.NewReader(w.buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	got, err := decodeFilter(out.Filter)
	if err != nil || !reflect.DeepEqual(got, prog) {
		t.Errorf("filter did not survive: %d instructions, want %d (%v)", len(got), len(prog), err)
	}
	// No base64 copy of the program inside the JSON.
	if n := binary.LittleEndian.Uint32(w.buf.Bytes()); int(n) > 2048 {
		t.Errorf("JSON part is %d bytes: the filter went into it", n)
	}
}

// TestInitMessageBadInput: a truncated or oversized message is an error,
// never a partial spec or a huge allocation.
func TestInitMessageBadInput(t *testing.T) {
	var w countingWriter
	if err := writeInitMessage(&w, &initMessage{Mode: "container", Spec: &Spec{}, Filter: make([]byte, 80)}); err != nil {
		t.Fatal(err)
	}
	full := w.buf.Bytes()
	huge := binary.LittleEndian.AppendUint32(nil, maxInitMessage+1)
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":            {nil, "EOF"},
		"short header":     {full[:2], "EOF"},
		"truncated json":   {full[:10], "EOF"},
		"truncated filter": {full[:len(full)-8], "seccomp filter"},
		"oversized":        {huge, "over the limit"},
		"not json":         {append(binary.LittleEndian.AppendUint32(nil, 3), "{x}"...), "invalid character"},
	} {
		if _, err := readInitMessage(bytes.NewReader(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

type countingWriter struct {
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}
