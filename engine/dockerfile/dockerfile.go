package dockerfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Dockerfile is a parsed and validated Dockerfile.
type Dockerfile struct {
	Path        string // the name given to Parse, or the path given to ParseFile
	EscapeToken rune   // '\\', or '`' after "# escape=`"
	// MetaArgs are the ARG instructions before the first FROM. Their values are
	// visible only to FROM lines (and to a stage that redeclares them with ARG).
	MetaArgs []*Instruction
	Stages   []*Stage // at least one
	// Warnings are non-fatal findings, each located like an error
	// ("Dockerfile:3: MAINTAINER is deprecated ..."); the CLI prints them as
	// "[WARNING]: <text>".
	Warnings []string
}

// Stage is one FROM line and the instructions after it, up to the next FROM.
type Stage struct {
	Index        int
	Name         string // the AS name, lower-cased; "" if none
	Base         string // the base as written: an image reference, a stage name, "scratch"; may hold $ARGs
	Platform     string // --platform as written (may hold $ARGs); "" if none
	From         *Instruction
	Instructions []*Instruction // after FROM
}

// Instruction is one Dockerfile instruction. Nothing in it is expanded: words hold
// their quotes, escapes and $VARs as written.
type Instruction struct {
	Keyword       string // upper case: "RUN", "COPY", ...
	Line, EndLine int    // 1-based; EndLine > Line for continuations and heredocs
	// Original is the instruction as Docker prints it in "Step 2/3 : RUN apk add
	// --update redis": continuation lines joined, comments between them dropped,
	// surrounding space trimmed, heredoc bodies left out.
	Original string
	// Flags are the --name[=value] options before the arguments, by name without the
	// dashes; nil if none. A boolean flag holds "true" or "false". Flags that only
	// BuildKit implements (RUN --mount, COPY --parents, ...) are refused by Parse.
	Flags map[string][]string
	// Args are the arguments. Shell form of RUN, CMD, ENTRYPOINT and SHELL: one string,
	// the rest of the line. Exec (JSON) form: the array's strings. COPY and ADD: the
	// sources then the destination. HEALTHCHECK: the type (NONE or CMD) then the
	// command as for CMD. ONBUILD: one string, the trigger as Docker stores it in
	// the image config. MAINTAINER, WORKDIR, USER, STOPSIGNAL: one string. ARG, ENV,
	// LABEL: see KeyValues.
	Args []string
	JSON bool // exec form: the arguments were a JSON array of strings
	// Heredocs are the here-documents of RUN, COPY and ADD (shell form), in order.
	Heredocs []Heredoc
	// KeyValues are the pairs of ENV, LABEL and ARG. ENV and LABEL always have a
	// value; an ARG may be declared without one (HasValue false).
	KeyValues []KV
	Health    *Healthcheck // HEALTHCHECK only
	Sub       *Instruction // ONBUILD only: the trigger, parsed and validated
}

// KV is one pair of an ENV, LABEL or ARG instruction, unexpanded.
type KV struct {
	Key      string
	Value    string
	HasValue bool
}

// Heredoc is one here-document:
//
//	COPY <<EOF /etc/motd
//	Hello
//	EOF
//
// gives Name "EOF", Content "Hello\n", Expand true.
type Heredoc struct {
	Name           string // the terminator word, without quotes
	Content        string // the lines between, each with its newline; leading tabs kept
	Expand         bool   // the word was unquoted: expand $VARs in Content (ExpandHeredoc)
	Chomp          bool   // "<<-": strip leading tabs from each line (Data does)
	FileDescriptor uint   // "3<<EOF" gives 3; 0 means stdin
}

// Data is the heredoc's content with leading tabs stripped for "<<-".
func (h Heredoc) Data() string {
	if h.Chomp {
		return parser.ChompHeredocContent(h.Content)
	}
	return h.Content
}

// Healthcheck is a parsed HEALTHCHECK, in the image config's terms. Zero durations
// and retries mean "inherit the default".
type Healthcheck struct {
	// Test is ["NONE"], ["CMD", arg...] (exec form) or ["CMD-SHELL", command].
	Test          []string
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
}

// String is the instruction's Original text.
func (i *Instruction) String() string { return i.Original }

