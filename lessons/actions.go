package lessons

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// BuildSpec is a `build` directive: `build [-t NAME]... [--no-cache] [-f FILE] [CONTEXT]`.
type BuildSpec struct {
	Tags       []string
	NoCache    bool
	Dockerfile string // relative to the context; "" is Dockerfile
	Context    string // relative to the workspace; "." by default
}

// RunSpec is a `run` directive: `run [--rm] [-d] [--name NAME]
// [-p HOST:CONTAINER]... [--network NET] [--stop-after DUR] IMAGE [COMMAND...]`.
type RunSpec struct {
	Remove    bool
	Detach    bool // -d: start it and go on, as docker run -d
	Name      string
	Publish   []string      // -p specs, as berth run takes them
	Network   string        // --network; "" is the lesson's default (host, or bridge with -p)
	StopAfter time.Duration // stop a long-running command after this long (0: wait)
	// Ready, with Detach, is text the container's log shows once it
	// serves: the lesson waits for it before going on (--ready).
	Ready string
	Image string
	Cmd   []string
}

// RmSpec is an `rm` directive: `rm [-f] CONTAINER...`.
type RmSpec struct {
	Force      bool
	Containers []string
}

// NetworkSpec is a `network` directive: `network create NAME` or
// `network rm NAME`.
type NetworkSpec struct {
	Op   string // create, rm
	Name string
}

// CommitSpec is a `commit` directive: `commit [-c CHANGE]... CONTAINER [REPO[:TAG]]`.
type CommitSpec struct {
	Changes   []string
	Container string
	Ref       string
}

// EditSpec is an `edit` directive: `edit FILE OP [LINE] [TEXT]` with OP one of
// insert-after, insert-before, replace, delete, append.
type EditSpec struct {
	File string
	Op   string
	Line int
	Text string
}

var showViews = []string{"tree", "layers", "explain", "dockerfile"}

func checkAction(verb string, args []string) error {
	var err error
	switch verb {
	case "build":
		_, err = parseBuild(args)
	case "run":
		_, err = parseRun(args)
	case "commit":
		_, err = parseCommit(args)
	case "rm":
		_, err = parseRm(args)
	case "network":
		_, err = parseNetwork(args)
	case "edit":
		_, err = parseEdit(args)
	case "expect":
		_, err = parseClaim(args)
	case "show":
		if len(args) != 1 || !contains(showViews, args[0]) {
			err = fmt.Errorf("write `show VIEW` with VIEW one of %s", strings.Join(showViews, ", "))
		}
	case "pause":
		if len(args) != 0 {
			err = errors.New("pause takes no arguments")
		}
	default:
		err = fmt.Errorf("unknown directive (known: build, run, commit, rm, network, edit, expect, show, pause, if/else/end)")
	}
	return err
}

func parseBuild(args []string) (BuildSpec, error) {
	s := BuildSpec{Context: "."}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-t" || a == "--tag" || a == "-f" || a == "--file":
			if i+1 >= len(args) {
				return s, fmt.Errorf("%s needs a value", a)
			}
			i++
			if a == "-t" || a == "--tag" {
				s.Tags = append(s.Tags, args[i])
			} else {
				s.Dockerfile = args[i]
			}
		case strings.HasPrefix(a, "--tag="):
			s.Tags = append(s.Tags, strings.TrimPrefix(a, "--tag="))
		case strings.HasPrefix(a, "--file="):
			s.Dockerfile = strings.TrimPrefix(a, "--file=")
		case a == "--no-cache":
			s.NoCache = true
		case strings.HasPrefix(a, "-") && a != "-":
			return s, fmt.Errorf("unknown flag %s (lessons support -t, -f and --no-cache)", a)
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) > 1 {
		return s, fmt.Errorf("one build context, got %q", pos)
	}
	if len(pos) == 1 {
		if pos[0] == "-" || strings.HasPrefix(pos[0], "/") || strings.Contains(pos[0], "..") {
			return s, fmt.Errorf("the context %q must be a directory inside the workspace", pos[0])
		}
		s.Context = pos[0]
	}
	return s, nil
}

func parseRun(args []string) (RunSpec, error) {
	var s RunSpec
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		a := args[i]
		switch a {
		case "--rm":
			s.Remove = true
		case "-d", "--detach":
			s.Detach = true
		case "--name", "--stop-after", "-p", "--publish", "--network", "--ready":
			if i+1 >= len(args) {
				return s, fmt.Errorf("%s needs a value", a)
			}
			i++
			if err := s.setValue(a, args[i]); err != nil {
				return s, err
			}
		default:
			return s, fmt.Errorf("unknown flag %s (lessons support --rm, -d, --name, -p, --network, --ready and --stop-after)", a)
		}
	}
	if i >= len(args) {
		return s, errors.New("name the image to run")
	}
	if s.Detach && (s.Remove || s.StopAfter > 0) {
		return s, errors.New("-d goes on at once: it takes neither --rm nor --stop-after (remove the container with an rm directive)")
	}
	if s.Ready != "" && !s.Detach {
		return s, errors.New("--ready waits for a detached container's log: use it with -d")
	}
	s.Image = args[i]
	s.Cmd = args[i+1:]
	return s, nil
}

