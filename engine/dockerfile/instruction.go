package dockerfile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/internal/lazyre"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// dockerError carries a message in Docker's exact wording. Several of Docker's
// messages start with a capital letter ("Unknown flag: foo"); this type keeps them
// verbatim without tripping Go's lint rule for error strings.
type dockerError struct{ msg string }

func (e *dockerError) Error() string { return e.msg }

func errf(format string, args ...any) error {
	return &dockerError{msg: fmt.Sprintf(format, args...)}
}

// keywords are the instructions Berth accepts.
var keywords = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true,
	"EXPOSE": true, "FROM": true, "HEALTHCHECK": true, "LABEL": true, "MAINTAINER": true,
	"ONBUILD": true, "RUN": true, "SHELL": true, "STOPSIGNAL": true, "USER": true,
	"VOLUME": true, "WORKDIR": true,
}

// validStageName is BuildKit's rule for an AS name (after lower-casing).
var validStageName = lazyre.New(`^[a-z][a-z0-9-_.]*$`)

var onbuildPrefix = lazyre.New(`(?i)^\s*ONBUILD\s*`)

// newInstruction converts one node of BuildKit's AST into a validated Instruction.
// heredocs are the node's here-documents (for an ONBUILD trigger, its parent's).
// Errors carry Docker's wording without a location; the caller adds it.
func newInstruction(node *parser.Node, heredocs []parser.Heredoc) (*Instruction, error) {
	keyword := strings.ToUpper(node.Value)
	if !keywords[keyword] {
		return nil, errf("unknown instruction: %s", node.Value)
	}
	ins := &Instruction{
		Keyword:  keyword,
		Line:     node.StartLine,
		EndLine:  node.EndLine,
		Original: strings.TrimSpace(node.Original),
		JSON:     node.Attributes["json"],
	}
	for _, h := range heredocs {
		ins.Heredocs = append(ins.Heredocs, Heredoc{
			Name: h.Name, Content: h.Content, Expand: h.Expand, Chomp: h.Chomp, FileDescriptor: h.FileDescriptor,
		})
	}
	flags, err := parseFlags(keyword, node.Flags)
	if err != nil {
		return nil, err
	}
	ins.Flags = flags

	if keyword == "ONBUILD" {
		return ins, onbuild(ins, node, heredocs)
	}
	ins.Args = nodeArgs(node)
	if check, ok := argChecks[keyword]; ok {
		if err := check(ins); err != nil {
			return nil, err
		}
	}
	return ins, nil
}

// argChecks validate an instruction's arguments, one function per
// instruction, with BuildKit's and Docker's wording, and fill what they
// parse (KeyValues, Health). CMD and ENTRYPOINT need none: both may be
// empty ("ENTRYPOINT []" resets the entrypoint).
var argChecks = map[string]func(ins *Instruction) error{
	"FROM":        checkFrom,
	"RUN":         checkRun,
	"ENV":         checkKeyValues,
	"LABEL":       checkKeyValues,
	"ARG":         checkArg,
	"MAINTAINER":  checkOne,
	"WORKDIR":     checkOne,
	"USER":        checkOne,
	"STOPSIGNAL":  checkOne,
	"EXPOSE":      checkExpose,
	"VOLUME":      checkVolume,
	"SHELL":       checkShell,
	"COPY":        checkCopy,
	"ADD":         checkCopy,
	"HEALTHCHECK": checkHealthcheck,
}

func checkFrom(ins *Instruction) error {
	args := ins.Args
	switch {
	case len(args) == 3 && strings.EqualFold(args[1], "AS"):
		if !validStageName.MatchString(strings.ToLower(args[2])) {
			return errf("invalid name for build stage: %q, name can't start with a number or contain symbols", args[2])
		}
	case len(args) != 1:
		return errf("FROM requires either one or three arguments")
	}
	return nil
}

func checkRun(ins *Instruction) error {
	if len(ins.Args) == 0 {
		return errAtLeastOne(ins.Keyword)
	}
	if mode, ok := ins.Flag("network"); ok {
		switch mode {
		case "default", "none", "host":
		default:
			return errf("invalid network mode %q (use default, none or host)", mode)
		}
	}
	return nil
}

// checkKeyValues reads ENV and LABEL pairs: the parser gives them as
// (key, value, separator) triples.
func checkKeyValues(ins *Instruction) error {
	args := ins.Args
	if len(args) == 0 {
		return errAtLeastOne(ins.Keyword)
	}
	if len(args)%3 != 0 {
		return errf("Bad input to %s, too many arguments", ins.Keyword)
	}
	for j := 0; j < len(args); j += 3 {
		if args[j] == "" {
			return errf("%s names can not be blank", ins.Keyword)
		}
		ins.KeyValues = append(ins.KeyValues, KV{Key: args[j], Value: args[j+1], HasValue: true})
	}
	return nil
}

func checkArg(ins *Instruction) error {
	if len(ins.Args) == 0 {
		return errAtLeastOne(ins.Keyword)
	}
	for _, a := range ins.Args {
		key, value, has := strings.Cut(a, "=")
		if key == "" {
			return errf("ARG names can not be blank")
		}
		ins.KeyValues = append(ins.KeyValues, KV{Key: key, Value: value, HasValue: has})
	}
	return nil
}

