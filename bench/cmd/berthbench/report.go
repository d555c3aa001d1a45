//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Machine describes where the numbers were taken.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemoryMiB int64  `json:"memory_mib"`
	Kernel    string `json:"kernel"`
	// Disk is the file system every store was on; DiskWhy says why there
	// (the scratch file system, scratch.go) or what it means for the figures.
	Disk       string  `json:"disk"`
	DiskWhy    string  `json:"disk_why,omitempty"`
	Cgroups    string  `json:"cgroups"`
	Load1Start float64 `json:"load1_start"`
	Load1End   float64 `json:"load1_end"`
}

// Report is bench-results.json.
type Report struct {
	Schema     int               `json:"schema"`
	Date       string            `json:"date"`
	DurationS  float64           `json:"duration_s"`
	Machine    Machine           `json:"machine"`
	Tools      map[string]string `json:"tools"`
	BenchDir   string            `json:"bench_dir"`
	Registry   string            `json:"registry,omitempty"`
	Notes      []string          `json:"notes,omitempty"`
	Results    []*Result         `json:"results"`
	CrossCheck []CrossCheck      `json:"cross_check,omitempty"`
	// CgroupsLeft lists cgroups under a berth/ parent created during the run
	// and still there at the end. They are not removed and may belong to
	// other berth processes on the machine (tests, other users): a lead,
	// not a verdict.
	CgroupsLeft []string `json:"cgroups_left,omitempty"`
}

// CrossCheck is hyperfine's view of a command the runner also timed.
type CrossCheck struct {
	Tool    string  `json:"tool"`
	Command string  `json:"command"`
	Median  float64 `json:"median_s"`
	Min     float64 `json:"min_s"`
	Max     float64 `json:"max_s"`
	Runs    int     `json:"runs"`
	// CPUMean is hyperfine's mean user plus system time.
	CPUMean float64 `json:"cpu_mean_s,omitempty"`
}

func load1() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	return f
}

func (e *Env) machine() Machine {
	m := Machine{CPUs: runtime.NumCPU()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				m.MemoryMiB = kb / 1024
			}
		}
	}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		m.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	m.Disk, m.DiskWhy = storesFS(e.Dir)
	switch {
	case exists("/sys/fs/cgroup/cgroup.controllers"):
		m.Cgroups = "v2"
	case exists("/sys/fs/cgroup/unified/cgroup.controllers"):
		m.Cgroups = "hybrid: v1 controllers, cgroup2 at /sys/fs/cgroup/unified"
	default:
		m.Cgroups = "v1"
	}
	return m
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// diskOf names the filesystem dir is on: "ext4 on /dev/vda, rotational=0".
func diskOf(dir string) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	info, _, err := mountOf(f, dir)
	if err != nil {
		return ""
	}
	desc := fmt.Sprintf("%s on %s", info.Type, info.Source)
	if rot, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(info.Source), "queue/rotational")); err == nil {
		desc += ", rotational=" + strings.TrimSpace(string(rot))
	}
	return desc
}

func (e *Env) toolVersions() map[string]string {
	out := map[string]string{"berth": e.version(e.Berth, "version"), "go (berthbench)": runtime.Version()}
	for _, t := range []string{"podman", "buildah", "runc", "crun", "skopeo", "umoci", "pigz", "zstd", "gzip", "hyperfine", "docker-registry"} {
		if e.has(t) {
			out[t] = e.version("sh", "-c", t+" --version 2>&1")
		}
	}
	return out
}

