package lessons

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
)

const sampleLesson = `---
name: sample
title: A sample
duration: 2 min
needs: build
notes: Rebuilds with Cache
---

# Sample

Some prose
over two lines.

` + "```dockerfile" + `
FROM {{base}}
RUN {{install redis}}
` + "```" + `

` + "```text file=conf/app.txt" + `
hello
` + "```" + `

<!-- an author's note, ignored -->
<!-- berth: build -t me/app:1 --no-cache . -->

<!-- on: cache.probe step=2 hit=true -->
Step 2 is cached.

Prose after the annotation.

<!-- on: container.create purpose=build instruction=RUN every -->
A container.
<!-- berth: expect steps 2-3,5 cached -->
<!-- berth: expect image cmd ["redis-server"] -->
<!-- berth: if base=busybox -->
Busybox only.
<!-- berth: else -->
Not busybox.
<!-- berth: end -->
<!-- berth: edit Dockerfile insert-after 2 "RUN echo \"hi\"" -->
<!-- berth: run --rm --name box --stop-after 3s {{image}} sh -c 'echo a b' -->
<!-- berth: commit -c 'CMD ["redis-server"]' box me/manual:latest -->
`

func TestParseLesson(t *testing.T) {
	l, err := Parse("sample.md", []byte(sampleLesson))
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "sample" || l.Title != "A sample" || l.Duration != "2 min" || l.Needs != "build" || l.Notes != "Rebuilds with Cache" {
		t.Fatalf("header: %+v", l)
	}
	var kinds []BlockKind
	for _, b := range l.Blocks {
		kinds = append(kinds, b.Kind)
	}
	want := []BlockKind{Heading, Prose, Code, Code, Action, Annotation, Prose, Annotation, Action, Action, Prose, Prose, Action, Action, Action}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("blocks %v, want %v", kinds, want)
	}
	b := l.Blocks
	if b[1].Text != "Some prose\nover two lines." {
		t.Errorf("prose %q", b[1].Text)
	}
	if b[2].File != "Dockerfile" || b[2].Text != "FROM {{base}}\nRUN {{install redis}}\n" {
		t.Errorf("dockerfile block %+v", b[2])
	}
	if b[3].File != "conf/app.txt" || b[3].Lang != "text" {
		t.Errorf("file block %+v", b[3])
	}
	if b[4].Action != "build" || !reflect.DeepEqual(b[4].Args, []string{"-t", "me/app:1", "--no-cache", "."}) {
		t.Errorf("build directive %+v", b[4])
	}
	if b[5].On.Type != "cache.probe" || b[5].On.Where["step"] != "2" || b[5].On.Where["hit"] != "true" || b[5].Text != "Step 2 is cached." {
		t.Errorf("annotation %+v %+v", b[5], b[5].On)
	}
	if b[6].Text != "Prose after the annotation." {
		t.Errorf("a blank line should end the annotation: %q", b[6].Text)
	}
	if !b[7].On.Every || b[7].On.String() != "container.create purpose=build instruction=RUN every" {
		t.Errorf("pattern %s", b[7].On)
	}
	if got := b[9].Args; !reflect.DeepEqual(got, []string{"image", "cmd", `["redis-server"]`}) {
		t.Errorf("cmd claim keeps its JSON: %q", got)
	}
	if !reflect.DeepEqual(b[10].Bases, []string{"busybox"}) || !reflect.DeepEqual(b[11].Bases, []string{"alpine", "debian"}) {
		t.Errorf("if/else bases %v %v", b[10].Bases, b[11].Bases)
	}
	if got := b[12].Args; !reflect.DeepEqual(got, []string{"Dockerfile", "insert-after", "2", `RUN echo "hi"`}) {
		t.Errorf("edit args %q", got)
	}
	if got := b[13].Args; !reflect.DeepEqual(got, []string{"--rm", "--name", "box", "--stop-after", "3s", "{{image}}", "sh", "-c", "echo a b"}) {
		t.Errorf("run args %q", got)
	}
	if n := len(l.For("busybox", "")); n != len(l.Blocks)-1 {
		t.Errorf("busybox sees %d blocks of %d", n, len(l.Blocks))
	}
	if n := len(l.EngineActions("alpine", "")); n != 3 {
		t.Errorf("%d engine actions", n)
	}
	run, err := parseRun(b[13].Args)
	if err != nil || !run.Remove || run.Name != "box" || run.StopAfter != 3*time.Second || run.Image != "{{image}}" || !reflect.DeepEqual(run.Cmd, []string{"sh", "-c", "echo a b"}) {
		t.Errorf("run spec %+v %v", run, err)
	}
	commit, err := parseCommit(b[14].Args)
	if err != nil || commit.Container != "box" || commit.Ref != "me/manual:latest" || !reflect.DeepEqual(commit.Changes, []string{`CMD ["redis-server"]`}) {
		t.Errorf("commit spec %+v %v", commit, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"<!-- berth: dance -->", ":1: dance: unknown directive"},
		{"<!-- berth: build . -->\n<!-- on: bogus.event -->\nx", ":2: unknown event type \"bogus.event\""},
		{"<!-- on: build.start -->\nx", "must follow a build, run or commit directive"},
		{"{{nope}}", "unknown placeholder {{nope}}"},
		{"{{install emacs}}", "lessons know how to install gcc and redis"},
		{"<!-- berth: if base=windows -->", "unknown base \"windows\""},
		{"<!-- berth: if base=alpine -->\n", ":1: `if` has no matching"},
		{"<!-- berth: end -->", "`end` without `if`"},
		{"<!-- berth: if mode=sudo -->", "unknown mode \"sudo\" (known: root, rootless)"},
		{"<!-- berth: if colour=red -->", "write `if base=NAME[,NAME...]`, `if mode=root|rootless` or both"},
		{"<!-- berth: if base=alpine mode=root -->\n<!-- berth: else -->", "ambiguous: write a second `if`"},
		{"```dockerfile\nFROM x\n", "code block has no closing"},
		{"```text file=../x\nhi\n```", "give a path inside the workspace"},
		{"<!-- berth: expect step two cached -->", "\"two\" is not a step number"},
		{"<!-- berth: expect image cmd redis -->", "is not a JSON array of strings"},
		{"<!-- berth: edit Dockerfile insert-after x \"y\" -->", "is not a line number"},
		{"<!-- berth: build /etc -->", "must be a directory inside the workspace"},
		{"<!-- berth: run --stop-after soon x -->", "give a duration"},
		{"<!-- berth: show everything -->", "show VIEW"},
		{"---\nname: Bad Name\n---\n", "use lower-case letters"},
		{"---\ncolour: red\n---\n", "unknown header key"},
		{"<!-- berth: build\n . -->", "directives must fit on one line"},
	} {
		_, err := Parse("x.md", []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	for in, want := range map[string][]string{
		`build -t a .`:                   {"build", "-t", "a", "."},
		`edit F replace 2 "RUN a \"b\""`: {"edit", "F", "replace", "2", `RUN a "b"`},
		`commit -c 'CMD ["x"]' c`:        {"commit", "-c", `CMD ["x"]`, "c"},
		`a'b c'd`:                        {"ab cd"},
		`  `:                             nil,
	} {
		got, err := splitWords(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := splitWords(`a "b`); err == nil {
		t.Error("an unclosed quote is an error")
	}
}

func TestApplyEdit(t *testing.T) {
	base := "FROM a\nRUN b\nCMD c\n"
	for _, tc := range []struct {
		e    EditSpec
		want string
	}{
		{EditSpec{Op: "insert-after", Line: 2, Text: "RUN g"}, "FROM a\nRUN b\nRUN g\nCMD c\n"},
		{EditSpec{Op: "insert-after", Line: 0, Text: "# x"}, "# x\nFROM a\nRUN b\nCMD c\n"},
		{EditSpec{Op: "insert-before", Line: 3, Text: "RUN g"}, "FROM a\nRUN b\nRUN g\nCMD c\n"},
		{EditSpec{Op: "replace", Line: 1, Text: "FROM z"}, "FROM z\nRUN b\nCMD c\n"},
		{EditSpec{Op: "delete", Line: 2}, "FROM a\nCMD c\n"},
		{EditSpec{Op: "append", Text: "ENV x=1"}, "FROM a\nRUN b\nCMD c\nENV x=1\n"},
	} {
		got, err := applyEdit(base, tc.e)
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q, %v; want %q", tc.e, got, err, tc.want)
		}
	}
	if _, err := applyEdit(base, EditSpec{File: "Dockerfile", Op: "delete", Line: 4}); err == nil || !strings.Contains(err.Error(), "the file has 3 lines") {
		t.Errorf("delete past the end: %v", err)
	}
}

func TestExpand(t *testing.T) {
	v := &vars{base: baseProfiles["alpine"]}
	got, err := v.expand("FROM {{base}}\nRUN {{ install gcc }}")
	if err != nil || got != "FROM alpine\nRUN apk add --update gcc" {
		t.Errorf("%q %v", got, err)
	}
	if _, err := v.expand("run {{image}}"); err == nil || !strings.Contains(err.Error(), "before any build or commit") {
		t.Errorf("image before a build: %v", err)
	}
	v.image = "sha256:0123456789abcdef0123"
	if got, _ := v.expand("{{image.short}}"); got != "0123456789ab" {
		t.Errorf("short %q", got)
	}
}

func TestMatches(t *testing.T) {
	m := view.NewModel(nil)
	zero := 0
	m.Add(trace.Event{Type: trace.BuildStart, Build: "b1", BuildStartInfo: &trace.BuildStartInfo{}})
	m.Add(trace.Event{Type: trace.StepStart, Build: "b1", Step: 2, StepInfo: &trace.StepInfo{Number: 2, Instruction: "RUN"}})
	create := trace.Event{Type: trace.ContainerCreate, Build: "b1", Step: 2, Container: &trace.ContainerInfo{ID: "c1", Purpose: "build"}}
	exit := trace.Event{Type: trace.ContainerExit, Build: "b1", Step: 2, Container: &trace.ContainerInfo{ID: "c1", ExitCode: &zero}}
	for _, tc := range []struct {
		pattern string
		e       trace.Event
		want    bool
	}{
		{"container.create purpose=build", create, true},
		{"container.create purpose=run", create, false},
		{"container.create instruction=RUN step=2 build=1", create, true},
		{"container.create instruction=CMD", create, false},
		{"container.create started=false", create, true},
		{"container.create started=true", create, false},
		{"container.exit exit_code=0", exit, true},
		{"container.exit exit_code=1", exit, false},
		{"container.create id=c*", create, true},
		{"container.start", create, false},
	} {
		p, err := parsePattern(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := Matches(p, tc.e, m); got != tc.want {
			t.Errorf("%s on %s: %v, want %v", tc.pattern, tc.e.Type, got, tc.want)
		}
	}
}

// `if mode=` keeps blocks for root or rootless mode; its `else` is the
// other mode, and a condition on both base and mode keeps the blocks
// where both hold.
func TestParseModeConditions(t *testing.T) {
	l, err := Parse("x.md", []byte(`<!-- berth: if mode=rootless -->
only rootless
<!-- berth: else -->
only root
<!-- berth: end -->
<!-- berth: if base=debian mode=root -->
debian as root
<!-- berth: end -->
everywhere
`))
	if err != nil {
		t.Fatal(err)
	}
	texts := func(base, mode string) string {
		var out []string
		for _, b := range l.For(base, mode) {
			out = append(out, b.Text)
		}
		return strings.Join(out, "|")
	}
	for _, tc := range []struct{ base, mode, want string }{
		{"debian", ModeRootless, "only rootless|everywhere"},
		{"debian", ModeRoot, "only root|debian as root|everywhere"},
		{"debian", "", "only root|debian as root|everywhere"},
		{"alpine", ModeRoot, "only root|everywhere"},
	} {
		if got := texts(tc.base, tc.mode); got != tc.want {
			t.Errorf("For(%s, %q) = %q, want %q", tc.base, tc.mode, got, tc.want)
		}
	}
}
