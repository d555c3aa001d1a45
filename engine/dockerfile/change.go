package dockerfile

import (
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// changeKeywords are the instructions `docker commit --change` and `docker import
// --change` accept (moby's validCommitCommands).
var changeKeywords = map[string]bool{
	"CMD": true, "ENTRYPOINT": true, "ENV": true, "EXPOSE": true, "HEALTHCHECK": true,
	"LABEL": true, "ONBUILD": true, "STOPSIGNAL": true, "USER": true, "VOLUME": true,
	"WORKDIR": true,
}

// ParseChange parses the value of one `--change` option of commit or import, such
// as `CMD ["redis-server"]` or `ENV PATH=/opt/bin:$PATH`. Allowed: CMD, ENTRYPOINT,
// ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR;
// anything else fails with Docker's `RUN is not a valid change command`. Errors are
// *Error values without a file, worded as Docker's daemon words them. The escape
// token of a change is always the backslash.
func ParseChange(line string) (*Instruction, error) {
	list, err := ParseChanges([]string{line})
	if err != nil {
		return nil, err
	}
	if len(list) != 1 {
		return nil, &Error{Msg: "a --change value must hold one instruction, this one holds " +
			strconv.Itoa(len(list)) + ": give each its own --change"}
	}
	return list[0], nil
}

// ParseChanges parses all --change values together, as Docker does (it joins them
// with newlines and parses the result as a Dockerfile), so a value may span lines
// with the escape token.
func ParseChanges(lines []string) ([]*Instruction, error) {
	res, err := parser.Parse(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		return nil, &Error{Msg: err.Error(), Err: err}
	}
	for _, node := range res.AST.Children {
		if !changeKeywords[strings.ToUpper(node.Value)] {
			return nil, &Error{Line: node.StartLine, Msg: node.Value + " is not a valid change command"}
		}
	}
	var out []*Instruction
	for _, node := range res.AST.Children {
		ins, err := newInstruction(node, node.Heredocs)
		if err != nil {
			return nil, &Error{Line: node.StartLine, Msg: err.Error(), Err: err}
		}
		out = append(out, ins)
	}
	return out, nil
}

// ParseTrigger parses one ONBUILD trigger as stored in a base image's config
// (Instruction.Args[0] of the ONBUILD that recorded it), for the downstream build
// that runs it after its FROM.
func ParseTrigger(expr string) (*Instruction, error) {
	res, err := parser.Parse(strings.NewReader(expr))
	if err != nil {
		return nil, &Error{Msg: err.Error(), Err: err}
	}
	if len(res.AST.Children) != 1 {
		return nil, &Error{Msg: "onbuild trigger should be a single expression"}
	}
	node := res.AST.Children[0]
	switch kw := strings.ToUpper(node.Value); kw {
	case "ONBUILD":
		return nil, &Error{Msg: "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"}
	case "MAINTAINER", "FROM":
		return nil, &Error{Msg: kw + " isn't allowed as an ONBUILD trigger"}
	}
	ins, err := newInstruction(node, node.Heredocs)
	if err != nil {
		return nil, &Error{Msg: err.Error(), Err: err}
	}
	return ins, nil
}