// slopes fits the cold build time of the `RUN true` Dockerfiles against
// their step count, per tool: the slope is the cost of one more RUN step.
func slopes(results []*Result) []*Result {
	byTool := map[string][][3]float64{}
	var order []string
	for _, r := range results {
		if !strings.HasPrefix(r.Case, "runstep") || r.Median == nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(r.Case, "runstep"))
		if err != nil {
			continue
		}
		if _, ok := byTool[r.Tool]; !ok {
			order = append(order, r.Tool)
		}
		cpu := math.NaN()
		if r.CPUMedian != nil {
			cpu = *r.CPUMedian
		}
		byTool[r.Tool] = append(byTool[r.Tool], [3]float64{float64(n), *r.Median, cpu})
	}
	var out []*Result
	for _, tool := range order {
		pts := byTool[tool]
		var xs, ys, cs []float64
		for _, p := range pts {
			xs = append(xs, p[0])
			ys = append(ys, p[1])
			cs = append(cs, p[2])
		}
		a, b, ok := fitLine(xs, ys)
		if !ok || len(pts) < len(runStepCounts) {
			continue
		}
		var cpuSlope *float64
		if _, cb, ok := fitLine(xs, cs); ok {
			cpuSlope = ptr(cb) // nil when a point had no CPU figure (NaN)
		}
		out = append(out, &Result{Case: "runstep-slope", Tool: tool, Unit: "s/step",
			Title:  fmt.Sprintf("per-RUN-step overhead: slope of cold build time over N (N = %s `RUN true` steps)", joinInts(runStepCounts)),
			Median: ptr(b), CPUMedian: cpuSlope, Runs: len(pts),
			Note: fmt.Sprintf("Least-squares fit of the medians: %s + %s per step; `true` itself takes well under a millisecond.", formatSeconds(a), formatSeconds(b))})
	}
	setRatios(out)
	return out
}

// bridgeCost is the bridge's added cost: start-bridge's bridge median
// minus its host-network median, both from the same alternated rounds.
func bridgeCost(results []*Result) []*Result {
	var bridge, host *Result
	for _, r := range results {
		if r.Case != "start-bridge" || r.Median == nil {
			continue
		}
		switch r.Tool {
		case "berth":
			bridge = r
		case bridgeHost:
			host = r
		}
	}
	if bridge == nil || host == nil {
		return nil
	}
	d := *bridge.Median - *host.Median
	var cpu *float64
	if bridge.CPUMedian != nil && host.CPUMedian != nil {
		cpu = ptr(*bridge.CPUMedian - *host.CPUMedian)
	}
	return []*Result{{Case: "start-bridge-added", Tool: "berth", Unit: "s", Runs: min(bridge.Runs, host.Runs),
		Title:  "the bridge's added cost: start-bridge's bridge median minus its host-network median",
		Median: ptr(d), CPUMedian: cpu,
		Note: fmt.Sprintf("%s on the bridge, %s on the host network, alternated in the same rounds.", formatSeconds(*bridge.Median), formatSeconds(*host.Median))}}
}

func joinInts(ns []int) string {
	var s []string
	for _, n := range ns {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ", ")
}

