package cli

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type formatRow struct {
	Name   string
	Labels []string
	Any    []any
	Empty  string
	Count  int
}

func renderFormat(t *testing.T, format string, rows ...any) string {
	t.Helper()
	lf, err := newListFormat(format, "table {{.Name}}", map[string]string{"Name": "NAME", "Labels": "LABELS", "Empty": "EMPTY", "Count": "COUNT", "Any": "ANY"})
	require.NoError(t, err)
	var buf strings.Builder
	require.NoError(t, lf.write(&buf, rows))
	return buf.String()
}

// The functions are docker/cli's, with its exact behaviour.
func TestFormatFunctions(t *testing.T) {
	row := formatRow{Name: "hello world", Labels: []string{"a", "b"}, Any: []any{"x", 1}, Count: 3}
	for _, tc := range []struct{ format, want string }{
		{`{{json .Labels}}`, `["a","b"]` + "\n"},
		{`{{json .Name}}`, `"hello world"` + "\n"},
		{`{{json "<&>"}}`, `"<&>"` + "\n"}, // no HTML escaping, as Docker
		{`{{join .Labels ","}}`, "a,b\n"},
		{`{{join .Any "+"}}`, "x+1\n"}, // JSON values: any slices join too
		{`{{index (split .Name " ") 1}}`, "world\n"},
		{`{{upper .Name}}`, "HELLO WORLD\n"},
		{`{{lower "ABC"}}`, "abc\n"},
		{`{{title .Name}}`, "Hello World\n"},
		{`[{{pad .Name 1 2}}]`, "[ hello world  ]\n"},
		{`[{{pad .Empty 1 2}}]`, "[]\n"}, // empty stays empty
		{`{{truncate .Name 5}}`, "hello\n"},
		{`{{truncate .Name 50}}`, "hello world\n"},
		{`{{println .Name}}`, "hello world\n\n"},
		{`{{len .Labels}} {{.Count}}`, "2 3\n"},
		{`json`, `{"Name":"hello world","Labels":["a","b"],"Any":["x",1],"Empty":"","Count":3}` + "\n"},
	} {
		require.Equal(t, tc.want, renderFormat(t, tc.format, row), tc.format)
	}
}

// A table's header is the template over the column names with docker/cli's
// header functions: {{lower .Name}} is headed NAME, {{json .Labels}} LABELS.
func TestFormatTableHeaders(t *testing.T) {
	row := formatRow{Name: "Web", Labels: []string{"a"}}
	out := renderFormat(t, `table {{lower .Name}}\t{{json .Labels}}\t{{truncate .Name 2}}`, row)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 2)
	require.Regexp(t, `^NAME +LABELS +NAME$`, lines[0])
	require.Regexp(t, `^web +\["a"\] +We$`, lines[1])

	// "table" alone is the default table; a plain template has no header.
	require.Equal(t, "NAME\nWeb\n", renderFormat(t, "table", row))
	require.Equal(t, "Web\n", renderFormat(t, "{{.Name}}", row))
}

func TestFormatErrors(t *testing.T) {
	_, err := newListFormat("{{.Name", "", nil)
	require.ErrorContains(t, err, "template parsing error")
	_, err = newListFormat("{{nosuchfunc .Name}}", "", nil)
	require.ErrorContains(t, err, `function "nosuchfunc" not defined`)
	lf, err := newListFormat("{{.Nope}}", "", nil)
	require.NoError(t, err)
	require.ErrorContains(t, lf.write(&strings.Builder{}, []any{formatRow{}}), "can't evaluate field Nope")
}

// lowerGCPercent lowers the GC target for a listing from the first
// collection on (before it, the default target and its 4 MB floor stand, so
// a small listing collects nothing), puts it back, and never raises one set
// lower (GOGC=20) nor turns on a GC turned off.
func TestLowerGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	restore := lowerGCPercent(50)
	require.Equal(t, 100, gcPercent(), "lowered before any collection")
	require.True(t, gcPercentBecomes(50), "not lowered after collections")
	restore()
	require.Equal(t, 100, debug.SetGCPercent(20))
	lowerGCPercent(50)()
	require.Equal(t, 20, debug.SetGCPercent(-1))
	lowerGCPercent(50)()
	require.Equal(t, -1, debug.SetGCPercent(100))
	// Put back before the first collection: a later collection lowers nothing.
	lowerGCPercent(50)()
	require.False(t, gcPercentBecomes(50), "lowered after it was put back")
}

// gcPercentBecomes runs collections until the GC target is want, or gives
// up after 20 of them (cleanups run on their own goroutine after a cycle).
func gcPercentBecomes(want int) bool {
	for range 20 {
		runtime.GC()
		runtime.Gosched()
		if gcPercent() == want {
			return true
		}
	}
	return false
}

// gcPercent reads the GC target without setting it (a cleanup may set it
// at any time).
func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}
