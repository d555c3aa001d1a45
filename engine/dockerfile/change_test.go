package dockerfile

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseChange(t *testing.T) {
	good := []struct {
		line    string
		keyword string
		args    []string
		json    bool
	}{
		{`CMD ["redis-server"]`, "CMD", []string{"redis-server"}, true},
		{`cmd redis-server --port 7000`, "CMD", []string{"redis-server --port 7000"}, false},
		{`ENTRYPOINT ["/entry.sh"]`, "ENTRYPOINT", []string{"/entry.sh"}, true},
		{`ENV PATH=/opt/bin:$PATH`, "ENV", []string{"PATH", "/opt/bin:$PATH", "="}, false},
		{`EXPOSE 6379`, "EXPOSE", []string{"6379"}, false},
		{`LABEL a=b`, "LABEL", []string{"a", "b", "="}, false},
		{`ONBUILD RUN make`, "ONBUILD", []string{"RUN make"}, false},
		{`USER redis`, "USER", []string{"redis"}, false},
		{`VOLUME /data`, "VOLUME", []string{"/data"}, false},
		{`WORKDIR /data`, "WORKDIR", []string{"/data"}, false},
		{`STOPSIGNAL SIGTERM`, "STOPSIGNAL", []string{"SIGTERM"}, false},
		{`HEALTHCHECK --interval=1s CMD true`, "HEALTHCHECK", []string{"CMD", "true"}, false},
	}
	for _, tt := range good {
		t.Run(tt.line, func(t *testing.T) {
			ins, err := ParseChange(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if ins.Keyword != tt.keyword || !reflect.DeepEqual(ins.Args, tt.args) || ins.JSON != tt.json || ins.Original != tt.line || ins.Line != 1 {
				t.Errorf("ParseChange(%q) = %+v", tt.line, ins)
			}
		})
	}

	bad := []struct{ line, want string }{
		{"RUN echo hi", "RUN is not a valid change command"},
		{"run echo hi", "run is not a valid change command"},
		{"FROM alpine", "FROM is not a valid change command"},
		{"COPY a b", "COPY is not a valid change command"},
		{"ADD a b", "ADD is not a valid change command"},
		{"ARG A=1", "ARG is not a valid change command"},
		{"SHELL [\"sh\"]", "SHELL is not a valid change command"},
		{"MAINTAINER me", "MAINTAINER is not a valid change command"},
		{"RUNN x", "RUNN is not a valid change command"},
		{"ENV PATH", "ENV must have two arguments"},
		{"USER", "USER requires exactly one argument"},
		{"ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"},
		{"HEALTHCHECK --bogus=1 CMD x", "Unknown flag: bogus"},
		{"", "file with no instructions"},
		{"CMD a\nENV b=c", "a --change value must hold one instruction, this one holds 2: give each its own --change"},
	}
	for _, tt := range bad {
		t.Run(tt.line, func(t *testing.T) {
			ins, err := ParseChange(tt.line)
			if err == nil {
				t.Fatalf("ParseChange(%q) = %+v, want error", tt.line, ins)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseChange(%q) error %q, want %q", tt.line, err, tt.want)
			}
			var perr *Error
			if !errors.As(err, &perr) || perr.File != "" {
				t.Errorf("error %#v is not a file-less *Error", err)
			}
		})
	}
}

func TestParseChanges(t *testing.T) {
	list, err := ParseChanges([]string{`ENV A=1 \`, `  B=2`, `CMD ["x"]`})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || len(list[0].KeyValues) != 2 || list[0].KeyValues[1] != (KV{"B", "2", true}) || list[1].Keyword != "CMD" {
		t.Errorf("ParseChanges = %+v", list)
	}
	// Docker checks every keyword before any instruction's arguments.
	if _, err := ParseChanges([]string{"ENV X=1", "USER", "RUN y"}); err == nil || err.Error() != "RUN is not a valid change command" {
		t.Errorf("err = %v", err)
	}
}

func TestParseTrigger(t *testing.T) {
	ins, err := ParseTrigger("COPY --chown=1:1 . /src")
	if err != nil || ins.Keyword != "COPY" || !reflect.DeepEqual(ins.Args, []string{".", "/src"}) {
		t.Fatalf("ParseTrigger = %+v, %v", ins, err)
	}
	for expr, want := range map[string]string{
		"ONBUILD RUN x":   "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
		"FROM x":          "FROM isn't allowed as an ONBUILD trigger",
		"RUN a\nRUN b":    "onbuild trigger should be a single expression",
		"BOGUS x":         "unknown instruction: BOGUS",
		"COPY --bad a b":  "Unknown flag: bad",
		"":                "file with no instructions",
		"maintainer name": "MAINTAINER isn't allowed as an ONBUILD trigger",
	} {
		if _, err := ParseTrigger(expr); err == nil || err.Error() != want {
			t.Errorf("ParseTrigger(%q) error %v, want %q", expr, err, want)
		}
	}
}