func checkOne(ins *Instruction) error {
	if len(ins.Args) != 1 {
		return errf("%s requires exactly one argument", ins.Keyword)
	}
	// A literal signal is checked now; one with variables once expanded.
	if ins.Keyword == "STOPSIGNAL" && !strings.Contains(ins.Args[0], "$") {
		return ValidateSignal(ins.Args[0])
	}
	return nil
}

func checkExpose(ins *Instruction) error {
	if len(ins.Args) == 0 {
		return errAtLeastOne(ins.Keyword)
	}
	for _, a := range ins.Args {
		if !strings.Contains(a, "$") {
			if _, err := ExposedPorts(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkVolume(ins *Instruction) error {
	if len(ins.Args) == 0 {
		return errAtLeastOne(ins.Keyword)
	}
	for i, v := range ins.Args {
		ins.Args[i] = strings.TrimSpace(v)
		if ins.Args[i] == "" {
			return errf("VOLUME specified can not be an empty string")
		}
	}
	return nil
}

func checkShell(ins *Instruction) error {
	if len(ins.Args) == 0 {
		return errAtLeastOne(ins.Keyword)
	}
	if !ins.JSON {
		return errf("SHELL requires the arguments to be in JSON form")
	}
	return nil
}

func checkCopy(ins *Instruction) error {
	args := ins.Args
	if len(args) < 2 {
		return errf("%s requires at least two arguments, but only one was provided. Destination could not be determined", ins.Keyword)
	}
	if h, _ := parser.ParseHeredoc(args[len(args)-1]); h != nil {
		return errf("%s cannot accept a heredoc as a destination", ins.Keyword)
	}
	return nil
}

func checkHealthcheck(ins *Instruction) error {
	hc, err := healthcheck(ins)
	if err != nil {
		return err
	}
	ins.Health = hc
	return nil
}

func errAtLeastOne(keyword string) error {
	return errf("%s requires at least one argument", keyword)
}

// nodeArgs lists the argument nodes after the instruction word.
func nodeArgs(node *parser.Node) []string {
	args := []string{}
	for n := node.Next; n != nil; n = n.Next {
		args = append(args, n.Value)
	}
	return args
}

// onbuild fills an ONBUILD instruction: Args holds the trigger text as Docker stores
// it in the image config (heredoc bodies included), Sub the parsed trigger.
func onbuild(ins *Instruction, node *parser.Node, heredocs []parser.Heredoc) error {
	if node.Next == nil || len(node.Next.Children) == 0 {
		return errAtLeastOne("ONBUILD")
	}
	child := node.Next.Children[0]
	switch trigger := strings.ToUpper(child.Value); trigger {
	case "ONBUILD":
		return errf("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
	case "MAINTAINER", "FROM":
		return errf("%s isn't allowed as an ONBUILD trigger", trigger)
	}
	child.StartLine, child.EndLine = node.StartLine, node.EndLine
	sub, err := newInstruction(child, heredocs)
	if err != nil {
		return err
	}
	ins.Sub = sub
	ins.Heredocs = nil // they belong to the trigger
	expr := onbuildPrefix.ReplaceAllString(node.Original, "")
	if len(heredocs) > 0 {
		var b strings.Builder
		b.WriteString(expr)
		for _, h := range heredocs {
			b.WriteByte('\n')
			b.WriteString(h.Content)
			b.WriteString(h.Name)
		}
		expr = b.String()
	}
	ins.Args = []string{expr}
	return nil
}

// healthcheck validates a HEALTHCHECK as BuildKit does and returns its config.
func healthcheck(ins *Instruction) (*Healthcheck, error) {
	if len(ins.Args) == 0 {
		return nil, errAtLeastOne("HEALTHCHECK")
	}
	typ := strings.ToUpper(ins.Args[0])
	cmd := ins.Args[1:]
	if typ == "NONE" {
		if len(cmd) != 0 {
			return nil, errf("HEALTHCHECK NONE takes no arguments")
		}
		return &Healthcheck{Test: []string{"NONE"}}, nil
	}
	if typ != "CMD" {
		return nil, errf("Unknown type %#v in HEALTHCHECK (try CMD)", typ)
	}
	if len(cmd) == 0 {
		return nil, errf("Missing command after HEALTHCHECK CMD")
	}
	hc := &Healthcheck{}
	if ins.JSON {
		hc.Test = append([]string{"CMD"}, cmd...)
	} else {
		hc.Test = []string{"CMD-SHELL", strings.Join(cmd, " ")}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"interval", &hc.Interval}, {"timeout", &hc.Timeout},
		{"start-period", &hc.StartPeriod}, {"start-interval", &hc.StartInterval},
	} {
		v, ok := ins.Flag(d.name)
		if !ok || v == "" {
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil {
			return nil, err
		}
		if dur != 0 && dur < time.Millisecond {
			return nil, errf("Interval %#v cannot be less than %s", d.name, time.Millisecond)
		}
		*d.dst = dur
	}
	if v, ok := ins.Flag("retries"); ok && v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, errf("--retries cannot be negative (%d)", n)
		}
		hc.Retries = int(n)
	}
	return hc, nil
}
