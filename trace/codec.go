package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
)

// knownKeys returns the JSON names of a struct type's fields.
var knownKeysCache sync.Map

func knownKeys(t reflect.Type) map[string]bool {
	if v, ok := knownKeysCache.Load(t); ok {
		return v.(map[string]bool)
	}
	keys := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || name == "" {
			continue
		}
		keys[name] = true
	}
	knownKeysCache.Store(t, keys)
	return keys
}

// marshalKeep marshals v (a pointer to an alias struct without methods) and
// merges the unknown fields back in.
func marshalKeep(v any, unknown map[string]json.RawMessage) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil || len(unknown) == 0 {
		return data, err
	}
	merged := map[string]json.RawMessage{}
	if err := json.Unmarshal(data, &merged); err != nil {
		return nil, err
	}
	for k, raw := range unknown {
		if _, ok := merged[k]; !ok {
			merged[k] = raw
		}
	}
	return json.Marshal(merged)
}

// unmarshalKeep decodes data into v (a pointer to an alias struct) and
// returns the fields that v does not know.
func unmarshalKeep(data []byte, v any) (map[string]json.RawMessage, error) {
	if err := json.Unmarshal(data, v); err != nil {
		return nil, err
	}
	all := map[string]json.RawMessage{}
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	known := knownKeys(reflect.TypeOf(v).Elem())
	var unknown map[string]json.RawMessage
	for k, raw := range all {
		if !known[k] {
			if unknown == nil {
				unknown = map[string]json.RawMessage{}
			}
			unknown[k] = raw
		}
	}
	return unknown, nil
}

// The aliases drop the methods so the helpers don't recurse.

type eventAlias Event

// MarshalJSON writes the event with its unknown fields.
func (e Event) MarshalJSON() ([]byte, error) { a := eventAlias(e); return marshalKeep(&a, e.Unknown) }

// UnmarshalJSON reads the event and keeps fields it does not know.
func (e *Event) UnmarshalJSON(data []byte) error {
	var a eventAlias
	unknown, err := unmarshalKeep(data, &a)
	if err != nil {
		return err
	}
	*e = Event(a)
	e.Unknown = unknown
	return nil
}

type buildStartAlias BuildStartInfo

func (i BuildStartInfo) MarshalJSON() ([]byte, error) {
	a := buildStartAlias(i)
	return marshalKeep(&a, i.Unknown)
}
func (i *BuildStartInfo) UnmarshalJSON(d []byte) error {
	var a buildStartAlias
	u, err := unmarshalKeep(d, &a)
	*i = BuildStartInfo(a)
	i.Unknown = u
	return err
}

type buildEndAlias BuildEndInfo

func (i BuildEndInfo) MarshalJSON() ([]byte, error) {
	a := buildEndAlias(i)
	return marshalKeep(&a, i.Unknown)
}
func (i *BuildEndInfo) UnmarshalJSON(d []byte) error {
	var a buildEndAlias
	u, err := unmarshalKeep(d, &a)
	*i = BuildEndInfo(a)
	i.Unknown = u
	return err
}

type stepAlias StepInfo

func (i StepInfo) MarshalJSON() ([]byte, error) { a := stepAlias(i); return marshalKeep(&a, i.Unknown) }
func (i *StepInfo) UnmarshalJSON(d []byte) error {
	var a stepAlias
	u, err := unmarshalKeep(d, &a)
	*i = StepInfo(a)
	i.Unknown = u
	return err
}

type stepEndAlias StepEndInfo

func (i StepEndInfo) MarshalJSON() ([]byte, error) {
	a := stepEndAlias(i)
	return marshalKeep(&a, i.Unknown)
}
func (i *StepEndInfo) UnmarshalJSON(d []byte) error {
	var a stepEndAlias
	u, err := unmarshalKeep(d, &a)
	*i = StepEndInfo(a)
	i.Unknown = u
	return err
}

type cacheAlias CacheInfo

func (i CacheInfo) MarshalJSON() ([]byte, error) {
	a := cacheAlias(i)
	return marshalKeep(&a, i.Unknown)
}
func (i *CacheInfo) UnmarshalJSON(d []byte) error {
	var a cacheAlias
	u, err := unmarshalKeep(d, &a)
	*i = CacheInfo(a)
	i.Unknown = u
	return err
}

type containerAlias ContainerInfo

func (i ContainerInfo) MarshalJSON() ([]byte, error) {
	a := containerAlias(i)
	return marshalKeep(&a, i.Unknown)
}
func (i *ContainerInfo) UnmarshalJSON(d []byte) error {
	var a containerAlias
	u, err := unmarshalKeep(d, &a)
	*i = ContainerInfo(a)
	i.Unknown = u
	return err
}

