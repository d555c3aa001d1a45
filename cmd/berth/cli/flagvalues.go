package cli

import (
	"bytes"
	"encoding/csv"
	"strings"

	"github.com/spf13/pflag"
)

// stringArrayVarP defines a repeatable string flag with no default, as
// pflag's StringArrayVarP does (same type name in help and completion, same
// parsing: each use appends one value, commas included), without its cost:
// pflag formats every flag's default as it registers it, and its string
// array does that through a fresh csv.Writer and its 4 KB buffer. Berth
// builds its whole command tree on every start, hidden refused docker flags
// included, so that was about 290 writers and 1.2 MB of garbage per
// process, whatever the verb.
func stringArrayVarP(f *pflag.FlagSet, p *[]string, name, short, usage string) {
	*p = nil
	fl := f.VarPF(&stringArray{p: p}, name, short, usage)
	// pflag shows no default for its own empty string array ("[]"); an
	// empty DefValue is how help knows this one is zero too.
	fl.DefValue = ""
}

// stringArray is the flag value of stringArrayVarP.
type stringArray struct {
	p       *[]string
	changed bool
}

// Set appends val; the first use replaces the default.
func (s *stringArray) Set(val string) error {
	if !s.changed {
		*s.p, s.changed = []string{val}, true
		return nil
	}
	*s.p = append(*s.p, val)
	return nil
}

// Type is pflag's name for the type, which help and completion show.
func (s *stringArray) Type() string { return "stringArray" }

// String formats the values as pflag does: "[a,b]", CSV-quoted.
func (s *stringArray) String() string {
	if len(*s.p) == 0 {
		return "[]"
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(*s.p) // a bytes.Buffer does not fail
	w.Flush()
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}

// Append, Replace and GetSlice make it a pflag.SliceValue, as pflag's is.
func (s *stringArray) Append(val string) error {
	*s.p = append(*s.p, val)
	return nil
}

// Replace sets the values to vals.
func (s *stringArray) Replace(vals []string) error {
	*s.p = append([]string(nil), vals...)
	return nil
}

// GetSlice returns a copy of the values.
func (s *stringArray) GetSlice() []string { return append([]string(nil), *s.p...) }