// Flag returns the last value of the flag name (without dashes) and whether it was given.
func (i *Instruction) Flag(name string) (string, bool) {
	v, ok := i.Flags[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// SourcesAndDest splits the arguments of COPY or ADD into the source paths, the
// inline sources (heredocs, in order) and the destination.
func (i *Instruction) SourcesAndDest() (paths []string, inline []Heredoc, dest string) {
	if len(i.Args) == 0 {
		return nil, nil, ""
	}
	byName := make(map[string]Heredoc, len(i.Heredocs))
	for _, h := range i.Heredocs {
		byName[h.Name] = h
	}
	for _, src := range i.Args[:len(i.Args)-1] {
		if h, err := parser.ParseHeredoc(src); err == nil && h != nil && !i.JSON {
			if doc, ok := byName[h.Name]; ok {
				inline = append(inline, doc)
				continue
			}
		}
		paths = append(paths, src)
	}
	return paths, inline, i.Args[len(i.Args)-1]
}

// RunScript is the command text a shell-form RUN hands to the shell ("sh -c <text>"),
// with heredocs resolved as BuildKit does. A RUN that is a single heredoc
// ("RUN <<EOF" ... "EOF") runs that heredoc's body; a heredoc used inside a command
// ("RUN cat <<EOF > /x") is given back to the shell verbatim, body and terminator
// included. (BuildKit runs a single heredoc that starts with "#!" as a script file;
// the builder decides whether to do the same.) For exec form it returns "".
func (i *Instruction) RunScript() string {
	if i.JSON || len(i.Args) != 1 {
		return ""
	}
	cmd := i.Args[0]
	if len(i.Heredocs) == 0 {
		return cmd
	}
	if h, err := parser.ParseHeredoc(cmd); err == nil && h != nil {
		return i.Heredocs[0].Data()
	}
	var b strings.Builder
	b.WriteString(cmd)
	for _, h := range i.Heredocs {
		b.WriteByte('\n')
		b.WriteString(h.Content)
		b.WriteString(h.Name)
	}
	return b.String()
}

// ParseFile reads and parses the Dockerfile at path. Errors name the file by its base name.
func ParseFile(path string) (*Dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open Dockerfile: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads a Dockerfile from r. name is the file's name for error messages
// (its base name is used; "" means "Dockerfile"). Every error is an *Error.
func Parse(r io.Reader, name string) (*Dockerfile, error) {
	file := displayName(name)
	res, err := parser.Parse(r)
	if err != nil {
		return nil, fromParser(file, err)
	}
	df := &Dockerfile{Path: name, EscapeToken: res.EscapeToken}
	if len(res.Warnings) > 0 {
		for _, w := range res.Warnings {
			line := 0
			if w.Location != nil {
				line = w.Location.Start.Line // the instruction's last line: name its first
				for _, node := range res.AST.Children {
					if node.EndLine == line {
						line = node.StartLine
						break
					}
				}
			}
			df.Warnings = append(df.Warnings, fmt.Sprintf("%s:%d: %s", file, line, w.Short))
		}
		df.Warnings = append(df.Warnings, "Empty continuation lines will become errors in a future release.")
	}

	stageNames := map[string]bool{}
	lastLine := 1
	for _, node := range res.AST.Children {
		lastLine = node.StartLine
		ins, err := newInstruction(node, node.Heredocs)
		if err != nil {
			return nil, &Error{File: file, Line: node.StartLine, Msg: err.Error(), Err: err}
		}
		switch {
		case ins.Keyword == "FROM":
			st := &Stage{Index: len(df.Stages), Base: ins.Args[0], From: ins}
			if len(ins.Args) == 3 {
				st.Name = strings.ToLower(ins.Args[2])
				if stageNames[st.Name] {
					return nil, &Error{File: file, Line: ins.Line, Msg: st.Name + " stage name already used"}
				}
				stageNames[st.Name] = true
			}
			st.Platform, _ = ins.Flag("platform")
			df.Stages = append(df.Stages, st)
		case len(df.Stages) == 0 && ins.Keyword == "ARG":
			df.MetaArgs = append(df.MetaArgs, ins)
		case len(df.Stages) == 0:
			return nil, &Error{File: file, Line: ins.Line, Msg: "no build stage in current context"}
		default:
			st := df.Stages[len(df.Stages)-1]
			st.Instructions = append(st.Instructions, ins)
		}
		if ins.Keyword == "MAINTAINER" {
			df.Warnings = append(df.Warnings, fmt.Sprintf(
				"%s:%d: MAINTAINER instruction is deprecated in favor of using label (LABEL maintainer=...)", file, ins.Line))
		}
	}
	if len(df.Stages) == 0 {
		return nil, &Error{File: file, Line: lastLine, Msg: "dockerfile contains no stages to build"}
	}
	return df, nil
}

func displayName(name string) string {
	if name == "" || name == "-" {
		return "Dockerfile"
	}
	return filepath.Base(name)
}
