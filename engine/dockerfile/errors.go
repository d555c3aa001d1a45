package dockerfile

import (
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Error is a problem in a Dockerfile, located by file and line:
//
//	Dockerfile:2: unknown instruction: RUNN
//
// File is the name given to Parse (ParseFile uses the file's base name). An Error
// without a File (from ParseChange or ParseTrigger) prints only its message, as Docker
// does for `commit --change`.
type Error struct {
	File string
	Line int    // 1-based
	Msg  string // Docker's wording, without the location
	Err  error  // the underlying error, if any (for errors.Is/As)
}

func (e *Error) Error() string {
	if e.File == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorAt returns an *Error for a problem the builder finds at ins, such as a failed
// variable expansion, so that it names the file and line like the parse errors do.
func (df *Dockerfile) ErrorAt(ins *Instruction, err error) *Error {
	return &Error{File: displayName(df.Path), Line: ins.Line, Msg: err.Error(), Err: err}
}

// fromParser converts an error of BuildKit's parser into an *Error with the line the
// parser reported. The parser reports the two directive errors one line early (its line
// counter is 0-based at that point), so those are corrected here.
func fromParser(file string, err error) *Error {
	line := 0
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		line = le.Locations[0][0].Start.Line
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "invalid escape token") ||
		(strings.HasPrefix(msg, "only one ") && strings.HasSuffix(msg, " parser directive can be used")) {
		line++
	}
	if line < 1 {
		line = 1
	}
	return &Error{File: file, Line: line, Msg: msg, Err: err}
}