type outputAlias OutputInfo

func (i OutputInfo) MarshalJSON() ([]byte, error) {
	a := outputAlias(i)
	return marshalKeep(&a, i.Unknown)
}
func (i *OutputInfo) UnmarshalJSON(d []byte) error {
	var a outputAlias
	u, err := unmarshalKeep(d, &a)
	*i = OutputInfo(a)
	i.Unknown = u
	return err
}

type snapshotAlias SnapshotInfo

func (i SnapshotInfo) MarshalJSON() ([]byte, error) {
	a := snapshotAlias(i)
	return marshalKeep(&a, i.Unknown)
}
func (i *SnapshotInfo) UnmarshalJSON(d []byte) error {
	var a snapshotAlias
	u, err := unmarshalKeep(d, &a)
	*i = SnapshotInfo(a)
	i.Unknown = u
	return err
}

type layerAlias LayerInfo

func (i LayerInfo) MarshalJSON() ([]byte, error) {
	a := layerAlias(i)
	return marshalKeep(&a, i.Unknown)
}
func (i *LayerInfo) UnmarshalJSON(d []byte) error {
	var a layerAlias
	u, err := unmarshalKeep(d, &a)
	*i = LayerInfo(a)
	i.Unknown = u
	return err
}

type imageAlias ImageInfo

func (i ImageInfo) MarshalJSON() ([]byte, error) {
	a := imageAlias(i)
	return marshalKeep(&a, i.Unknown)
}
func (i *ImageInfo) UnmarshalJSON(d []byte) error {
	var a imageAlias
	u, err := unmarshalKeep(d, &a)
	*i = ImageInfo(a)
	i.Unknown = u
	return err
}

type tagAlias TagInfo

func (i TagInfo) MarshalJSON() ([]byte, error) { a := tagAlias(i); return marshalKeep(&a, i.Unknown) }
func (i *TagInfo) UnmarshalJSON(d []byte) error {
	var a tagAlias
	u, err := unmarshalKeep(d, &a)
	*i = TagInfo(a)
	i.Unknown = u
	return err
}

type pullAlias PullInfo

func (i PullInfo) MarshalJSON() ([]byte, error) { a := pullAlias(i); return marshalKeep(&a, i.Unknown) }
func (i *PullInfo) UnmarshalJSON(d []byte) error {
	var a pullAlias
	u, err := unmarshalKeep(d, &a)
	*i = PullInfo(a)
	i.Unknown = u
	return err
}

type blobAlias BlobInfo

func (i BlobInfo) MarshalJSON() ([]byte, error) { a := blobAlias(i); return marshalKeep(&a, i.Unknown) }
func (i *BlobInfo) UnmarshalJSON(d []byte) error {
	var a blobAlias
	u, err := unmarshalKeep(d, &a)
	*i = BlobInfo(a)
	i.Unknown = u
	return err
}

type clientAlias ClientInfo

func (i ClientInfo) MarshalJSON() ([]byte, error) {
	a := clientAlias(i)
	return marshalKeep(&a, i.Unknown)
}
func (i *ClientInfo) UnmarshalJSON(d []byte) error {
	var a clientAlias
	u, err := unmarshalKeep(d, &a)
	*i = ClientInfo(a)
	i.Unknown = u
	return err
}

type messageAlias MessageInfo

func (i MessageInfo) MarshalJSON() ([]byte, error) {
	a := messageAlias(i)
	return marshalKeep(&a, i.Unknown)
}
func (i *MessageInfo) UnmarshalJSON(d []byte) error {
	var a messageAlias
	u, err := unmarshalKeep(d, &a)
	*i = MessageInfo(a)
	i.Unknown = u
	return err
}

// Writer records events as JSON lines to an io.Writer. Write errors are kept
// and returned by Err; recording never blocks the engine on a failed trace.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

// NewWriter returns a Writer that appends one JSON line per event to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Record writes e as one line.
func (w *Writer) Record(e Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	data, err := json.Marshal(e)
	if err != nil {
		w.err = fmt.Errorf("encode trace event %d: %w", e.Seq, err)
		return
	}
	data = append(data, '\n')
	if _, err := w.w.Write(data); err != nil {
		w.err = fmt.Errorf("write trace: %w", err)
	}
}

// Err returns the first error met while writing.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Read parses a JSON-lines trace. Blank lines are skipped; a line that is not
// an event is an error naming its line number.
func Read(r io.Reader) ([]Event, error) {
	var events []Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(text, &e); err != nil {
			return nil, fmt.Errorf("trace line %d: %w", line, err)
		}
		if e.Type == "" {
			return nil, fmt.Errorf("trace line %d: event has no type", line)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read trace: %w", err)
	}
	return events, nil
}
