package lessons

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/berthkit/berth/internal/lazyre"
)

// Lesson is one parsed lesson file: its header and its blocks in order.
type Lesson struct {
	Name     string // short name: `berth lesson NAME`
	Title    string
	Duration string // as written: "5 min"
	Needs    string // what it runs: "build, run"
	Notes    string // the section of the course notes it follows
	// Source names where the lesson came from: "embedded" or a file path.
	Source string
	Blocks []Block
}

// BlockKind says what a Block is.
type BlockKind int

// Block kinds.
const (
	// Prose is text printed as it is reached.
	Prose BlockKind = iota
	// Heading is a Markdown heading; Level 1 is the lesson's title.
	Heading
	// Code is a fenced block; with File set it is also written into the
	// workspace before the next action.
	Code
	// Action is a `<!-- berth: ... -->` directive.
	Action
	// Annotation is an `<!-- on: ... -->` comment and the text after it,
	// printed when a matching event of the preceding action is narrated.
	Annotation
)

// Block is one piece of a lesson.
type Block struct {
	Kind  BlockKind
	Line  int // 1-based line in the file
	Level int // Heading level
	Text  string
	// Lang and File are a Code block's info string: ```dockerfile file=Dockerfile.
	Lang string
	File string
	// Action and Args are a directive's verb and words (`build`, [-t x .]).
	Action string
	Args   []string
	// Directive is the directive as written, after `berth:`.
	Directive string
	// On is an Annotation's event pattern.
	On *Pattern
	// Bases restricts the block to some bases (from `if base=...`); nil is every base.
	Bases []string
	// Modes restricts the block to root or rootless mode (from `if
	// mode=...`); nil is both.
	Modes []string
}

// The engine modes a live lesson can run in (engine.ModeRoot and
// engine.ModeRootless); a replay is of a recording made as root.
const (
	ModeRoot     = "root"
	ModeRootless = "rootless"
)

var modeNames = []string{ModeRoot, ModeRootless}

// Pattern selects events for an annotation: a type and field conditions.
type Pattern struct {
	Type  string
	Where map[string]string // payload field (JSON name) or step/instruction -> wanted value
	Every bool              // fire at every matching event, not only the first
	// Optional marks an annotation for an event that may not happen (a pull
	// only happens when the base is missing); tests do not require it.
	Optional bool
	// Keys keeps the order the conditions were written in, for messages.
	Keys []string
}

func (p *Pattern) String() string {
	var b strings.Builder
	b.WriteString(p.Type)
	for _, k := range p.Keys {
		fmt.Fprintf(&b, " %s=%s", k, p.Where[k])
	}
	if p.Every {
		b.WriteString(" every")
	}
	if p.Optional {
		b.WriteString(" optional")
	}
	return b.String()
}