// setValue sets a run flag that takes a value.
func (s *RunSpec) setValue(flag, v string) error {
	switch flag {
	case "--name":
		s.Name = v
	case "-p", "--publish":
		s.Publish = append(s.Publish, v)
	case "--network":
		s.Network = v
	case "--ready":
		s.Ready = v
	case "--stop-after":
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("--stop-after %q: give a duration like 5s", v)
		}
		s.StopAfter = d
	}
	return nil
}

func parseRm(args []string) (RmSpec, error) {
	var s RmSpec
	for _, a := range args {
		switch {
		case a == "-f" || a == "--force":
			s.Force = true
		case strings.HasPrefix(a, "-"):
			return s, fmt.Errorf("unknown flag %s (lessons support -f)", a)
		default:
			s.Containers = append(s.Containers, a)
		}
	}
	if len(s.Containers) == 0 {
		return s, errors.New("write `rm [-f] CONTAINER...`")
	}
	return s, nil
}

func parseNetwork(args []string) (NetworkSpec, error) {
	if len(args) != 2 || (args[0] != "create" && args[0] != "rm") || strings.HasPrefix(args[1], "-") {
		return NetworkSpec{}, errors.New("write `network create NAME` or `network rm NAME`")
	}
	return NetworkSpec{Op: args[0], Name: args[1]}, nil
}

func parseCommit(args []string) (CommitSpec, error) {
	var s CommitSpec
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-c" || a == "--change":
			if i+1 >= len(args) {
				return s, fmt.Errorf("%s needs a value", a)
			}
			i++
			s.Changes = append(s.Changes, args[i])
		case strings.HasPrefix(a, "--change="):
			s.Changes = append(s.Changes, strings.TrimPrefix(a, "--change="))
		case strings.HasPrefix(a, "-"):
			return s, fmt.Errorf("unknown flag %s (lessons support -c)", a)
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) < 1 || len(pos) > 2 {
		return s, errors.New("write `commit [-c CHANGE]... CONTAINER [REPO[:TAG]]`")
	}
	s.Container = pos[0]
	if len(pos) == 2 {
		s.Ref = pos[1]
	}
	return s, nil
}

func parseEdit(args []string) (EditSpec, error) {
	var s EditSpec
	if len(args) < 2 {
		return s, errors.New("write `edit FILE OP [LINE] [TEXT]` (OP: insert-after, insert-before, replace, delete, append)")
	}
	s.File, s.Op = args[0], args[1]
	if strings.HasPrefix(s.File, "/") || strings.Contains(s.File, "..") {
		return s, fmt.Errorf("%q: edit a file inside the workspace", s.File)
	}
	rest := args[2:]
	needLine := s.Op != "append"
	needText := s.Op != "delete"
	switch s.Op {
	case "insert-after", "insert-before", "replace", "delete", "append":
	default:
		return s, fmt.Errorf("unknown edit %q (insert-after, insert-before, replace, delete, append)", s.Op)
	}
	if needLine {
		if len(rest) == 0 {
			return s, fmt.Errorf("%s needs a line number", s.Op)
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 0 {
			return s, fmt.Errorf("%s: %q is not a line number", s.Op, rest[0])
		}
		s.Line = n
		rest = rest[1:]
	}
	if needText {
		if len(rest) != 1 {
			return s, fmt.Errorf("%s needs the text as one quoted argument", s.Op)
		}
		s.Text = rest[0]
	} else if len(rest) != 0 {
		return s, errors.New("delete takes only a line number")
	}
	return s, nil
}

// applyEdit changes the text of a file as an edit directive says.
func applyEdit(content string, e EditSpec) (string, error) {
	lines := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
	if content == "" {
		lines = nil
	}
	check := func(max int) error {
		if e.Line < 1 || e.Line > max {
			return fmt.Errorf("edit %s %s %d: the file has %d lines", e.File, e.Op, e.Line, len(lines))
		}
		return nil
	}
	switch e.Op {
	case "insert-after":
		if e.Line < 0 || e.Line > len(lines) {
			return "", fmt.Errorf("edit %s insert-after %d: the file has %d lines", e.File, e.Line, len(lines))
		}
		lines = append(lines[:e.Line], append([]string{e.Text}, lines[e.Line:]...)...)
	case "insert-before":
		if err := check(len(lines)); err != nil {
			return "", err
		}
		lines = append(lines[:e.Line-1], append([]string{e.Text}, lines[e.Line-1:]...)...)
	case "replace":
		if err := check(len(lines)); err != nil {
			return "", err
		}
		lines[e.Line-1] = e.Text
	case "delete":
		if err := check(len(lines)); err != nil {
			return "", err
		}
		lines = append(lines[:e.Line-1], lines[e.Line:]...)
	case "append":
		lines = append(lines, e.Text)
	}
	return strings.Join(lines, "\n") + "\n", nil
}
