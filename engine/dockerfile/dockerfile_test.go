package dockerfile

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// parseLast parses src and returns its last instruction (the FROM of a file that
// has nothing else).
func parseLast(t *testing.T, src string) (*Dockerfile, *Instruction) {
	t.Helper()
	df, err := Parse(strings.NewReader(src), "Dockerfile")
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	st := df.Stages[len(df.Stages)-1]
	if len(st.Instructions) == 0 {
		return df, st.From
	}
	return df, st.Instructions[len(st.Instructions)-1]
}

func TestParseInstructions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want Instruction // Line, EndLine, Original, Keyword and Args always compared
	}{
		{"from", "FROM alpine:3.19",
			Instruction{Keyword: "FROM", Line: 1, EndLine: 1, Original: "FROM alpine:3.19", Args: []string{"alpine:3.19"}}},
		{"from as platform", "FROM --platform=$BUILDPLATFORM golang AS Build",
			Instruction{Keyword: "FROM", Line: 1, EndLine: 1, Original: "FROM --platform=$BUILDPLATFORM golang AS Build",
				Args: []string{"golang", "AS", "Build"}, Flags: map[string][]string{"platform": {"$BUILDPLATFORM"}}}},
		{"run shell", "FROM a\nRUN apk add --update redis",
			Instruction{Keyword: "RUN", Line: 2, EndLine: 2, Original: "RUN apk add --update redis", Args: []string{"apk add --update redis"}}},
		{"run shell keeps spacing and quotes", "FROM a\nRUN echo  \"a  b\" 'c'  $HOME",
			Instruction{Keyword: "RUN", Line: 2, EndLine: 2, Original: "RUN echo  \"a  b\" 'c'  $HOME", Args: []string{"echo  \"a  b\" 'c'  $HOME"}}},
		{"run exec", "FROM a\nRUN [\"/bin/sh\", \"-c\", \"exit 3\"]",
			Instruction{Keyword: "RUN", Line: 2, EndLine: 2, Original: "RUN [\"/bin/sh\", \"-c\", \"exit 3\"]", Args: []string{"/bin/sh", "-c", "exit 3"}, JSON: true}},
		{"run invalid json falls back to shell", "FROM a\nRUN ['echo', 'hi']",
			Instruction{Keyword: "RUN", Line: 2, EndLine: 2, Original: "RUN ['echo', 'hi']", Args: []string{"['echo', 'hi']"}}},
		{"run unterminated json falls back", "FROM a\nRUN [\"echo\", \"hi\"",
			Instruction{Keyword: "RUN", Line: 2, EndLine: 2, Original: "RUN [\"echo\", \"hi\"", Args: []string{"[\"echo\", \"hi\""}}},
		{"run network", "FROM a\nRUN --network=none wget x",
			Instruction{Keyword: "RUN", Line: 2, EndLine: 2, Original: "RUN --network=none wget x", Args: []string{"wget x"}, Flags: map[string][]string{"network": {"none"}}}},
		{"run continuation", "FROM a\nRUN apk add \\\n    redis \\\n  # a comment\n    curl\nCMD x",
			Instruction{Keyword: "CMD", Line: 6, EndLine: 6, Original: "CMD x", Args: []string{"x"}}},
		{"cmd exec", "FROM a\nCMD [\"redis-server\"]",
			Instruction{Keyword: "CMD", Line: 2, EndLine: 2, Original: "CMD [\"redis-server\"]", Args: []string{"redis-server"}, JSON: true}},
		{"cmd shell", "FROM a\ncmd redis-server --port 1",
			Instruction{Keyword: "CMD", Line: 2, EndLine: 2, Original: "cmd redis-server --port 1", Args: []string{"redis-server --port 1"}}},
		{"cmd empty json", "FROM a\nCMD []",
			Instruction{Keyword: "CMD", Line: 2, EndLine: 2, Original: "CMD []", Args: []string{}, JSON: true}},
		{"entrypoint exec", "FROM a\nENTRYPOINT [\"/docker-entrypoint.sh\", \"x\"]",
			Instruction{Keyword: "ENTRYPOINT", Line: 2, EndLine: 2, Original: "ENTRYPOINT [\"/docker-entrypoint.sh\", \"x\"]", Args: []string{"/docker-entrypoint.sh", "x"}, JSON: true}},
		{"entrypoint shell", "FROM a\nENTRYPOINT exec top -b",
			Instruction{Keyword: "ENTRYPOINT", Line: 2, EndLine: 2, Original: "ENTRYPOINT exec top -b", Args: []string{"exec top -b"}}},
		{"env pairs", "FROM a\nENV A=1 B=\"two words\" C=$A\\ x",
			Instruction{Keyword: "ENV", Line: 2, EndLine: 2, Original: "ENV A=1 B=\"two words\" C=$A\\ x",
				Args:      []string{"A", "1", "=", "B", "\"two words\"", "=", "C", "$A\\ x", "="},
				KeyValues: []KV{{"A", "1", true}, {"B", "\"two words\"", true}, {"C", "$A\\ x", true}}}},
		{"env legacy", "FROM a\nENV PATH /usr/local/bin:$PATH  and more",
			Instruction{Keyword: "ENV", Line: 2, EndLine: 2, Original: "ENV PATH /usr/local/bin:$PATH  and more",
				Args:      []string{"PATH", "/usr/local/bin:$PATH  and more", ""},
				KeyValues: []KV{{"PATH", "/usr/local/bin:$PATH  and more", true}}}},
		{"env empty value", "FROM a\nENV A=",
			Instruction{Keyword: "ENV", Line: 2, EndLine: 2, Original: "ENV A=", Args: []string{"A", "", "="}, KeyValues: []KV{{"A", "", true}}}},
		{"label", "FROM a\nLABEL version=\"1.0\" \"com.example.vendor\"=ACME",
			Instruction{Keyword: "LABEL", Line: 2, EndLine: 2, Original: "LABEL version=\"1.0\" \"com.example.vendor\"=ACME",
				Args:      []string{"version", "\"1.0\"", "=", "\"com.example.vendor\"", "ACME", "="},
				KeyValues: []KV{{"version", "\"1.0\"", true}, {"\"com.example.vendor\"", "ACME", true}}}},
		{"arg", "FROM a\nARG A B=2 C=\"x y\"",
			Instruction{Keyword: "ARG", Line: 2, EndLine: 2, Original: "ARG A B=2 C=\"x y\"", Args: []string{"A", "B=2", "C=\"x y\""},
				KeyValues: []KV{{"A", "", false}, {"B", "2", true}, {"C", "\"x y\"", true}}}},
		{"expose", "FROM a\nEXPOSE 80/tcp 443 $PORT",
			Instruction{Keyword: "EXPOSE", Line: 2, EndLine: 2, Original: "EXPOSE 80/tcp 443 $PORT", Args: []string{"80/tcp", "443", "$PORT"}}},
		{"workdir", "FROM a\nWORKDIR /my app",
			Instruction{Keyword: "WORKDIR", Line: 2, EndLine: 2, Original: "WORKDIR /my app", Args: []string{"/my app"}}},
		{"user", "FROM a\nUSER redis:redis",
			Instruction{Keyword: "USER", Line: 2, EndLine: 2, Original: "USER redis:redis", Args: []string{"redis:redis"}}},
		{"volume list", "FROM a\nVOLUME /data /logs",
			Instruction{Keyword: "VOLUME", Line: 2, EndLine: 2, Original: "VOLUME /data /logs", Args: []string{"/data", "/logs"}}},
		{"volume json", "FROM a\nVOLUME [\"/data\", \" /my logs \"]",
			Instruction{Keyword: "VOLUME", Line: 2, EndLine: 2, Original: "VOLUME [\"/data\", \" /my logs \"]", Args: []string{"/data", "/my logs"}, JSON: true}},
		{"shell", "FROM a\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]",
			Instruction{Keyword: "SHELL", Line: 2, EndLine: 2, Original: "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]", Args: []string{"/bin/bash", "-o", "pipefail", "-c"}, JSON: true}},
		{"stopsignal", "FROM a\nSTOPSIGNAL SIGQUIT",
			Instruction{Keyword: "STOPSIGNAL", Line: 2, EndLine: 2, Original: "STOPSIGNAL SIGQUIT", Args: []string{"SIGQUIT"}}},
		{"healthcheck none", "FROM a\nHEALTHCHECK NONE",
			Instruction{Keyword: "HEALTHCHECK", Line: 2, EndLine: 2, Original: "HEALTHCHECK NONE", Args: []string{"NONE"},
				Health: &Healthcheck{Test: []string{"NONE"}}}},
		{"healthcheck cmd shell", "FROM a\nHEALTHCHECK --interval=5s --timeout=3s --start-period=1m --start-interval=2s --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1",
			Instruction{Keyword: "HEALTHCHECK", Line: 2, EndLine: 3,
				Original: "HEALTHCHECK --interval=5s --timeout=3s --start-period=1m --start-interval=2s --retries=3   CMD curl -f http://localhost/ || exit 1",
				Args:     []string{"CMD", "curl -f http://localhost/ || exit 1"},
				Flags:    map[string][]string{"interval": {"5s"}, "timeout": {"3s"}, "start-period": {"1m"}, "start-interval": {"2s"}, "retries": {"3"}},
				Health: &Healthcheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"},
					Interval: 5 * time.Second, Timeout: 3 * time.Second, StartPeriod: time.Minute, StartInterval: 2 * time.Second, Retries: 3}}},
		{"healthcheck cmd exec", "FROM a\nHEALTHCHECK cmd [\"redis-cli\", \"ping\"]",
			Instruction{Keyword: "HEALTHCHECK", Line: 2, EndLine: 2, Original: "HEALTHCHECK cmd [\"redis-cli\", \"ping\"]",
				Args: []string{"cmd", "redis-cli", "ping"}, JSON: true, Health: &Healthcheck{Test: []string{"CMD", "redis-cli", "ping"}}}},
		{"copy", "FROM a\nCOPY --chown=redis:redis --chmod=0644 --link app.py *.txt /app/",
			Instruction{Keyword: "COPY", Line: 2, EndLine: 2, Original: "COPY --chown=redis:redis --chmod=0644 --link app.py *.txt /app/",
				Args: []string{"app.py", "*.txt", "/app/"}, Flags: map[string][]string{"chown": {"redis:redis"}, "chmod": {"0644"}, "link": {"true"}}}},
		{"copy from json", "FROM a\nCOPY --from=build [\"/out/my app\", \"/usr/bin/\"]",
			Instruction{Keyword: "COPY", Line: 2, EndLine: 2, Original: "COPY --from=build [\"/out/my app\", \"/usr/bin/\"]",
				Args: []string{"/out/my app", "/usr/bin/"}, JSON: true, Flags: map[string][]string{"from": {"build"}}}},
		{"copy link false", "FROM a\nCOPY --link=false a b",
			Instruction{Keyword: "COPY", Line: 2, EndLine: 2, Original: "COPY --link=false a b", Args: []string{"a", "b"}, Flags: map[string][]string{"link": {"false"}}}},
		{"add", "FROM a\nADD --chown=1:1 https://example.com/x.tgz rootfs.tar /",
			Instruction{Keyword: "ADD", Line: 2, EndLine: 2, Original: "ADD --chown=1:1 https://example.com/x.tgz rootfs.tar /",
				Args: []string{"https://example.com/x.tgz", "rootfs.tar", "/"}, Flags: map[string][]string{"chown": {"1:1"}}}},
		{"maintainer", "FROM a\nMAINTAINER Rommel <r@example.com>",
			Instruction{Keyword: "MAINTAINER", Line: 2, EndLine: 2, Original: "MAINTAINER Rommel <r@example.com>", Args: []string{"Rommel <r@example.com>"}}},
		{"lower case keyword", "from a\nworkdir /x",
			Instruction{Keyword: "WORKDIR", Line: 2, EndLine: 2, Original: "workdir /x", Args: []string{"/x"}}},
		{"leading space and tabs", "FROM a\n\t  RUN  true  ",
			Instruction{Keyword: "RUN", Line: 2, EndLine: 2, Original: "RUN  true", Args: []string{"true"}}},
		{"crlf", "FROM a\r\nRUN echo hi\r\n",
			Instruction{Keyword: "RUN", Line: 2, EndLine: 2, Original: "RUN echo hi", Args: []string{"echo hi"}}},
		{"bom", "\xef\xbb\xbfFROM a\nUSER x",
			Instruction{Keyword: "USER", Line: 2, EndLine: 2, Original: "USER x", Args: []string{"x"}}},
		{"escape backtick", "# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo `$x",
			Instruction{Keyword: "RUN", Line: 3, EndLine: 4, Original: "RUN dir c:\\   && echo `$x", Args: []string{"dir c:\\   && echo `$x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := parseLast(t, tt.src)
			want := tt.want
			if got.Keyword != want.Keyword || got.Line != want.Line || got.EndLine != want.EndLine || got.Original != want.Original {
				t.Errorf("got %s lines %d-%d %q, want %s lines %d-%d %q",
					got.Keyword, got.Line, got.EndLine, got.Original, want.Keyword, want.Line, want.EndLine, want.Original)
			}
			if !reflect.DeepEqual(got.Args, want.Args) {
				t.Errorf("Args = %q, want %q", got.Args, want.Args)
			}
			if got.JSON != want.JSON {
				t.Errorf("JSON = %v, want %v", got.JSON, want.JSON)
			}
			if len(got.Flags)+len(want.Flags) > 0 && !reflect.DeepEqual(got.Flags, want.Flags) {
				t.Errorf("Flags = %q, want %q", got.Flags, want.Flags)
			}
			if !reflect.DeepEqual(got.KeyValues, want.KeyValues) {
				t.Errorf("KeyValues = %+v, want %+v", got.KeyValues, want.KeyValues)
			}
			if !reflect.DeepEqual(got.Health, want.Health) {
				t.Errorf("Health = %+v, want %+v", got.Health, want.Health)
			}
		})
	}
}

