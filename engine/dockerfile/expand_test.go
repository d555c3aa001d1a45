package dockerfile

import (
	"bufio"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := []string{"HOME=/root", "EMPTY=", "NAME=redis", "SPACE=a  b", "NAME=valkey"}
	tests := []struct {
		word   string
		escape rune
		want   string
		err    string // exact error text, if an error is expected
	}{
		{word: "plain", want: "plain"},
		{word: "$HOME/bin", want: "/root/bin"},
		{word: "${HOME}bin", want: "/rootbin"},
		{word: "$NAME", want: "valkey"}, // the later entry wins, like ENV over ARG
		{word: "$UNSET", want: ""},
		{word: "${UNSET:-default}", want: "default"},
		{word: "${EMPTY:-default}", want: "default"},
		{word: "${EMPTY-default}", want: ""},
		{word: "${HOME:-default}", want: "/root"},
		{word: "${UNSET:-$HOME}", want: "/root"},
		{word: "${HOME:+set}", want: "set"},
		{word: "${UNSET:+set}", want: ""},
		{word: "${EMPTY:+set}", want: ""},
		{word: "${EMPTY+set}", want: "set"},
		{word: "${HOME:?need home}", want: "/root"},
		{word: "${UNSET:?need it}", err: `failed to process "${UNSET:?need it}": UNSET: need it`},
		{word: "${EMPTY:?}", err: `failed to process "${EMPTY:?}": EMPTY: is not allowed to be empty`},
		{word: "${UNSET?}", err: `failed to process "${UNSET?}": UNSET: is not allowed to be unset`},
		{word: "${EMPTY?}", want: ""},
		{word: "${NAME#val}", want: "key"},
		{word: "${NAME%key}", want: "val"},
		{word: "${NAME/l/L}", want: "vaLkey"},
		{word: "${}", err: `failed to process "${}": syntax error: bad substitution`},
		{word: "${HOME:-x", err: `failed to process "${HOME:-x": syntax error: missing '}'`},
		{word: `"$SPACE"`, want: "a  b"},
		{word: `'$HOME'`, want: "$HOME"},
		{word: `\$HOME`, want: "$HOME"},
		{word: `"a \"b\""`, want: `a "b"`},
		{word: `'unterminated`, err: `failed to process "'unterminated": unexpected end of statement while looking for matching single-quote`},
		{word: `a\ b`, want: "a b"},
		// With the backtick escape token, backslash is an ordinary character.
		{word: "c:\\$NAME", escape: '`', want: "c:\\valkey"},
		{word: "`$HOME", escape: '`', want: "$HOME"},
		{word: "c:\\dir\\", escape: '`', want: "c:\\dir\\"},
		{word: "`$HOME", escape: '\\', want: "`/root"},
	}
	for _, tt := range tests {
		t.Run(tt.word, func(t *testing.T) {
			esc := tt.escape
			if esc == 0 {
				esc = '\\'
			}
			got, err := Expand(tt.word, env, esc)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Expand(%q) = %q, %v; want error %q", tt.word, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Expand(%q) = %q, %v; want %q", tt.word, got, err, tt.want)
			}
		})
	}
}

func TestExpandWordsAndFields(t *testing.T) {
	env := []string{"PORTS=80  443/tcp", "DIR=/data"}
	got, err := ExpandWords([]string{"$DIR/a", `"$PORTS"`, "x"}, env, '\\')
	if want := []string{"/data/a", "80  443/tcp", "x"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ExpandWords = %q, %v; want %q", got, err, want)
	}
	if _, err := ExpandWords([]string{"ok", "${X:?no}"}, env, '\\'); err == nil {
		t.Error("ExpandWords hid an error")
	}
	got, err = ExpandFields("$PORTS 8080", env, '\\')
	if want := []string{"80", "443/tcp", "8080"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ExpandFields = %q, %v; want %q", got, err, want)
	}
	got, err = ExpandFields(`"$PORTS"`, env, '\\')
	if want := []string{"80  443/tcp"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ExpandFields quoted = %q, %v; want %q", got, err, want)
	}
}