// The patterns compile on first use (lazyre): every berth process links
// this package, and only the lesson verbs parse lessons.
var (
	directiveRE = lazyre.New(`^<!--\s*(berth|on)\s*:\s*(.*?)\s*-->\s*$`)
	commentRE   = lazyre.New(`^<!--.*-->\s*$`)
	headingRE   = lazyre.New(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	fenceRE     = lazyre.New("^(```+|~~~+)\\s*(.*)$")
	nameRE      = lazyre.New(`^[a-z0-9][a-z0-9-]*$`)
	// rawCmdClaimRE is `expect image cmd ["redis-server"]`.
	rawCmdClaimRE = lazyre.New(`^expect\s+image\s+cmd\s+(\[.*\])\s*$`)
)

// ParseError points at a line of a lesson file.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Parse reads a lesson file. file names it in errors; the lesson's name
// defaults to the file's base name without ".md".
func Parse(file string, data []byte) (*Lesson, error) {
	p := &parser{file: file, lesson: &Lesson{Source: file}}
	if err := p.parse(data); err != nil {
		return nil, err
	}
	l := p.lesson
	if l.Name == "" {
		l.Name = strings.TrimSuffix(path.Base(strings.ReplaceAll(file, "\\", "/")), ".md")
	}
	if l.Title == "" {
		for _, b := range l.Blocks {
			if b.Kind == Heading && b.Level == 1 {
				l.Title = b.Text
				break
			}
		}
	}
	if l.Title == "" {
		l.Title = l.Name
	}
	if err := l.validate(file); err != nil {
		return nil, err
	}
	return l, nil
}

type parser struct {
	file   string
	lesson *Lesson
	// bases and modes are the open `if` condition; inElse flips it.
	bases  []string
	modes  []string
	inIf   bool
	ifLine int
	inElse bool
	// prose collects lines of the current prose or annotation block.
	cur *Block
}

func (p *parser) errf(line int, format string, args ...any) error {
	return &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// active is the restriction (of bases or modes, all of them known) for
// blocks added now: the open `if`'s, or in its `else` the others.
func (p *parser) active(cond, all []string) []string {
	if !p.inIf || !p.inElse || cond == nil {
		return cond
	}
	var out []string
	for _, b := range all {
		if !contains(cond, b) {
			out = append(out, b)
		}
	}
	return out
}

func (p *parser) add(b Block) {
	b.Bases = p.active(p.bases, BaseNames())
	b.Modes = p.active(p.modes, modeNames)
	p.lesson.Blocks = append(p.lesson.Blocks, b)
}

// flush ends the current prose or annotation block.
func (p *parser) flush() {
	if p.cur == nil {
		return
	}
	p.cur.Text = strings.Trim(p.cur.Text, "\n")
	if p.cur.Kind == Annotation || strings.TrimSpace(p.cur.Text) != "" {
		p.add(*p.cur)
	}
	p.cur = nil
}

func (p *parser) text(line int, s string) {
	if p.cur != nil && p.cur.Kind == Annotation && strings.TrimSpace(s) == "" && strings.TrimSpace(p.cur.Text) != "" {
		// An annotation is one paragraph: a blank line ends it.
		p.flush()
		return
	}
	if p.cur == nil {
		p.cur = &Block{Kind: Prose, Line: line}
	}
	p.cur.Text += s + "\n"
}

func (p *parser) parse(data []byte) error {
	lines := splitLines(data)
	i, err := p.frontMatter(lines)
	if err != nil {
		return err
	}
	for ; i < len(lines); i++ {
		n := i + 1
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if m := fenceRE.FindStringSubmatch(trimmed); m != nil {
			if i, err = p.fence(lines, i, m[1], m[2]); err != nil {
				return err
			}
			continue
		}
		if m := directiveRE.FindStringSubmatch(trimmed); m != nil {
			p.flush()
			if err := p.directive(n, m[1], m[2]); err != nil {
				return err
			}
			continue
		}
		if strings.HasPrefix(trimmed, "<!--") {
			if i, err = p.comment(lines, i); err != nil {
				return err
			}
			continue
		}
		if m := headingRE.FindStringSubmatch(line); m != nil {
			p.flush()
			p.add(Block{Kind: Heading, Line: n, Level: len(m[1]), Text: m[2]})
			continue
		}
		p.text(n, line)
	}
	p.flush()
	if p.inIf {
		return p.errf(p.ifLine, "`if` has no matching <!-- berth: end -->")
	}
	return nil
}

// frontMatter reads the header between --- lines, if the file starts with
// one, and returns the index of the first line after it.
func (p *parser) frontMatter(lines []string) (int, error) {
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "---" {
		return 0, nil
	}
	for j := 1; j < len(lines); j++ {
		if strings.TrimSpace(lines[j]) == "---" {
			return j + 1, p.header(lines[1:j])
		}
	}
	return 0, p.errf(1, "the header that starts with --- has no closing ---")
}

// fence reads the code block that opens at lines[i] and returns the index
// of its closing fence. Inside an annotation the block is part of its text.
func (p *parser) fence(lines []string, i int, fence, info string) (int, error) {
	n := i + 1
	end := closingFence(lines, i, fence)
	if end < 0 {
		return i, p.errf(n, "code block has no closing %s", fence)
	}
	if p.cur != nil && p.cur.Kind == Annotation {
		for j := i; j <= end; j++ {
			p.text(j+1, lines[j])
		}
		return end, nil
	}
	p.flush()
	b := Block{Kind: Code, Line: n, Text: strings.Join(lines[i+1:end], "\n") + "\n"}
	if err := p.fenceInfo(n, info, &b); err != nil {
		return i, err
	}
	if end == i+1 {
		b.Text = ""
	}
	p.add(b)
	return end, nil
}

// comment skips an HTML comment that is not a directive (the author's own
// notes; it may span lines) and returns the index of its last line.
func (p *parser) comment(lines []string, i int) (int, error) {
	n := i + 1
	trimmed := strings.TrimSpace(lines[i])
	if commentRE.MatchString(trimmed) {
		return i, nil
	}
	if strings.Contains(trimmed, "berth:") || strings.Contains(trimmed, "on:") {
		return i, p.errf(n, "directives must fit on one line: <!-- berth: ... -->")
	}
	for ; i < len(lines) && !strings.Contains(lines[i], "-->"); i++ {
	}
	if i == len(lines) {
		return i, p.errf(n, "comment has no closing -->")
	}
	return i, nil
}

func closingFence(lines []string, start int, fence string) int {
	for j := start + 1; j < len(lines); j++ {
		t := strings.TrimSpace(lines[j])
		if strings.HasPrefix(t, fence[:3]) && strings.Trim(t, fence[:1]) == "" && len(t) >= len(fence) {
			return j
		}
	}
	return -1
}

func splitLines(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		out = append(out, strings.TrimRight(sc.Text(), "\r"))
	}
	return out
}

func (p *parser) header(lines []string) error {
	l := p.lesson
	for i, line := range lines {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return p.errf(i+2, "header line %q is not `key: value`", line)
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "name":
			if !nameRE.MatchString(v) {
				return p.errf(i+2, "name %q: use lower-case letters, digits and dashes", v)
			}
			l.Name = v
		case "title":
			l.Title = v
		case "duration":
			l.Duration = v
		case "needs":
			l.Needs = v
		case "notes":
			l.Notes = v
		default:
			return p.errf(i+2, "unknown header key %q (known: name, title, duration, needs, notes)", k)
		}
	}
	return nil
}

