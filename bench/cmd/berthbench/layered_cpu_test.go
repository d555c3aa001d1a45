//go:build linux

package main

import (
	"os"
	"testing"
)

func TestStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis: fields count from the last ')'.
	line := "4242 (docker (reg) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 9 0 100 0 0\n"
	got, ok := statCPU([]byte(line))
	if !ok || got != 18.01 {
		t.Fatalf("statCPU = %v, %v; want 18.01 s (1234 + 567 ticks)", got, ok)
	}
	for _, bad := range []string{"", "4242 no parenthesis", "4242 (x) S 1 2"} {
		if _, ok := statCPU([]byte(bad)); ok {
			t.Errorf("statCPU(%q) accepted a malformed line", bad)
		}
	}
	// This process: some CPU, read through /proc.
	if v, ok := processCPU(os.Getpid()); !ok || v < 0 {
		t.Fatalf("processCPU(self) = %v, %v", v, ok)
	}
}

func TestServerCPUAddsRunsOnlyWithBothReadings(t *testing.T) {
	var c serverCPU
	c.start() // no registry running: no reading
	c.stop()
	if c.runs != 0 {
		t.Fatalf("a run without readings was counted: %+v", c)
	}
}