func TestExpands(t *testing.T) {
	for _, kw := range []string{"ADD", "ARG", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "workdir"} {
		if !Expands(kw) {
			t.Errorf("Expands(%q) = false", kw)
		}
	}
	for _, kw := range []string{"RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK", "SHELL", "ONBUILD", "MAINTAINER", "BOGUS"} {
		if Expands(kw) {
			t.Errorf("Expands(%q) = true", kw)
		}
	}
}

func TestMetaEnv(t *testing.T) {
	src := "ARG REG=docker.io\nARG IMAGE=${REG}/library/alpine\nARG TAG\nARG UNUSED\nFROM $IMAGE:${TAG:-latest}\n"
	df, err := Parse(strings.NewReader(src), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	expandBase := func(buildArgs map[string]string) string {
		t.Helper()
		env, err := df.MetaEnv(buildArgs)
		if err != nil {
			t.Fatal(err)
		}
		base, err := Expand(df.Stages[0].Base, env, df.EscapeToken)
		if err != nil {
			t.Fatal(err)
		}
		return base
	}
	if got := expandBase(nil); got != "docker.io/library/alpine:latest" {
		t.Errorf("no build args: %q", got)
	}
	if got := expandBase(map[string]string{"REG": "localhost:5000", "TAG": "3.19", "OTHER": "x"}); got != "localhost:5000/library/alpine:3.19" {
		t.Errorf("with build args: %q", got)
	}
	env, _ := df.MetaEnv(map[string]string{"OTHER": "x"})
	if want := []string{"REG=docker.io", "IMAGE=docker.io/library/alpine"}; !reflect.DeepEqual(env, want) {
		t.Errorf("MetaEnv = %q, want %q (undeclared build args and unset ARGs left out)", env, want)
	}

	// Within one line, a pair sees only the lines before it, as in the classic builder.
	df, err = Parse(strings.NewReader("ARG A=old\nARG A=new B=$A\nFROM x"), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if env, err := df.MetaEnv(nil); err != nil || !reflect.DeepEqual(env, []string{"A=old", "A=new", "B=old"}) {
		t.Errorf("MetaEnv = %q, %v", env, err)
	}

	df, err = Parse(strings.NewReader("ARG A=${B:?set_B}\nFROM x"), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := df.MetaEnv(nil); err == nil || err.Error() != `Dockerfile:1: failed to process "${B:?set_B}": B: set_B` {
		t.Errorf("MetaEnv error = %v", err)
	}
}

// TestBuildkitExpansionTables runs BuildKit's own expansion tables through Expand and
// ExpandFields, so the wiring (escape token, env lookup) is proven against them.
func TestBuildkitExpansionTables(t *testing.T) {
	f, err := os.Open("testdata/buildkit/shell/envVarTest")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := []string{"PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="}
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "|")
		platform, source, want := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1]), strings.TrimSpace(parts[2])
		if platform == "W" {
			continue
		}
		n++
		got, err := Expand(source, env, '\\')
		if want == "error" {
			if err == nil {
				t.Errorf("Expand(%q) = %q, want an error", source, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", source, got, err, want)
		}
	}
	if n < 100 {
		t.Fatalf("only %d envVarTest cases ran", n)
	}

	data, err := os.ReadFile("testdata/buildkit/shell/wordsTest")
	if err != nil {
		t.Fatal(err)
	}
	env = nil
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "ENV "); ok {
			env = append(env, strings.TrimLeft(rest, " "))
			continue
		}
		source, wantText, _ := strings.Cut(line, "|")
		want := strings.Split(strings.TrimLeft(wantText, " "), ",")
		got, err := ExpandFields(strings.TrimSpace(source), env, '\\')
		if err != nil {
			got = []string{"error"}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ExpandFields(%q) = %q, want %q", source, got, want)
		}
	}
}