func (p *parser) fenceInfo(line int, info string, b *Block) error {
	words, err := splitWords(info)
	if err != nil {
		return p.errf(line, "code block info: %v", err)
	}
	for i, w := range words {
		if k, v, ok := strings.Cut(w, "="); ok {
			switch k {
			case "file":
				if v == "" || strings.HasPrefix(v, "/") || strings.Contains(v, "..") {
					return p.errf(line, "file=%q: give a path inside the workspace", v)
				}
				b.File = v
			default:
				return p.errf(line, "unknown code block attribute %q (known: file)", k)
			}
			continue
		}
		if i == 0 {
			b.Lang = w
		}
	}
	if b.Lang == "dockerfile" && b.File == "" {
		b.File = "Dockerfile"
	}
	return nil
}

func (p *parser) directive(line int, kind, body string) error {
	if kind == "on" {
		pat, err := parsePattern(body)
		if err != nil {
			return p.errf(line, "%v", err)
		}
		p.cur = &Block{Kind: Annotation, Line: line, On: pat, Directive: body}
		return nil
	}
	words, err := splitWords(body)
	if err != nil {
		return p.errf(line, "%v", err)
	}
	if len(words) == 0 {
		return p.errf(line, "empty directive")
	}
	verb := words[0]
	switch verb {
	case "if":
		return p.ifCondition(line, words[1:])
	case "else":
		if !p.inIf || p.inElse {
			return p.errf(line, "`else` without `if`")
		}
		if p.bases != nil && p.modes != nil {
			return p.errf(line, "`else` after an `if` on both base and mode is ambiguous: write a second `if`")
		}
		p.inElse = true
		return nil
	case "end":
		if !p.inIf {
			return p.errf(line, "`end` without `if`")
		}
		p.inIf, p.inElse, p.bases, p.modes = false, false, nil, nil
		return nil
	}
	if m := rawCmdClaimRE.FindStringSubmatch(body); m != nil {
		// A JSON array reads best as written: keep its quotes.
		words = []string{"expect", "image", "cmd", m[1]}
	}
	if err := checkAction(verb, words[1:]); err != nil {
		return p.errf(line, "%s: %v", verb, err)
	}
	p.add(Block{Kind: Action, Line: line, Action: verb, Args: words[1:], Directive: body})
	return nil
}