func TestParseContinuationOriginal(t *testing.T) {
	src := "FROM alpine\nRUN apk add \\\n    redis \\\n  # a comment\n    curl\n"
	_, ins := parseLast(t, src)
	if ins.Line != 2 || ins.EndLine != 5 {
		t.Errorf("lines %d-%d, want 2-5", ins.Line, ins.EndLine)
	}
	if want := "RUN apk add     redis     curl"; ins.Original != want || ins.Args[0] != "apk add     redis     curl" {
		t.Errorf("Original %q Args %q, want %q", ins.Original, ins.Args, want)
	}
}

func TestParseStages(t *testing.T) {
	src := `# syntax=docker/dockerfile:1
ARG GO=1.22
ARG BASE
FROM --platform=linux/amd64 golang:${GO} AS Build
WORKDIR /src
COPY . .
RUN go build -o /out/app

FROM scratch
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
`
	df, err := Parse(strings.NewReader(src), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if df.EscapeToken != '\\' || df.Path != "Dockerfile" || len(df.Warnings) != 0 {
		t.Errorf("escape %q path %q warnings %q", df.EscapeToken, df.Path, df.Warnings)
	}
	if len(df.MetaArgs) != 2 || df.MetaArgs[0].Line != 2 || df.MetaArgs[1].KeyValues[0] != (KV{Key: "BASE"}) {
		t.Fatalf("MetaArgs = %+v", df.MetaArgs)
	}
	if len(df.Stages) != 2 {
		t.Fatalf("%d stages, want 2", len(df.Stages))
	}
	s0, s1 := df.Stages[0], df.Stages[1]
	if s0.Index != 0 || s0.Name != "build" || s0.Base != "golang:${GO}" || s0.Platform != "linux/amd64" || s0.From.Line != 4 {
		t.Errorf("stage 0 = %+v", s0)
	}
	if len(s0.Instructions) != 3 || s0.Instructions[2].Original != "RUN go build -o /out/app" {
		t.Errorf("stage 0 instructions = %v", s0.Instructions)
	}
	if s1.Index != 1 || s1.Name != "" || s1.Base != "scratch" || len(s1.Instructions) != 2 {
		t.Errorf("stage 1 = %+v", s1)
	}
	if from, _ := s1.Instructions[0].Flag("from"); from != "build" {
		t.Errorf("COPY --from = %q", from)
	}
	if _, ok := s1.Instructions[0].Flag("chown"); ok {
		t.Error("Flag(chown) reported set")
	}
}

func TestParseEscapeDirective(t *testing.T) {
	src := "# escape=`\n\nFROM mcr.microsoft.com/windows\nCOPY testfile.txt c:\\ `\n  c:\\dest\\\n"
	df, ins := parseLast(t, src)
	if df.EscapeToken != '`' {
		t.Fatalf("EscapeToken = %q", df.EscapeToken)
	}
	if want := []string{"testfile.txt", "c:\\", "c:\\dest\\"}; !reflect.DeepEqual(ins.Args, want) {
		t.Errorf("Args = %q, want %q", ins.Args, want)
	}
	// After the first instruction a directive is only a comment.
	df, _ = parseLast(t, "FROM a\n# escape=`\nRUN x")
	if df.EscapeToken != '\\' {
		t.Errorf("late directive changed the escape token to %q", df.EscapeToken)
	}
}

func TestParseWarnings(t *testing.T) {
	src := "FROM a\nMAINTAINER me\nRUN a \\\n\n  b\n"
	df, err := Parse(strings.NewReader(src), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Dockerfile:3: Empty continuation line found in: RUN a   b",
		"Empty continuation lines will become errors in a future release.",
		"Dockerfile:2: MAINTAINER instruction is deprecated in favor of using label (LABEL maintainer=...)",
	}
	if !reflect.DeepEqual(df.Warnings, want) {
		t.Errorf("Warnings =\n%q\nwant\n%q", df.Warnings, want)
	}
}

func TestParseOnbuild(t *testing.T) {
	_, ins := parseLast(t, "FROM a\nONBUILD  COPY --chown=1:1 . /app/src")
	if ins.Keyword != "ONBUILD" || !reflect.DeepEqual(ins.Args, []string{"COPY --chown=1:1 . /app/src"}) {
		t.Fatalf("ONBUILD = %+v", ins)
	}
	sub := ins.Sub
	if sub == nil || sub.Keyword != "COPY" || sub.Line != 2 || sub.Original != "COPY --chown=1:1 . /app/src" ||
		!reflect.DeepEqual(sub.Args, []string{".", "/app/src"}) || sub.Flags["chown"][0] != "1:1" {
		t.Fatalf("Sub = %+v", sub)
	}

	_, ins = parseLast(t, "FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n")
	if want := "RUN <<EOF\necho hi\nEOF"; ins.Args[0] != want {
		t.Errorf("trigger = %q, want %q", ins.Args[0], want)
	}
	if ins.Sub.RunScript() != "echo hi\n" || len(ins.Heredocs) != 0 || ins.EndLine != 4 {
		t.Errorf("sub script %q heredocs %d endline %d", ins.Sub.RunScript(), len(ins.Heredocs), ins.EndLine)
	}
	trig, err := ParseTrigger(ins.Args[0])
	if err != nil || trig.RunScript() != "echo hi\n" {
		t.Errorf("ParseTrigger round trip: %v %+v", err, trig)
	}
}

func TestHeredocs(t *testing.T) {
	t.Run("run single", func(t *testing.T) {
		_, ins := parseLast(t, "FROM a\nRUN <<EOF\napk add redis\necho done\nEOF\nUSER x")
		df, _ := parseLast(t, "FROM a\nRUN <<EOF\napk add redis\necho done\nEOF\nUSER x")
		run := df.Stages[0].Instructions[0]
		if ins.Line != 6 || run.Line != 2 || run.EndLine != 5 || run.Original != "RUN <<EOF" {
			t.Fatalf("lines: USER %d, RUN %d-%d %q", ins.Line, run.Line, run.EndLine, run.Original)
		}
		want := []Heredoc{{Name: "EOF", Content: "apk add redis\necho done\n", Expand: true}}
		if !reflect.DeepEqual(run.Heredocs, want) {
			t.Errorf("Heredocs = %+v", run.Heredocs)
		}
		if got := run.RunScript(); got != "apk add redis\necho done\n" {
			t.Errorf("RunScript = %q", got)
		}
	})
	t.Run("run in command, chomp, quoted", func(t *testing.T) {
		_, run := parseLast(t, "FROM a\nRUN cat <<-'EOT' > /x && cat 3<<B\n\tone $A\n\tEOT\ntwo\nB\n")
		want := []Heredoc{
			{Name: "EOT", Content: "\tone $A\n", Chomp: true},
			{Name: "B", Content: "two\n", Expand: true, FileDescriptor: 3},
		}
		if !reflect.DeepEqual(run.Heredocs, want) {
			t.Errorf("Heredocs = %+v", run.Heredocs)
		}
		if run.Heredocs[0].Data() != "one $A\n" {
			t.Errorf("Data = %q", run.Heredocs[0].Data())
		}
		if got, want := run.RunScript(), "cat <<-'EOT' > /x && cat 3<<B\n\tone $A\nEOT\ntwo\nB"; got != want {
			t.Errorf("RunScript = %q, want %q", got, want)
		}
	})
	t.Run("copy", func(t *testing.T) {
		_, cp := parseLast(t, "FROM a\nCOPY app.py <<EOF <<\"CONF\" /etc/\nhello $NAME\nEOF\nx=1\nCONF\n")
		paths, inline, dest := cp.SourcesAndDest()
		if !reflect.DeepEqual(paths, []string{"app.py"}) || dest != "/etc/" || len(inline) != 2 {
			t.Fatalf("paths %q inline %+v dest %q", paths, inline, dest)
		}
		if inline[0].Name != "EOF" || inline[0].Content != "hello $NAME\n" || !inline[0].Expand ||
			inline[1].Name != "CONF" || inline[1].Content != "x=1\n" || inline[1].Expand {
			t.Errorf("inline = %+v", inline)
		}
		out, err := ExpandHeredoc(inline[0].Content, []string{"NAME=\"berth\""})
		if err != nil || out != "hello \"berth\"\n" {
			t.Errorf("ExpandHeredoc = %q, %v", out, err)
		}
	})
	t.Run("exec form has none", func(t *testing.T) {
		_, run := parseLast(t, "FROM a\nRUN [\"cat\", \"<<EOF\"]\nUSER x")
		if run.Keyword != "USER" {
			t.Fatalf("the line after an exec-form RUN was taken as a heredoc body: %+v", run)
		}
	})
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{"FROM alpine\nRUNN echo", "Dockerfile:2: unknown instruction: RUNN"},
		{"FROM alpine\n\nrunn echo", "Dockerfile:3: unknown instruction: runn"},
		{"", "Dockerfile:1: file with no instructions"},
		{"# just\n# comments\n", "Dockerfile:2: file with no instructions"},
		{"RUN echo", "Dockerfile:1: no build stage in current context"},
		{"ARG A\nENV B=1\nFROM x", "Dockerfile:2: no build stage in current context"},
		{"ARG A\n\nARG B", "Dockerfile:3: dockerfile contains no stages to build"},
		{"FROM", "Dockerfile:1: FROM requires either one or three arguments"},
		{"FROM a b", "Dockerfile:1: FROM requires either one or three arguments"},
		{"FROM a AS", "Dockerfile:1: FROM requires either one or three arguments"},
		{"FROM a FOR b", "Dockerfile:1: FROM requires either one or three arguments"},
		{"FROM a AS 1st", "Dockerfile:1: invalid name for build stage: \"1st\", name can't start with a number or contain symbols"},
		{"FROM a AS x\nFROM b AS X", "Dockerfile:2: x stage name already used"},
		{"FROM --plat=x a", "Dockerfile:1: Unknown flag: plat"},
		{"FROM a\nRUN", "Dockerfile:2: RUN requires at least one argument"},
		{"FROM a\nRUN []", "Dockerfile:2: RUN requires at least one argument"},
		{"FROM a\nRUN --mount=type=cache,target=/root/.cache pip install x", "Dockerfile:2: the --mount option requires BuildKit; Berth builds like Docker's classic builder, which does not support it: mount build context files with COPY, or download caches in the RUN itself"},
		{"FROM a\nRUN --security=insecure x", "Dockerfile:2: the --security option requires BuildKit; Berth builds like Docker's classic builder, which does not support it"},
		{"FROM a\nRUN --network=bridge x", "Dockerfile:2: invalid network mode \"bridge\" (use default, none or host)"},
		{"FROM a\nRUN --network x", "Dockerfile:2: missing a value on flag: --network"},
		{"FROM a\nRUN [\"a\", 1]", "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only"},
		{"FROM a\nENV", "Dockerfile:2: ENV requires at least one argument"},
		{"FROM a\n\nENV PATH", "Dockerfile:3: ENV must have two arguments"},
		{"FROM a\nENV A=1 B", "Dockerfile:2: Syntax error - can't find = in \"B\". Must be of the form: name=value"},
		{"FROM a\nENV =x", "Dockerfile:2: ENV names can not be blank"},
		{"FROM a\nLABEL", "Dockerfile:2: LABEL requires at least one argument"},
		{"FROM a\nLABEL =x", "Dockerfile:2: LABEL names can not be blank"},
		{"FROM a\nARG", "Dockerfile:2: ARG requires at least one argument"},
		{"FROM a\nARG =x", "Dockerfile:2: ARG names can not be blank"},
		{"FROM a\nEXPOSE", "Dockerfile:2: EXPOSE requires at least one argument"},
		{"FROM a\nWORKDIR", "Dockerfile:2: WORKDIR requires exactly one argument"},
		{"FROM a\nUSER", "Dockerfile:2: USER requires exactly one argument"},
		{"FROM a\nSTOPSIGNAL", "Dockerfile:2: STOPSIGNAL requires exactly one argument"},
		{"FROM a\nMAINTAINER", "Dockerfile:2: MAINTAINER requires exactly one argument"},
		{"FROM a\nVOLUME", "Dockerfile:2: VOLUME requires at least one argument"},
		{"FROM a\nVOLUME [\"/a\", \" \"]", "Dockerfile:2: VOLUME specified can not be an empty string"},
		{"FROM a\nSHELL /bin/bash -c", "Dockerfile:2: SHELL requires the arguments to be in JSON form"},
		{"FROM a\nSHELL []", "Dockerfile:2: SHELL requires at least one argument"},
		{"FROM a\nHEALTHCHECK", "Dockerfile:2: HEALTHCHECK requires at least one argument"},
		{"FROM a\nHEALTHCHECK NONE x", "Dockerfile:2: HEALTHCHECK NONE takes no arguments"},
		{"FROM a\nHEALTHCHECK CMD", "Dockerfile:2: Missing command after HEALTHCHECK CMD"},
		{"FROM a\nHEALTHCHECK CONNECT TCP 7000", "Dockerfile:2: Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)"},
		{"FROM a\nHEALTHCHECK --interval=5 CMD x", "Dockerfile:2: time: missing unit in duration \"5\""},
		{"FROM a\nHEALTHCHECK --timeout=1us CMD x", "Dockerfile:2: Interval \"timeout\" cannot be less than 1ms"},
		{"FROM a\nHEALTHCHECK --retries=-1 CMD x", "Dockerfile:2: --retries cannot be negative (-1)"},
		{"FROM a\nHEALTHCHECK --retries=x CMD x", "Dockerfile:2: strconv.ParseInt: parsing \"x\": invalid syntax"},
		{"FROM a\nHEALTHCHECK --port=1 CMD x", "Dockerfile:2: Unknown flag: port"},
		{"FROM a\nONBUILD", "Dockerfile:2: ONBUILD requires at least one argument"},
		{"FROM a\nONBUILD ONBUILD RUN x", "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
		{"FROM a\nONBUILD from b", "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"},
		{"FROM a\nONBUILD MAINTAINER me", "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger"},
		{"FROM a\nONBUILD RUNN x", "Dockerfile:2: unknown instruction: RUNN"},
		{"FROM a\nONBUILD COPY x", "Dockerfile:2: COPY requires at least two arguments, but only one was provided. Destination could not be determined"},
		{"FROM a\nCOPY x", "Dockerfile:2: COPY requires at least two arguments, but only one was provided. Destination could not be determined"},
		{"FROM a\nADD x", "Dockerfile:2: ADD requires at least two arguments, but only one was provided. Destination could not be determined"},
		{"FROM a\nCOPY --foo x y", "Dockerfile:2: Unknown flag: foo"},
		{"FROM a\nCOPY --from=a --from=b x y", "Dockerfile:2: duplicate flag specified: --from"},
		{"FROM a\nCOPY --from x y", "Dockerfile:2: missing a value on flag: --from"},
		{"FROM a\nCOPY --link=maybe x y", "Dockerfile:2: expecting boolean value for flag --link, not: maybe"},
		{"FROM a\nCOPY --link= x y", "Dockerfile:2: missing a value on flag: --link"},
		{"FROM a\nCOPY --parents a/b /c", "Dockerfile:2: the --parents option requires BuildKit; Berth builds like Docker's classic builder, which does not support it"},
		{"FROM a\nADD --checksum=sha256:x http://x /", "Dockerfile:2: the --checksum option requires BuildKit; Berth builds like Docker's classic builder, which does not support it: check the download in a RUN step"},
		{"FROM a\nADD --from=x a b", "Dockerfile:2: Unknown flag: from"},
		{"FROM a\nCOPY <<EOF <<DEST\nx\nEOF\ny\nDEST\n", "Dockerfile:2: COPY cannot accept a heredoc as a destination"},
		{"FROM a\nRUN <<EOF\necho\n", "Dockerfile:2: unterminated heredoc"},
		{"FROM a\nCOPY [\"a\", \"<<EOF\"]", "Dockerfile:2: COPY cannot accept a heredoc as a destination"},
		{"FROM a\nENV --x=1 A=1", "Dockerfile:2: Unknown flag: x"},
		{"FROM a\nCMD --help", "Dockerfile:2: Unknown flag: help"},
		{"# escape=x\nFROM a", "Dockerfile:1: invalid escape token 'x' does not match ` or \\"},
		{"# escape=\\\n# escape=`\nFROM a", "Dockerfile:2: only one escape parser directive can be used"},
		{"FROM a\n\nSTOPSIGNAL FOO", "Dockerfile:3: Invalid signal: FOO"},
		{"FROM a\nSTOPSIGNAL 0", "Dockerfile:2: Invalid signal: 0"},
		{"FROM a\nSTOPSIGNAL SIGRTMIN+16", "Dockerfile:2: Invalid signal: SIGRTMIN+16"},
		{"FROM a\nEXPOSE 80 8o", "Dockerfile:2: invalid containerPort: 8o"},
		{"FROM a\nEXPOSE 80/tcp 53/ftp", "Dockerfile:2: invalid proto: ftp"},
		{"FROM a\nEXPOSE 70000", "Dockerfile:2: invalid containerPort: 70000"},
		{"FROM a\nEXPOSE 90-80", "Dockerfile:2: invalid containerPort: 90-80"},
		{"FROM a\nEXPOSE /udp", "Dockerfile:2: invalid containerPort: "},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			df, err := Parse(strings.NewReader(tt.src), "Dockerfile")
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error %q", tt.src, df, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse(%q)\n got %q\nwant %q", tt.src, err.Error(), tt.want)
			}
			var perr *Error
			if !errors.As(err, &perr) || perr.File != "Dockerfile" || perr.Line < 1 {
				t.Errorf("error %T %+v is not a located *Error", err, err)
			}
		})
	}
}

