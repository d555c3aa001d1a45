//go:build linux

package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMarkdownTable(t *testing.T) {
	r := &Report{Date: "2026-01-01T00:00:00Z", Machine: Machine{CPUs: 2, CPUModel: "AMD EPYC", Kernel: "6.18",
		Disk: "a journaled ext4 scratch file system (/var/tmp/b.img) on ext4 on /dev/vda", DiskWhy: "the host's file system is ext4 without a journal"},
		Tools: map[string]string{"berth": "berth version 0.1.0", "podman": "podman version 4.3.1", "buildah": ""},
		Notes: []string{"a run-level note"},
		Results: []*Result{
			{Case: "start", Title: "start to exit", Tool: "berth", Median: ptr(0.012), Min: ptr(0.010), Max: ptr(0.020), CPUMedian: ptr(0.008), PeakRSS: 16 << 10, Ratio: ptr(1)},
			{Case: "start", Title: "start to exit", Tool: "podman", Median: ptr(0.150), Min: ptr(0.140), Max: ptr(0.2), CPUMedian: ptr(0.120), Ratio: ptr(12.5), Note: "conmon not counted"},
			{Case: "start", Title: "start to exit", Tool: "crun", DidNotRun: "cgroups in hybrid mode | not supported"},
			{Case: "runstep-slope", Title: "per step", Tool: "berth", Unit: "s/step", Median: ptr(0.02), CPUMedian: ptr(0.015), Ratio: ptr(1)},
			{Case: "room", Title: "room", Tool: "berth", Median: ptr(4), Ratio: ptr(1), Bytes: 536e6, Note: "served by berth."},
		},
		CrossCheck: []CrossCheck{{Tool: "berth", Median: 0.011, Min: 0.01, Max: 0.03, CPUMean: 0.007}},
	}
	var b strings.Builder
	r.Markdown(&b)
	out := b.String()
	for _, want := range []string{
		"| Workload | Tool | Median | Min | Max | CPU (median) | × Berth | Peak RSS |",
		"| start to exit | berth | 12.0 ms | 10.0 ms | 20.0 ms | 8.0 ms | 1.00× | 16.0 MiB |",
		"|  | podman | 150.0 ms | 140.0 ms | 200.0 ms | 120.0 ms | 12.50× | — |",
		`|  | crun | did not run: cgroups in hybrid mode \| not supported | | | | | |`,
		"| per step | berth | 20.0 ms/step | — | — | 15.0 ms/step | 1.00× | — |",
		"| room | berth | 4.00 s | — | — | — | 1.00× | — |",
		"every store on a journaled ext4 scratch file system (/var/tmp/b.img) on ext4 on /dev/vda (the host's file system is ext4 without a journal);",
		"berth 11.0 ms (min 10.0 ms, max 30.0 ms, CPU mean 7.0 ms);",
		"- a run-level note",
		"Versions: berth version 0.1.0; podman version 4.3.1.\n",
		"- start, podman: conmon not counted",
		"- room, berth: served by berth. Throughput 134 MB/s (536 MB in the median's 4.00 s).",
		"hyperfine cross-check of start to exit (its own runs, not alternated): berth 11.0 ms",
		"The goals judge the wall-clock medians.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// The derived rows carry CPU too, and the JSON keeps it; the goals
// judge wall time only.
func TestDerivedRowsAndJSONCarryCPU(t *testing.T) {
	var results []*Result
	for _, n := range runStepCounts {
		results = append(results, &Result{Case: fmt.Sprintf("runstep%d", n), Tool: "berth",
			Median: ptr(0.1 + 0.02*float64(n)), CPUMedian: ptr(0.05 + 0.01*float64(n))})
	}
	sl := slopes(results)
	if len(sl) != 1 || math.Abs(*sl[0].Median-0.02) > 1e-9 || sl[0].CPUMedian == nil || math.Abs(*sl[0].CPUMedian-0.01) > 1e-9 {
		t.Fatalf("slopes = %+v, want 20 ms/step wall and 10 ms/step CPU", sl)
	}
	results[0].CPUMedian = nil
	if sl := slopes(results); len(sl) != 1 || sl[0].CPUMedian != nil {
		t.Errorf("a point without CPU: slope CPU %v, want none", sl[0].CPUMedian)
	}
	bc := bridgeCost([]*Result{{Case: "start-bridge", Tool: "berth", Median: ptr(0.030), CPUMedian: ptr(0.020)},
		{Case: "start-bridge", Tool: bridgeHost, Median: ptr(0.025), CPUMedian: ptr(0.018)}})
	if len(bc) != 1 || bc[0].CPUMedian == nil || math.Abs(*bc[0].CPUMedian-0.002) > 1e-9 {
		t.Errorf("bridge cost = %+v, want 2 ms of CPU added", bc)
	}
	path := filepath.Join(t.TempDir(), "r.json")
	r := &Report{Machine: Machine{Disk: "ext4 with a journal on /dev/loop4", DiskWhy: "why"},
		Results: []*Result{{Case: "start", Tool: "berth", Times: []float64{0.01, 0.02}, CPU: []float64{0.005, 0.007}, CPUMedian: ptr(0.006), Median: ptr(0.015)}}}
	if err := r.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, want := range []string{`"cpu_s": [`, `"cpu_median_s": 0.006`, `"disk": "ext4 with a journal on /dev/loop4"`, `"disk_why": "why"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON lacks %s:\n%s", want, data)
		}
	}
	back, err := readReport(path)
	if err != nil || back.Results[0].CPUMedian == nil || *back.Results[0].CPUMedian != 0.006 {
		t.Errorf("read back: %+v, %v", back.Results[0], err)
	}
}

func TestUpdateDoc(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "performance.md")
	os.WriteFile(doc, []byte("# Performance\nintro\n"+docStart+"\nold table\n"+docEnd+"\nafter\n"), 0o644)
	if err := updateDoc(doc, "new table\n"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(doc)
	want := "# Performance\nintro\n" + docStart + "\nnew table\n" + docEnd + "\nafter\n"
	if string(data) != want {
		t.Errorf("doc = %q, want %q", data, want)
	}
	os.WriteFile(doc, []byte("no markers\n"), 0o644)
	if err := updateDoc(doc, "x"); err == nil {
		t.Error("a doc without markers must be refused")
	}
}

func TestReportSubcommandRendersSavedJSON(t *testing.T) {
	dir := t.TempDir()
	r := &Report{Schema: 1, Date: "2026-01-01T00:00:00Z", Results: []*Result{{Case: "start", Title: "start to exit", Tool: "berth", Median: ptr(0.1), Ratio: ptr(1)}}}
	in := filepath.Join(dir, "r.json")
	if err := r.writeJSON(in); err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(dir, "perf.md")
	os.WriteFile(doc, []byte(goalsStart+"\n"+goalsEnd+"\n"+docStart+"\n"+docEnd+"\n"), 0o644)
	var out, errOut strings.Builder
	if code := run([]string{"report", "-in", in, "-doc", doc, "-curves", filepath.Join(dir, "no-curves.json")}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	data, _ := os.ReadFile(doc)
	for _, got := range []string{out.String(), string(data)} {
		if !strings.Contains(got, "| start to exit | berth | 100.0 ms |") {
			t.Errorf("rendered report lacks the row:\n%s", got)
		}
		if !strings.Contains(got, "| start: `run --rm busybox true` (host network) | ≤ 2× the unshare+chroot floor | — | not measured: no floor: unshare+chroot figure in start |") {
			t.Errorf("rendered report lacks the start goal:\n%s", got)
		}
	}
	// -print goals prints the goals alone.
	out.Reset()
	if code := run([]string{"report", "-in", in, "-print", "goals"}, &out, &errOut); code != 0 || strings.Contains(out.String(), "| start to exit |") ||
		!strings.Contains(out.String(), "Issue 18's goals") {
		t.Errorf("-print goals: exit %d:\n%s", code, out.String())
	}
	// A doc without the goals markers is refused and left as it was.
	before := docStart + "\nold\n" + docEnd + "\n"
	os.WriteFile(doc, []byte(before), 0o644)
	if code := run([]string{"report", "-in", in, "-doc", doc}, &out, &errOut); code != 1 {
		t.Errorf("a doc without goals markers: exit %d, want 1", code)
	}
	if data, _ := os.ReadFile(doc); string(data) != before {
		t.Errorf("a refused doc was changed:\n%s", data)
	}
	if code := run([]string{"report", "-in", filepath.Join(dir, "missing.json")}, &out, &errOut); code != 1 {
		t.Errorf("a missing JSON file: exit %d, want 1", code)
	}
}
