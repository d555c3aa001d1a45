package lessons

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
)

// commonFields are the event fields that are not the payload.
var commonFields = map[string]bool{"v": true, "seq": true, "time": true, "type": true, "build": true, "step": true}

// Matches reports whether event e fits the pattern. Conditions name a
// payload field by its JSON name (purpose=build, hit=false, reason=earlier-miss),
// or one of: step (the step number), instruction (the step's keyword, from
// its step.start), build (1-based index of the build in the trace). A field
// the event leaves out matches its zero value (started=false). A value
// ending in * matches any value with that prefix.
func Matches(p *Pattern, e trace.Event, m *view.Model) bool {
	if string(e.Type) != p.Type {
		return false
	}
	if len(p.Where) == 0 {
		return true
	}
	var payload map[string]any
	for _, k := range p.Keys {
		want := p.Where[k]
		var got string
		switch k {
		case "step":
			got = strconv.Itoa(e.Step)
		case "instruction":
			if b := m.Build(e.Build); b != nil && e.Step > 0 {
				if st := b.Step(e.Step); st != nil {
					got = st.Info.Instruction
				}
			}
		case "build":
			if b := m.Build(e.Build); b != nil {
				got = strconv.Itoa(b.Index)
			}
		default:
			if payload == nil {
				payload = payloadOf(e)
			}
			got = fieldString(payload[k])
		}
		if !valueMatches(want, got) {
			return false
		}
	}
	return true
}

func valueMatches(want, got string) bool {
	if strings.HasSuffix(want, "*") {
		return strings.HasPrefix(got, strings.TrimSuffix(want, "*"))
	}
	if got == "" {
		return want == "" || want == "false" || want == "0"
	}
	return want == got
}

// payloadOf returns the event's payload object as a map.
func payloadOf(e trace.Event) map[string]any {
	data, err := json.Marshal(e)
	if err != nil {
		return nil
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(data, &all) != nil {
		return nil
	}
	for k, raw := range all {
		if commonFields[k] || len(raw) == 0 || raw[0] != '{' {
			continue
		}
		var obj map[string]any
		if json.Unmarshal(raw, &obj) == nil {
			return obj
		}
	}
	return nil
}

func fieldString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return ""
	case float64:
		if x == 0 {
			return ""
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		data, _ := json.Marshal(x)
		return string(data)
	}
}