func TestErrorFileName(t *testing.T) {
	_, err := Parse(strings.NewReader("FROM a\nRUNN x"), "build/Dockerfile.dev")
	if err == nil || err.Error() != "Dockerfile.dev:2: unknown instruction: RUNN" {
		t.Errorf("err = %v", err)
	}
	path := t.TempDir() + "/web.Dockerfile"
	if err := os.WriteFile(path, []byte("FROM a\nUSER\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ParseFile(path)
	var perr *Error
	if !errors.As(err, &perr) || perr.Error() != "web.Dockerfile:2: USER requires exactly one argument" || perr.Line != 2 {
		t.Errorf("ParseFile err = %v", err)
	}
	if _, err := ParseFile(t.TempDir() + "/missing"); err == nil || !strings.Contains(err.Error(), "open Dockerfile") {
		t.Errorf("ParseFile of a missing file: %v", err)
	}
}

func TestErrorAt(t *testing.T) {
	df, ins := parseLast(t, "FROM a\nENV A=${X:?must_be_set}")
	_, err := Expand(ins.KeyValues[0].Value, nil, df.EscapeToken)
	if err == nil {
		t.Fatal("no error for ${X:?...}")
	}
	located := df.ErrorAt(ins, err)
	if got, want := located.Error(), `Dockerfile:2: failed to process "${X:?must_be_set}": X: must_be_set`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(located, err) {
		t.Error("ErrorAt does not wrap the cause")
	}
}

func TestValidateSignal(t *testing.T) {
	for _, ok := range []string{"SIGTERM", "term", "KILL", "9", "64", "SIGRTMIN", "RTMIN+3", "SIGRTMAX-15", "sigusr1"} {
		if err := ValidateSignal(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "FOO", "SIG", "0", "-1", "65", "RTMIN+0", "RTMAX+1", "SIGTERM "} {
		if err := ValidateSignal(bad); err == nil || err.Error() != "Invalid signal: "+bad {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestExposedPorts(t *testing.T) {
	for word, want := range map[string]string{
		"80": "80/tcp", "53/UDP": "53/udp", "8000-8002/sctp": "8000/sctp 8001/sctp 8002/sctp",
		"127.0.0.1:8080:80": "80/tcp", "5-5": "5/tcp",
	} {
		got, err := ExposedPorts(word)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("%s: %q %v, want %q", word, got, err, want)
		}
	}
}
