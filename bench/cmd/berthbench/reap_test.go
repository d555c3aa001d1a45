//go:build linux

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParentFromStat(t *testing.T) {
	for stat, want := range map[string]int{
		"1234 (sleep) S 77 1234 1 0 -1":            77,
		"1234 (a (weird) name) R 88 1234 1 0 -1":   88,
		"1234 (conmon) S 1 1234 1234 0 -1 4194560": 1,
	} {
		if got, ok := parentFromStat(stat); !ok || got != want {
			t.Errorf("parentFromStat(%q) = %d, %v; want %d", stat, got, ok, want)
		}
	}
	if _, ok := parentFromStat("garbage"); ok {
		t.Error("a line without a command name must not parse")
	}
}

// A tool that returns while something it started keeps running (podman and
// its conmon) must not overlap the next run: settle waits for the orphan,
// which here writes a file as its last act.
func TestSettleWaitsForWhatACommandLeftBehind(t *testing.T) {
	if err := becomeSubreaper(); err != nil {
		t.Skipf("cannot become a subreaper here: %v", err)
	}
	done := filepath.Join(t.TempDir(), "done")
	script := "(sleep 0.2; echo finished > " + done + ") & exit 0"
	if _, err := (Cmd{Argv: []string{"sh", "-c", script}}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if settle(nil).Stuck {
		t.Fatal("settle gave up on a short-lived orphan")
	}
	data, err := os.ReadFile(done)
	if err != nil || string(data) != "finished\n" {
		t.Errorf("settle returned before the orphan finished: %q, %v", data, err)
	}
	if left := childrenOf(os.Getpid()); len(left) != 0 {
		t.Errorf("children left after settle: %v", left)
	}
}

// The CPU column counts the tool, what it waited for, and what it left
// behind for the bench to reap; a busy loop is never 0 s of CPU.
func TestCPUCountsDescendantsAndLeftovers(t *testing.T) {
	if err := becomeSubreaper(); err != nil {
		t.Skipf("cannot become a subreaper here: %v", err)
	}
	const busy = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"
	child := Cmd{Argv: []string{"sh", "-c", "sh -c '" + busy + "'; true"}}
	out, err := child.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if out.CPU <= 0 {
		t.Errorf("a busy child the command waited for: CPU = %v, want > 0", out.CPU)
	}
	leftover := Cmd{Argv: []string{"sh", "-c", "(" + busy + ") & exit 0"}}
	out, err = leftover.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := settle(nil)
	if st.Stuck || st.CPU <= 0 || st.CPU <= out.CPU {
		t.Errorf("a busy orphan: settle = %+v, the command's own CPU %v; want the orphan's CPU, more than its parent's", st, out.CPU)
	}
	var res Result
	res.add(Outcome{Elapsed: time.Second, CPU: out.CPU, Background: st.Wait, BackgroundCPU: st.CPU})
	if len(res.CPU) != 1 || res.CPU[0] != (out.CPU+st.CPU).Seconds() || res.BackgroundCPU[0] != st.CPU.Seconds() {
		t.Errorf("recorded CPU %v (left behind %v), want %v with %v left behind", res.CPU, res.BackgroundCPU, out.CPU+st.CPU, st.CPU)
	}
	res.Background, res.BackgroundCPU = []float64{0}, []float64{0.25}
	res.noteBackground()
	if !strings.Contains(res.Note, "includes a median 250.0 ms of CPU time in processes it left behind") {
		t.Errorf("note = %q", res.Note)
	}
}
