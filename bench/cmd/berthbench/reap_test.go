//go:build linux

package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
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
