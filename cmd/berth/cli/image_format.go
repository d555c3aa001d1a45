package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/docker/cli/templates"
	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
)

// Output helpers shared by the image verbs: Docker's --format templates,
// its table layout, and its human units (go-units' wording).

// parseTemplate parses a --format template with docker/cli's functions
// (json, split, join, title, lower, upper, pad, truncate, and text/template's
// own println, len, index...): the templates package Docker's CLI uses, so
// every function behaves as it does there. The error reads as Docker's.
func parseTemplate(format string) (*template.Template, error) {
	tmpl, err := templates.Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %v", err)
	}
	return tmpl, nil
}

// listFormat renders rows with a Docker --format value: "" or "table" (the
// default table), "table TEMPLATE" (a table with a header), "json" (one JSON
// object per line) or a raw Go template (one line per row).
type listFormat struct {
	tmpl    *template.Template
	table   bool
	headers map[string]string
}

func newListFormat(format, defaultTable string, headers map[string]string) (*listFormat, error) {
	switch strings.TrimSpace(format) {
	case "", "table":
		format = defaultTable
	case "json":
		format = "{{json .}}"
	}
	f := &listFormat{headers: headers}
	if strings.HasPrefix(format, "table") {
		f.table = true
		format = strings.TrimPrefix(format, "table")
	}
	format = strings.Trim(format, " ")
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	tmpl, err := parseTemplate(format)
	if err != nil {
		return nil, err
	}
	f.tmpl = tmpl
	return f, nil
}

// render returns each row's text (and the header's, first, for a table),
// before table alignment.
func (f *listFormat) render(rows []any) ([]string, error) {
	out, err := f.start()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, row := range rows {
		line, err := f.renderRow(&buf, row)
		if err != nil {
			return nil, err
		}
		out = append(out, line)
	}
	return out, nil
}

// start is the lines before any row: the header for a table, else none.
func (f *listFormat) start() ([]string, error) {
	if !f.table {
		return nil, nil
	}
	// As docker/cli: the header is the same template over the column
	// names, with functions that leave a name as it is ({{lower .Name}}
	// still heads its column NAME).
	header, err := f.tmpl.Clone()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := header.Funcs(templates.HeaderFunctions).Execute(&buf, f.headers); err != nil {
		return nil, fmt.Errorf("template: %v", err)
	}
	return []string{buf.String()}, nil
}

// renderRow is one row's text, rendered in buf (reused across rows), so a
// caller can render rows as they come and drop each one.
func (f *listFormat) renderRow(buf *bytes.Buffer, row any) (string, error) {
	buf.Reset()
	if err := f.tmpl.Execute(buf, row); err != nil {
		return "", fmt.Errorf("template: %v", err)
	}
	return buf.String(), nil
}

// write prints the rows: aligned in columns for a table, as is otherwise.
func (f *listFormat) write(w io.Writer, rows []any) error {
	lines, err := f.render(rows)
	if err != nil {
		return err
	}
	return f.writeLines(w, lines)
}

