package dockerfile

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// expands lists the instructions whose words the builder expands, as Docker's
// builder does (BuildKit's instructions package plus EXPOSE and FROM). RUN, CMD,
// ENTRYPOINT, HEALTHCHECK and SHELL are left to the shell in the container; an
// ONBUILD trigger is expanded when it runs, in the downstream build.
var expands = map[string]bool{
	"ADD": true, "ARG": true, "COPY": true, "ENV": true, "EXPOSE": true, "FROM": true,
	"LABEL": true, "STOPSIGNAL": true, "USER": true, "VOLUME": true, "WORKDIR": true,
}

// Expands reports whether the builder expands variables in keyword's words:
// ADD, ARG, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR.
//
// What is expanded, and with which variables:
//   - FROM: the base and --platform, with the meta ARGs only (MetaEnv);
//   - ENV, LABEL: each key and value; ARG: each name and default;
//   - COPY, ADD: each source and the destination, and --chown and --chmod
//     (--from is not: Docker's classic builder takes it as written);
//   - WORKDIR, USER, STOPSIGNAL: the argument; VOLUME: each path;
//   - EXPOSE: each word, split into fields afterwards (ExpandFields).
//
// All others use the stage's ARG and ENV values in scope at that step.
func Expands(keyword string) bool { return expands[strings.ToUpper(keyword)] }

// Expand expands one word as Docker does, with shell.Lex: $VAR, ${VAR},
// ${VAR:-default}, ${VAR-default}, ${VAR:+alt}, ${VAR+alt}, ${VAR:?message},
// ${VAR?message}, ${VAR#pattern} and friends. env holds "KEY=VALUE" entries (a later
// entry wins). Quotes are removed and the escape token escapes the next character,
// as in the Dockerfile, so `"a b"` gives `a b` and `\$HOME` gives `$HOME`. An unset
// variable expands to "". ${VAR:?msg} with VAR unset or empty fails with
// `failed to process "${VAR:?msg}": VAR: msg`.
func Expand(word string, env []string, escape rune) (string, error) {
	if err := checkText(word); err != nil {
		return "", err
	}
	out, _, err := newLex(escape).ProcessWord(word, &lazyEnv{list: env})
	return out, err
}

// ExpandWords expands each word on its own (one word in, one word out), for
// multi-argument instructions: the sources and destination of COPY, VOLUME's paths.
func ExpandWords(words []string, env []string, escape rune) ([]string, error) {
	envs := &lazyEnv{list: env}
	lex := newLex(escape)
	out := make([]string, 0, len(words))
	for _, w := range words {
		if err := checkText(w); err != nil {
			return nil, err
		}
		s, _, err := lex.ProcessWord(w, envs)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// ExpandFields expands word and then splits it into fields at unquoted white space,
// as Docker does for EXPOSE: with PORTS="80 443", `$PORTS` gives ["80", "443"].
func ExpandFields(word string, env []string, escape rune) ([]string, error) {
	if err := checkText(word); err != nil {
		return nil, err
	}
	return newLex(escape).ProcessWords(word, &lazyEnv{list: env})
}

// ExpandHeredoc expands the variables in the body of a heredoc whose Expand is true
// (COPY <<EOF with an unquoted EOF), as BuildKit does: quotes are kept as written
// and only $VAR, ${...} and backslash escapes are processed.
func ExpandHeredoc(content string, env []string) (string, error) {
	if err := checkText(content); err != nil {
		return "", err
	}
	lex := shell.NewLex('\\')
	lex.SkipProcessQuotes = true
	out, _, err := lex.ProcessWord(content, &lazyEnv{list: env})
	return out, err
}

// checkText refuses what the lexer would mangle: Go's text/scanner, under
// shell.Lex, turns invalid UTF-8 into U+FFFD and reports it (and NUL) on stderr.
// Such bytes in a Dockerfile are a mistake (often a Latin-1 file), better named
// than silently changed.
func checkText(word string) error {
	if !utf8.ValidString(word) {
		return fmt.Errorf("failed to process %q: the text is not valid UTF-8; save the Dockerfile as UTF-8", word)
	}
	if strings.IndexByte(word, 0) >= 0 {
		return fmt.Errorf("failed to process %q: the text contains a NUL byte", word)
	}
	return nil
}

func newLex(escape rune) *shell.Lex {
	if escape != '`' {
		escape = '\\'
	}
	return shell.NewLex(escape)
}

// MetaEnv resolves the ARGs before the first FROM, the only variables FROM lines
// see. Each meta ARG takes its --build-arg value if buildArgs has one, else its
// default expanded with the meta ARGs of the lines before it (as the classic
// builder does, a pair does not see the pairs before it on its own line); an ARG
// with neither stays unset. buildArgs for names no meta ARG declares are ignored
// here. The result is "KEY=VALUE" entries for Expand.
func (df *Dockerfile) MetaEnv(buildArgs map[string]string) ([]string, error) {
	var env []string
	for _, ins := range df.MetaArgs {
		before := env[:len(env):len(env)]
		for _, kv := range ins.KeyValues {
			key, err := Expand(kv.Key, before, df.EscapeToken)
			if err != nil {
				return nil, df.ErrorAt(ins, err)
			}
			if v, ok := buildArgs[key]; ok {
				env = append(env, key+"="+v)
				continue
			}
			if !kv.HasValue {
				continue
			}
			v, err := Expand(kv.Value, before, df.EscapeToken)
			if err != nil {
				return nil, df.ErrorAt(ins, err)
			}
			env = append(env, key+"="+v)
		}
	}
	return env, nil
}

// lazyEnv is shell.EnvsFromSlice made on first use. A Dockerfile of N ENV
// lines expands every key and value against the N variables set so far:
// building that map for words without a variable made the build's cost
// grow with the square of N.
type lazyEnv struct {
	list []string
	env  shell.EnvGetter
}

func (e *lazyEnv) getter() shell.EnvGetter {
	if e.env == nil {
		e.env = shell.EnvsFromSlice(e.list)
	}
	return e.env
}

func (e *lazyEnv) Get(key string) (string, bool) { return e.getter().Get(key) }

func (e *lazyEnv) Keys() []string { return e.getter().Keys() }
