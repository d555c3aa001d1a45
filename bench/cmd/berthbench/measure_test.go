//go:build linux

package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMeasureAlternatesAndReportsFailures(t *testing.T) {
	var order []string
	subject := func(tool string, argv ...string) *Subject {
		return &Subject{Tool: tool, Cmd: Cmd{Argv: argv}, Prepare: func() error { order = append(order, tool); return nil }}
	}
	a := subject("berth", "true")
	b := subject("peer", "true")
	broken := subject("broken", "false")
	fallback := subject("fallback", "false")
	fallback.Alternatives = []Alternative{{Cmd: Cmd{Argv: []string{"sh", "-c", "exit 3"}}, Why: "first alternative"},
		{Cmd: Cmd{Argv: []string{"true"}}, Why: "needs a flag here"}}
	absent := &Subject{Tool: "absent", Skip: "absent is not installed"}
	r := &Runner{Log: io.Discard, Scale: 1}
	c := &Case{ID: "t", Title: "test", Warmup: 1, Runs: 3, Subjects: []*Subject{a, b, broken, fallback, absent}}
	res := r.Measure(context.Background(), c)

	if got := strings.Join(order[len(order)-9:], " "); got != "berth peer fallback peer fallback berth fallback berth peer" {
		t.Errorf("timed runs ran in order %q, want each round rotated: A B C, B C A, C A B", got)
	}
	for _, i := range []int{0, 1, 3} {
		if res[i].Runs != 3 || len(res[i].Times) != 3 || res[i].Median == nil || res[i].DidNotRun != "" {
			t.Errorf("%s: %+v, want 3 timed runs and a median", res[i].Tool, res[i])
		}
		if len(res[i].CPU) != 3 || res[i].CPUMedian == nil {
			t.Errorf("%s: CPU %v median %v, want a CPU time per timed run and their median", res[i].Tool, res[i].CPU, res[i].CPUMedian)
		}
	}
	if res[2].CPUMedian != nil || res[2].CPU != nil {
		t.Errorf("broken: CPU %v, want none", res[2].CPU)
	}
	if !strings.Contains(res[2].DidNotRun, "`false` failed") || res[2].Median != nil {
		t.Errorf("broken: did_not_run %q, want the failing command named and no median", res[2].DidNotRun)
	}
	if res[3].Command != "true" || !strings.Contains(res[3].Note, "needs a flag here") || !strings.Contains(res[3].Note, "`false` failed") {
		t.Errorf("fallback: command %q note %q, want the working alternative and why", res[3].Command, res[3].Note)
	}
	if res[4].DidNotRun != "absent is not installed" {
		t.Errorf("absent: %q", res[4].DidNotRun)
	}
	if res[0].Ratio == nil || *res[0].Ratio != 1 {
		t.Errorf("berth ratio = %v, want 1", res[0].Ratio)
	}
}

func TestRunRSSMeasuresTheChildNotThisProcess(t *testing.T) {
	timeBin := "/usr/bin/time"
	if _, err := os.Stat(timeBin); err != nil {
		t.Skip("GNU time is not installed")
	}
	// A big heap here must not show up as the child's peak.
	ballast := make([]byte, 200<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	out, err := Cmd{Argv: []string{"true"}}.RunRSS(context.Background(), timeBin, filepath.Join(t.TempDir(), "rss"))
	if err != nil {
		t.Fatal(err)
	}
	if out.MaxRSSKiB <= 0 || out.MaxRSSKiB > 50<<10 {
		t.Errorf("peak RSS of true = %d KiB, want a small positive number", out.MaxRSSKiB)
	}
	_ = ballast[len(ballast)-1]
	if _, err := (Cmd{Argv: []string{"sh", "-c", "echo oops >&2; exit 4"}}).RunRSS(context.Background(), timeBin, filepath.Join(t.TempDir(), "rss")); err == nil ||
		!strings.Contains(err.Error(), "oops") || !strings.HasPrefix(err.Error(), "sh:") {
		t.Errorf("failing command under time: err = %v, want it named with its stderr", err)
	}
}

func TestParseTimeRSS(t *testing.T) {
	for in, want := range map[string]int64{"1234\n": 1234, "Command exited with non-zero status 1\n5678\n": 5678, "": 0, "x\n": 0} {
		if got := parseTimeRSS(in); got != want {
			t.Errorf("parseTimeRSS(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestCmdString(t *testing.T) {
	c := Cmd{Argv: []string{"sh", "-c", "tar -cf - . | pigz -1 > out", "it's"}, Stdin: "/tmp/a b"}
	want := `sh -c 'tar -cf - . | pigz -1 > out' 'it'\''s' < '/tmp/a b'`
	if got := c.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}
