package view

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The views must not depend on the lesson runner or the engine: an
// instructor renders a trace file on any laptop. Of Berth's packages, only
// package trace may be imported (it uses only the standard library).
func TestImportsPointOneWay(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/berthkit/berth"
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, module+"/") && path != module+"/trace" {
				t.Errorf("%s imports %s: trace/view may import only %s/trace", f, path, module)
			}
		}
	}
}
