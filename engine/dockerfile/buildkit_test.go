package dockerfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestBuildkitTestfiles parses the Dockerfiles of BuildKit's own parser tests
// (testdata/buildkit). The negative ones, and the positive ones that use flags or
// forms Docker's builder rejects, must fail with a located error.
func TestBuildkitTestfiles(t *testing.T) {
	wantErr := map[string]string{
		"testfiles-negative/empty_dockerfile":   "Dockerfile:1: file with no instructions",
		"testfiles-negative/only_comments":      "Dockerfile:3: file with no instructions",
		"testfiles-negative/env_no_value":       "Dockerfile:3: ENV must have two arguments",
		"testfiles-negative/shykes-nested-json": "Dockerfile:1: when using JSON array syntax, arrays must be comprised of strings only",
		"testfiles/flags":                       "Dockerfile:3: Unknown flag: user",
		"testfiles/health":                      "Dockerfile:4: HEALTHCHECK requires at least one argument",
	}
	// These files are only CMD lines: valid grammar, but with no FROM.
	noFrom := map[string]bool{
		"testfiles/json": true, "testfiles/jeztah-invalid-json-json-inside-string": true,
		"testfiles/jeztah-invalid-json-json-inside-string-double": true, "testfiles/jeztah-invalid-json-single-quotes": true,
		"testfiles/jeztah-invalid-json-unterminated-bracket": true, "testfiles/jeztah-invalid-json-unterminated-string": true,
	}
	files, err := filepath.Glob("testdata/buildkit/testfiles*/*/Dockerfile")
	if err != nil || len(files) < 35 {
		t.Fatalf("found %d test files (%v)", len(files), err)
	}
	for _, path := range files {
		key := strings.TrimPrefix(filepath.Dir(path), "testdata/buildkit/")
		t.Run(key, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			df, err := Parse(bytes.NewReader(data), "Dockerfile")
			if noFrom[key] {
				if err == nil || err.Error() != "Dockerfile:1: no build stage in current context" {
					t.Fatalf("err = %v", err)
				}
				df, err = Parse(strings.NewReader("FROM scratch\n"+string(data)), "Dockerfile")
			}
			if want, ok := wantErr[key]; ok {
				var perr *Error
				if err == nil || err.Error() != want || !errors.As(err, &perr) || perr.Line < 1 {
					t.Fatalf("err = %v, want %q", err, want)
				}
				return
			}
			if strings.HasPrefix(key, "testfiles-negative/") {
				t.Fatalf("no expectation for negative file %s", key)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(df.Stages) == 0 || df.Stages[0].From.Line < 1 {
				t.Fatalf("no stage: %+v", df)
			}
			for _, st := range df.Stages {
				for _, ins := range st.Instructions {
					if ins.Line < 1 || ins.EndLine < ins.Line || ins.Original == "" {
						t.Errorf("bad location or text: %+v", ins)
					}
				}
			}
		})
	}
}

func TestBuildkitSpecifics(t *testing.T) {
	df := parseTestfile(t, "testfiles/jeztah-invalid-json-single-quotes", true)
	cmd := df.Stages[0].Instructions[0]
	if cmd.JSON || !reflect.DeepEqual(cmd.Args, []string{"['echo','single quotes are invalid JSON']"}) {
		t.Errorf("invalid JSON did not fall back to shell form: %+v", cmd)
	}

	df = parseTestfile(t, "testfiles/json", true)
	last := df.Stages[0].Instructions[len(df.Stages[0].Instructions)-1]
	if want := []string{"abc 123", "♥", "☃", "\" \\ / \b \f \n \r \t \x00"}; !last.JSON || !reflect.DeepEqual(last.Args, want) {
		t.Errorf("JSON args = %q, want %q", last.Args, want)
	}

	df = parseTestfile(t, "testfiles/escape", false)
	if env := df.Stages[0].Instructions[1]; df.EscapeToken != '`' || env.KeyValues[0] != (KV{"GOPATH", "\\go", true}) {
		t.Errorf("escape: EscapeToken %q, ENV %+v", df.EscapeToken, env.KeyValues)
	}
	df = parseTestfile(t, "testfiles/escape-with-syntax", false)
	if df.EscapeToken != '`' {
		t.Errorf("escape-with-syntax: EscapeToken %q", df.EscapeToken)
	}

	// testfile-line: an instruction with continuation lines, blank lines and
	// comments inside it keeps its first and last line.
	data, err := os.ReadFile("testdata/buildkit/testfile-line.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df, err = Parse(bytes.NewReader(data), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	got := [][2]int{{df.Stages[0].From.Line, df.Stages[0].From.EndLine}}
	for _, ins := range df.Stages[0].Instructions {
		got = append(got, [2]int{ins.Line, ins.EndLine})
	}
	if want := [][2]int{{5, 5}, {11, 12}, {17, 31}}; !reflect.DeepEqual(got, want) {
		t.Errorf("lines = %v, want %v", got, want)
	}
}

func parseTestfile(t *testing.T, dir string, addFrom bool) *Dockerfile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/buildkit", dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if addFrom {
		data = append([]byte("FROM scratch\n"), data...)
	}
	df, err := Parse(bytes.NewReader(data), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	return df
}
