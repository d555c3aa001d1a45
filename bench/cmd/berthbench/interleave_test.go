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

// Interleaved cases run round by round, each round every subject of every
// case once, rotated; each subject keeps its warm-up and its run count,
// each result its own case, and ratios stay within a case.
func TestInterleaveRunsCasesRoundByRound(t *testing.T) {
	var order []string
	subject := func(tool, id string) *Subject {
		return &Subject{Tool: tool, Cmd: Cmd{Argv: []string{"true"}}, Prepare: func() error { order = append(order, id); return nil }}
	}
	var setups, teardowns []string
	mk := func(id string) *Case {
		return &Case{ID: id, Title: "title " + id, Warmup: 1, Runs: 4, Bytes: int64(len(id)),
			Setup:    func() error { setups = append(setups, id); return nil },
			Teardown: func() error { teardowns = append(teardowns, id); return nil },
			Subjects: []*Subject{subject("berth", id+"/berth"), subject("peer", id+"/peer")}}
	}
	one, ten := mk("n1"), mk("n10")
	one.Subjects[1].Runs, ten.Subjects[1].Runs = 2, 2
	m := interleave(one, ten)
	if m.ID != "n1+n10" || len(m.Subjects) != 4 || m.Runs != 4 || m.Warmup != 1 {
		t.Fatalf("merged case %+v", m)
	}
	r := &Runner{Log: io.Discard, Scale: 1}
	results := r.Measure(context.Background(), m)

	if got, want := strings.Join(order, " "), strings.Join([]string{
		"n1/berth n1/peer n10/berth n10/peer", // warm-ups, one per subject
		"n1/berth n1/peer n10/berth n10/peer", // round 1
		"n1/peer n10/berth n10/peer n1/berth", // round 2, rotated
		"n10/berth n1/berth",                  // rounds 3 and 4: the peers had their 2 runs
		"n1/berth n10/berth",
	}, " "); got != want {
		t.Errorf("runs in order\n%s\nwant\n%s", got, want)
	}
	if strings.Join(setups, " ") != "n1 n10" || strings.Join(teardowns, " ") != "n1 n10" {
		t.Errorf("setups %v teardowns %v, want each case's once, in order", setups, teardowns)
	}
	for i, want := range []struct {
		id    string
		runs  int
		bytes int64
	}{{"n1", 4, 2}, {"n1", 2, 2}, {"n10", 4, 3}, {"n10", 2, 3}} {
		res := results[i]
		if res.Case != want.id || res.Title != "title "+want.id || res.Runs != want.runs || len(res.Times) != want.runs || res.Bytes != want.bytes {
			t.Errorf("result %d: case %q title %q runs %d times %v bytes %d, want %+v", i, res.Case, res.Title, res.Runs, res.Times, res.Bytes, want)
		}
		if res.Ratio == nil {
			t.Errorf("result %d (%s/%s) has no ratio to Berth in its own case", i, res.Case, res.Tool)
		}
	}
	if single := mk("alone"); interleave(single) != single {
		t.Error("interleaving one case should measure it as it is")
	}
}

// A subject's own run count follows the runner's scale, at least 2.
func TestRunnerScaledRuns(t *testing.T) {
	r := &Runner{Scale: 0.4}
	for in, want := range map[int]int{0: 0, 1: 2, 3: 2, 9: 4, 15: 6} {
		if got := r.scaled(in); got != want {
			t.Errorf("scaled(%d) at 0.4 = %d, want %d", in, got, want)
		}
	}
}

// The curves' points are timed round by round, after one warm-up each,
// and every timed run is kept for the bootstrap.
func TestCurvePointsRunRoundByRound(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	fake := filepath.Join(dir, "berth")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"$1\" >> "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := &curveEnv{berth: fake, dir: dir, runs: 3, log: io.Discard}
	pts, err := e.timeRounds([]job{{root: dir, args: []string{"a"}}, {root: dir, args: []string{"b"}}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// The fake is short, so each point gets shortRunCount runs.
	want := "a b " + strings.Repeat("a b b a ", shortRunCount/2) + "a b"
	if got := strings.Join(strings.Fields(string(data)), " "); got != want {
		t.Errorf("runs in order\n%s\nwant\n%s", got, want)
	}
	for i, p := range pts {
		if len(p.times) != shortRunCount || p.ms != summarize(p.times).Median {
			t.Errorf("point %d: %d runs, median %v, want %d runs and their median", i, len(p.times), p.ms, shortRunCount)
		}
	}
	var s Series
	s.add(10, pts[0])
	if len(s.Times) != 1 || len(s.Times[0]) != shortRunCount {
		t.Errorf("series keeps %v, want the point's runs", s.Times)
	}
}

// runstep10's first step is runstep1's: an interleaved cold runstep run
// removes all three builds' images, another cold build only its own.
func TestColdRunStepRunsClearTheirSiblings(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	fake := filepath.Join(dir, "berth")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nfor a; do case $a in rmi) shift $(($#-1)); echo \"$1\" >> "+log+";; esac; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := &Env{Dir: dir, Berth: fake, Log: io.Discard, ctx: context.Background(), tools: map[string]string{}}
	w := &workload{ctxs: map[string]string{}}
	removed := func(c *Case) string {
		_ = os.Remove(log)
		if err := c.Subjects[0].Prepare(); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(log)
		return strings.Join(strings.Fields(string(data)), " ")
	}
	byID := map[string]*Case{}
	for _, c := range e.buildCases(w) {
		byID[c.ID] = c
	}
	for id, want := range map[string]string{
		"runstep1":    "benchstep1 benchstep5 benchstep10",
		"runstep5":    "benchstep5 benchstep1 benchstep10",
		"runstep10":   "benchstep10 benchstep1 benchstep5",
		"build3-cold": "bench3",
	} {
		if got := removed(byID[id]); got != want {
			t.Errorf("%s: a cold run removes %q, want %q", id, got, want)
		}
	}
	if byID["build3-cached"].Subjects[0].Prepare != nil {
		t.Error("a cached build must not remove anything before its runs")
	}
	if c := byID["runstep10"]; c.Runs != runStepRuns || c.Subjects[1].Runs != runStepPeerRuns {
		t.Errorf("runstep10: %d runs, Buildah %d, want %d and %d", c.Runs, c.Subjects[1].Runs, runStepRuns, runStepPeerRuns)
	}
}