// ifCondition opens `if base=NAME[,NAME...] mode=root|rootless` (either
// or both).
func (p *parser) ifCondition(line int, words []string) error {
	if p.inIf {
		return p.errf(line, "`if` inside `if` (line %d) is not supported", p.ifLine)
	}
	var bases, modes []string
	for _, w := range words {
		key, list, _ := strings.Cut(w, "=")
		switch {
		case key == "base" && bases == nil:
			bases = strings.Split(list, ",")
			for _, b := range bases {
				if _, ok := baseProfiles[b]; !ok {
					return p.errf(line, "unknown base %q (known: %s)", b, strings.Join(BaseNames(), ", "))
				}
			}
		case key == "mode" && modes == nil:
			modes = strings.Split(list, ",")
			for _, m := range modes {
				if !contains(modeNames, m) {
					return p.errf(line, "unknown mode %q (known: %s)", m, strings.Join(modeNames, ", "))
				}
			}
		default:
			return p.errf(line, "write `if base=NAME[,NAME...]`, `if mode=root|rootless` or both")
		}
	}
	if bases == nil && modes == nil {
		return p.errf(line, "write `if base=NAME[,NAME...]`, `if mode=root|rootless` or both")
	}
	p.inIf, p.ifLine, p.bases, p.modes, p.inElse = true, line, bases, modes, false
	return nil
}

func parsePattern(body string) (*Pattern, error) {
	words, err := splitWords(body)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("`on:` needs an event type, e.g. <!-- on: container.create purpose=build -->")
	}
	p := &Pattern{Type: words[0], Where: map[string]string{}}
	if !knownEventTypes[p.Type] {
		return nil, fmt.Errorf("unknown event type %q in `on:` (see docs/trace.md)", p.Type)
	}
	for _, w := range words[1:] {
		if w == "every" {
			p.Every = true
			continue
		}
		if w == "optional" {
			p.Optional = true
			continue
		}
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("condition %q: write field=value", w)
		}
		if _, dup := p.Where[k]; !dup {
			p.Keys = append(p.Keys, k)
		}
		p.Where[k] = v
	}
	return p, nil
}

// splitWords splits a directive into words: spaces separate, "double quotes"
// take Go escapes, 'single quotes' are literal.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '"':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					j++
					continue
				}
				if s[j] == '"' {
					break
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unclosed \" in %q", s)
			}
			u, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("bad quoted string %s: %v", s[i:j+1], err)
			}
			cur.WriteString(u)
			inWord = true
			i = j
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unclosed ' in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

var knownEventTypes = map[string]bool{
	"build.start": true, "build.end": true, "step.start": true, "step.end": true, "cache.probe": true,
	"container.create": true, "container.start": true, "container.exit": true, "container.remove": true,
	"container.pause": true, "container.unpause": true, "output": true, "snapshot": true, "layer": true,
	"image": true, "tag": true, "pull.start": true, "pull.blob": true, "pull.end": true,
	"push.blob": true, "push.end": true, "message": true,
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validate checks what can be checked before running: placeholders name
// things that exist and every annotation follows an engine action.
func (l *Lesson) validate(file string) error {
	seenAction := false
	for _, b := range l.Blocks {
		for _, text := range append([]string{b.Text}, b.Args...) {
			if err := checkPlaceholders(text); err != nil {
				return &ParseError{File: file, Line: b.Line, Msg: err.Error()}
			}
		}
		switch b.Kind {
		case Action:
			if engineActions[b.Action] {
				seenAction = true
			}
		case Annotation:
			if !seenAction {
				return &ParseError{File: file, Line: b.Line, Msg: "an annotation (<!-- on: ... -->) must follow a build, run or commit directive"}
			}
		}
	}
	return nil
}

// For returns the lesson resolved for one base and engine mode (ModeRoot,
// ModeRootless; "" is root, as recordings are made): only the blocks that
// apply.
func (l *Lesson) For(base, mode string) []Block {
	if mode == "" {
		mode = ModeRoot
	}
	var out []Block
	for _, b := range l.Blocks {
		if (b.Bases == nil || contains(b.Bases, base)) && (b.Modes == nil || contains(b.Modes, mode)) {
			out = append(out, b)
		}
	}
	return out
}

// EngineActions lists the directives, resolved for base and mode, that
// make the engine do something (and so have events in a recording), in
// order.
func (l *Lesson) EngineActions(base, mode string) []Block {
	var out []Block
	for _, b := range l.For(base, mode) {
		if b.Kind == Action && engineActions[b.Action] {
			out = append(out, b)
		}
	}
	return out
}

// engineActions are the directives whose events a recording holds.
var engineActions = map[string]bool{"build": true, "run": true, "commit": true, "rm": true, "network": true}