// Markdown renders the table and its notes.
func (r *Report) Markdown(w io.Writer) {
	m := r.Machine
	disk := m.Disk
	if m.DiskWhy != "" {
		disk += " (" + m.DiskWhy + ")"
	}
	fmt.Fprintf(w, "Measured %s on %d CPUs (%s), %d MiB RAM, Linux %s, every store on %s; cgroups %s; load average %.2f at start, %.2f at end; %s.\n\n",
		r.Date, m.CPUs, m.CPUModel, m.MemoryMiB, m.Kernel, disk, m.Cgroups, m.Load1Start, m.Load1End,
		fmt.Sprintf("run took %s", time.Duration(r.DurationS*float64(time.Second)).Round(time.Second)))
	var versions []string
	for _, t := range []string{"berth", "podman", "buildah", "runc", "crun", "skopeo", "umoci", "docker-registry", "hyperfine", "pigz", "zstd", "gzip"} {
		if v := r.Tools[t]; v != "" {
			versions = append(versions, v)
		}
	}
	if len(versions) > 0 {
		fmt.Fprintf(w, "Versions: %s.\n\n", strings.Join(versions, "; "))
	}
	fmt.Fprintln(w, "| Workload | Tool | Median | Min | Max | CPU (median) | × Berth | Peak RSS |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
	last := ""
	var notes []string
	for _, res := range r.Results {
		title := ""
		if res.Title != last {
			title = res.Title
			last = res.Title
		}
		if res.DidNotRun != "" {
			fmt.Fprintf(w, "| %s | %s | did not run: %s | | | | | |\n", mdEscape(title), mdEscape(res.Tool), mdEscape(res.DidNotRun))
			continue
		}
		row, note := res.row(title)
		fmt.Fprintln(w, row)
		if note != "" {
			notes = append(notes, fmt.Sprintf("%s, %s: %s", res.Case, res.Tool, note))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "× Berth is the tool's median divided by Berth's in the same workload: above 1, slower than Berth. "+
		"CPU is the median user plus system time of the tool and every descendant reaped, by the tool or, for what it left behind (Podman's conmon), by the bench; "+
		"daemons the bench started (the registry server) are not in it. The goals judge the wall-clock medians.")
	if len(r.CrossCheck) > 0 {
		fmt.Fprintln(w)
		fmt.Fprint(w, "hyperfine cross-check of start to exit (its own runs, not alternated):")
		for _, c := range r.CrossCheck {
			fmt.Fprintf(w, " %s %s (min %s, max %s", c.Tool, formatSeconds(c.Median), formatSeconds(c.Min), formatSeconds(c.Max))
			if c.CPUMean > 0 {
				fmt.Fprintf(w, ", CPU mean %s", formatSeconds(c.CPUMean))
			}
			fmt.Fprint(w, ");")
		}
		fmt.Fprintln(w)
	}
	if len(r.Notes)+len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
		for _, n := range notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

// row is a measured result's table row, and its note with the throughput.
func (res *Result) row(title string) (row, note string) {
	s, _ := res.summary()
	unit := ""
	if res.Unit == "s/step" {
		unit = "/step"
	}
	ratio := "—"
	if res.Ratio != nil {
		ratio = fmt.Sprintf("%.2f×", *res.Ratio)
	}
	cpu := "—"
	if res.CPUMedian != nil {
		cpu = formatSeconds(*res.CPUMedian) + unit
	}
	row = fmt.Sprintf("| %s | %s | %s%s | %s | %s | %s | %s | %s |", mdEscape(title), mdEscape(res.Tool),
		formatSeconds(s.Median), unit, formatSeconds(s.Min), formatSeconds(s.Max), cpu, ratio, formatKiB(res.PeakRSS))
	note = res.Note
	if res.Bytes > 0 && s.Median > 0 {
		note = strings.TrimSpace(fmt.Sprintf("%s Throughput %.0f MB/s (%.0f MB in the median's %s).", note,
			float64(res.Bytes)/1e6/s.Median, float64(res.Bytes)/1e6, formatSeconds(s.Median)))
	}
	return row, note
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// readReport reads a bench-results.json.
func readReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// writeJSON writes the report atomically.
func (r *Report) writeJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Markers around the generated part of docs/performance.md.
const (
	docStart = "<!-- berthbench:start -->"
	docEnd   = "<!-- berthbench:end -->"
)

// updateDoc replaces the text between the table's markers in a Markdown file.
func updateDoc(path string, table string) error {
	return replaceBetween(path, docStart, docEnd, table)
}

// replaceBetween replaces the text between two marker lines of a file.
func replaceBetween(path, start, end, text string) error {
	return replaceSections(path, section{start, end, text})
}

// section is generated text and the markers it goes between.
type section struct{ start, end, text string }

// replaceSections replaces every section's text in a file, in one write:
// when a pair of markers is missing nothing is written.
func replaceSections(path string, secs ...section) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	for _, sec := range secs {
		i, j := strings.Index(s, sec.start), strings.Index(s, sec.end)
		if i < 0 || j < i {
			return fmt.Errorf("%s: no %s ... %s markers to replace between", path, sec.start, sec.end)
		}
		s = s[:i+len(sec.start)] + "\n" + sec.text + s[j:]
	}
	return os.WriteFile(path, []byte(s), 0o644)
}