// writeLines prints rendered lines (start's, then renderRow's): aligned
// in columns for a table, as they are otherwise; buffered, so 10,000 rows
// are a few writes, not 10,000. It empties lines as it goes: a table's
// tabwriter keeps a copy of every cell until the end, and the lines need
// not stay beside it.
func (f *listFormat) writeLines(w io.Writer, lines []string) error {
	bw := bufio.NewWriter(w)
	out := io.Writer(bw)
	var tw *tabwriter.Writer
	if f.table {
		tw = newTabWriter(bw)
		out = tw
	}
	for i, l := range lines {
		lines[i] = ""
		io.WriteString(out, l)
		io.WriteString(out, "\n")
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// lines returns the rows as they would be printed, aligned for a table,
// one string per row (the header first for a table), so callers can put
// more text between them.
func (f *listFormat) lines(rows []any) ([]string, error) {
	var buf bytes.Buffer
	if err := f.write(&buf, rows); err != nil {
		return nil, err
	}
	text := strings.TrimSuffix(buf.String(), "\n")
	if text == "" {
		return nil, nil
	}
	return strings.Split(text, "\n"), nil
}

// newTabWriter is docker/cli's table layout.
func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
}

var decimalUnits = []string{"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}

// humanSizePrecision is go-units' HumanSizeWithPrecision: decimal units,
// "4.26MB" at precision 3.
func humanSizePrecision(size float64, precision int) string {
	i := 0
	for size >= 1000 && i < len(decimalUnits)-1 {
		size /= 1000
		i++
	}
	return fmt.Sprintf("%.*g%s", precision, size, decimalUnits[i])
}

// humanSize is go-units' HumanSize (precision 4), as `system df` prints.
func humanSize(size int64) string { return humanSizePrecision(float64(size), 4) }

// imageSize is the SIZE column of `images` and `history` (precision 3).
func imageSize(size int64) string { return humanSizePrecision(float64(size), 3) }

// humanDuration is Docker's wording for a duration: "About a minute", "2 weeks".
func humanDuration(d time.Duration) string { return units.HumanDuration(d) }

// createdSince is Docker's CREATED column: "2 weeks ago".
func createdSince(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return humanDuration(time.Now().UTC().Sub(t)) + " ago"
}

// createdAt is Docker's CreatedAt field: time.Time's String in local time,
// to the second.
func createdAt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Truncate(time.Second).Local().Format("2006-01-02 15:04:05 -0700 MST")
}

// ellipsis is docker/cli's stringutils.Ellipsis: cut to max runes, the last one "…".
func ellipsis(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	if max <= 1 {
		return string(r[:max])
	}
	return string(r[:max-1]) + "…"
}

// shortID is an image ID as Docker shows it: 12 hex without "sha256:".
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// requireArgs is docker/cli's argument check with its wording:
// `"berth tag" requires exactly 2 arguments.`
func requireArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		n := len(args)
		if n >= min && (max < 0 || n <= max) {
			return nil
		}
		phrase, k := "at least", min
		switch {
		case min == max:
			phrase = "exactly"
		case max >= 0 && n > max:
			phrase, k = "at most", max
		}
		want := fmt.Sprintf("%s %d argument", phrase, k)
		if k != 1 {
			want += "s"
		}
		return fmt.Errorf("%q requires %s.\nSee '%s --help'.\n\nUsage:  %s\n\n%s",
			cmd.CommandPath(), want, cmd.CommandPath(), cmd.UseLine(), cmd.Short)
	}
}

// listingGCPercent is the GC target of the listing verbs (`images`, `ps`)
// once their heap has grown past the runtime's first goal: the heap may
// then grow to 1.5 times what is live, not twice. What a listing keeps is
// small (its rendered lines, about 5 MB at 10,000 rows) but it reads and
// decodes every record and manifest on the way, so the default target put
// `berth images` over 32 MiB of RSS at 10,000 images; a percentage scales
// with what is live, where a fixed memory limit would make the GC run
// without end on a store bigger than it. docs/performance.md ("Listings at
// 10,000, second pass" and "CLI start-up, fourth pass") has the figures.
const listingGCPercent = 50

// lowerGCPercent lowers the GC target to p from the process's first
// collection on, unless it is lower already (or off: GOGC=off), and returns
// what puts the old one back. Until that first collection the default
// target stands: the runtime's floor (4 MB of heap at GOGC=100) scales with
// the percentage, and at 50 a listing of a small store ran a collection of
// the package initializers' garbage at 2 MB, and started the GC's workers,
// for nothing; a big listing passes 4 MB early and is held to p from then on.
func lowerGCPercent(p int) (restore func()) {
	prev := debug.SetGCPercent(p)
	debug.SetGCPercent(prev)
	if prev < 0 || prev <= p {
		return func() {}
	}
	var mu sync.Mutex
	armed, lowered := true, false
	// The sentinel is garbage at once: its cleanup runs after the first
	// collection that finds it, whichever triggered that collection.
	runtime.AddCleanup(new(gcSentinel), func(int) {
		mu.Lock()
		defer mu.Unlock()
		if armed {
			debug.SetGCPercent(p)
			lowered = true
		}
	}, 0)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		armed = false
		if lowered {
			debug.SetGCPercent(prev)
		}
	}
}

// gcSentinel holds a pointer so that it is never placed in a tiny
// allocator block, whose objects' cleanups may never run.
type gcSentinel struct{ _ *int }
