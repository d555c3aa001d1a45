package dockerfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeedDockerfiles = []string{
	"FROM alpine\nRUN apk add --update redis\nCMD [\"redis-server\"]\n",
	"# escape=`\nFROM a\nRUN dir `\n  c:\\\n",
	"ARG V=1\nFROM --platform=$P img:${V} AS b\nCOPY --from=b --chown=1:1 [\"a\", \"b\"]\nONBUILD RUN x\n",
	"FROM a\nRUN <<EOF\necho hi\nEOF\nCOPY <<-X /f\n\tbody\n\tX\n",
	"FROM a\nHEALTHCHECK --interval=5s --retries=3 CMD curl -f http://x/ || exit 1\nSHELL [\"bash\",\"-c\"]\n",
	"FROM a\nENV A=1 B=\"x y\" C\\ D=e\nENV OLD style value\nLABEL \"k\"='v'\nEXPOSE 80/tcp\nVOLUME [\"/v\"]\n",
	"FROM a\nRUN ['bad', \"json\"\nUSER 1:1\nWORKDIR /w\nSTOPSIGNAL 9\nMAINTAINER x\n",
}

// FuzzParse checks that Parse never panics, that every failure is an *Error with a
// line, and that every success is a well-formed Dockerfile.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeedDockerfiles {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/buildkit/testfiles*/*/Dockerfile")
	files = append(files, "testdata/buildkit/testfile-line.Dockerfile")
	for _, path := range files {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		df, err := Parse(bytes.NewReader(data), "Dockerfile")
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || perr.File != "Dockerfile" || perr.Line < 1 || perr.Msg == "" {
				t.Fatalf("error %#v is not a located *Error", err)
			}
			if df != nil {
				t.Fatal("Dockerfile returned with an error")
			}
			return
		}
		if len(df.Stages) == 0 {
			t.Fatal("no stages and no error")
		}
		prev := 0
		check := func(ins *Instruction) {
			if !keywords[ins.Keyword] || ins.Line <= prev || ins.EndLine < ins.Line || ins.Original == "" {
				t.Fatalf("malformed instruction after line %d: %+v", prev, ins)
			}
			prev = ins.EndLine
			if ins.Keyword == "ONBUILD" && (ins.Sub == nil || len(ins.Args) != 1) {
				t.Fatalf("ONBUILD without a trigger: %+v", ins)
			}
			if ins.Keyword == "ONBUILD" {
				// The stored trigger must parse again downstream, to the same instruction.
				sub, err := ParseTrigger(ins.Args[0])
				if err != nil {
					t.Fatalf("trigger %q does not parse again: %v", ins.Args[0], err)
				}
				if sub.Keyword != ins.Sub.Keyword {
					t.Fatalf("trigger %q parsed as %s, was %s", ins.Args[0], sub.Keyword, ins.Sub.Keyword)
				}
			}
			if Expands(ins.Keyword) {
				_, _ = ExpandWords(ins.Args, []string{"A=1"}, df.EscapeToken)
			}
			_ = ins.RunScript()
			if ins.Keyword == "COPY" || ins.Keyword == "ADD" {
				if _, _, dest := ins.SourcesAndDest(); dest != ins.Args[len(ins.Args)-1] {
					t.Fatalf("SourcesAndDest lost the destination of %+v", ins)
				}
			}
		}
		for _, ins := range df.MetaArgs {
			check(ins)
		}
		for i, st := range df.Stages {
			if st.Index != i || st.From == nil || st.Base != st.From.Args[0] {
				t.Fatalf("malformed stage %d: %+v", i, st)
			}
			check(st.From)
			for _, ins := range st.Instructions {
				if ins.Keyword == "FROM" {
					t.Fatal("FROM inside a stage")
				}
				check(ins)
			}
		}
		if _, err := df.MetaEnv(map[string]string{"A": "1"}); err != nil {
			var perr *Error
			if !errors.As(err, &perr) || perr.Line < 1 {
				t.Fatalf("MetaEnv error %#v is not located", err)
			}
		}
	})
}

// FuzzExpand checks that expansion never panics, and that a word without any of
// the characters expansion acts on comes back unchanged.
func FuzzExpand(f *testing.F) {
	if data, err := os.ReadFile("testdata/buildkit/shell/envVarTest"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if parts := strings.Split(line, "|"); len(parts) == 3 && !strings.HasPrefix(line, "#") {
				f.Add(strings.TrimSpace(parts[1]), false)
			}
		}
	}
	for _, s := range []string{"${A:?msg}", "${A:-$B}", "`$A", "c:\\dir", "\"$A\"", "plain text"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	env := []string{"A=1", "B=two words", "EMPTY="}
	f.Fuzz(func(t *testing.T, word string, backtick bool) {
		escape := '\\'
		if backtick {
			escape = '`'
		}
		got, err := Expand(word, env, escape)
		if !utf8.ValidString(word) || strings.IndexByte(word, 0) >= 0 {
			if err == nil {
				t.Fatalf("Expand(%q) = %q, want an error for text that is not UTF-8", word, got)
			}
			return
		}
		if !strings.ContainsAny(word, "$'\"") && !strings.ContainsRune(word, escape) {
			if err != nil || got != word {
				t.Fatalf("Expand(%q) = %q, %v; want it unchanged", word, got, err)
			}
		}
		_, _ = ExpandFields(word, env, escape)
		_, _ = ExpandHeredoc(word, env)
	})
}

// BenchmarkParse parses a 10-step Dockerfile, the size the builder's fully cached
// rebuild target (under 20 ms in all) is set for.
func BenchmarkParse(b *testing.B) {
	src := `# syntax=docker/dockerfile:1
ARG BASE=alpine:3.19
FROM $BASE AS build
ENV APP=/app \
    PATH=/app/bin:$PATH
WORKDIR $APP
COPY --chown=1000:1000 requirements.txt ./
RUN apk add --update --no-cache python3 py3-pip \
 && pip install -r requirements.txt
COPY . .
EXPOSE 8000
USER 1000
HEALTHCHECK --interval=30s CMD wget -qO- http://localhost:8000/ || exit 1
CMD ["python3", "-m", "app"]
`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(strings.NewReader(src), "Dockerfile"); err != nil {
			b.Fatal(err)
		}
	}
}
