//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Subject is one tool's way of doing a case's work.
type Subject struct {
	// Tool names the tool in the table ("berth", "podman", "tar | pigz -1").
	Tool string
	// Cmd is what is timed. Alternatives are tried in order when Cmd fails
	// in the warm-up, for peers that need a different flag on this host;
	// the first that works is timed and the report says so.
	Cmd          Cmd
	Alternatives []Alternative
	// Prepare and Cleanup run before and after every run, untimed.
	Prepare func() error
	Cleanup func() error
	// Skip, when set, is why the tool is not measured (not installed).
	Skip string
	// Note is printed under the table (what the command produces, and so on).
	Note string
	// Runs, when set, is this subject's timed runs instead of the case's
	// (interleave keeps each merged case's own count this way).
	Runs int
	// part is the case the subject's result belongs to when interleave
	// merged several cases into one (nil: the case measured).
	part *Case
}

// Alternative is a fallback command and why it differs from the default.
type Alternative struct {
	Cmd Cmd
	Why string
}

// Case is one workload run by several subjects.
type Case struct {
	ID, Title string
	// Warmup rounds are run and discarded; Runs rounds are timed. Each round
	// runs every subject once, alternating (A B A B), each round rotated.
	Warmup, Runs int
	Subjects     []*Subject
	// Setup and Teardown run once around the case.
	Setup    func() error
	Teardown func() error
	// Unit is "s" for timings; derived cases may say otherwise.
	Unit string
	// Bytes, when set, is what one run moves: the report adds throughput.
	Bytes int64
}

// Result is one subject's measurements in one case.
type Result struct {
	Case    string    `json:"case"`
	Title   string    `json:"title"`
	Tool    string    `json:"tool"`
	Command string    `json:"command,omitempty"`
	Runs    int       `json:"runs"`
	Warmup  int       `json:"warmup"`
	Times   []float64 `json:"times_s,omitempty"`
	// Background is, per timed run, how long processes the tool left behind
	// (reparented to berthbench) ran after it exited; the next run waited.
	Background []float64 `json:"background_after_exit_s,omitempty"`
	// CPU is, per timed run, the user plus system time of the tool and of
	// every descendant reaped: by the tool, or by the bench when the tool
	// left it behind (BackgroundCPU, that part alone). Daemons the bench
	// started itself (the registry) are not in it.
	CPU           []float64 `json:"cpu_s,omitempty"`
	BackgroundCPU []float64 `json:"background_cpu_s,omitempty"`
	// RSSKiB are the warm-up runs' peak RSS (GNU time); timed runs are bare.
	RSSKiB []int64  `json:"warmup_max_rss_kib,omitempty"`
	Median *float64 `json:"median_s,omitempty"`
	Min    *float64 `json:"min_s,omitempty"`
	Max    *float64 `json:"max_s,omitempty"`
	// CPUMedian is the median of CPU; goals judge Median (wall) only.
	CPUMedian *float64 `json:"cpu_median_s,omitempty"`
	PeakRSS   int64    `json:"peak_rss_kib,omitempty"`
	Ratio     *float64 `json:"ratio_to_berth,omitempty"`
	DidNotRun string   `json:"did_not_run,omitempty"`
	Note      string   `json:"note,omitempty"`
	// Unit is "s" unless the case is derived (per-step slope: "s/step").
	Unit string `json:"unit,omitempty"`
	// Bytes is what one run moves (Case.Bytes), for throughput.
	Bytes int64 `json:"bytes,omitempty"`
}

func (r *Result) summary() (Summary, bool) {
	if r.Median == nil {
		return Summary{}, false
	}
	s := Summary{Median: *r.Median, Min: math.NaN(), Max: math.NaN()}
	if r.Min != nil {
		s.Min = *r.Min
	}
	if r.Max != nil {
		s.Max = *r.Max
	}
	return s, true
}

func ptr(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// Runner measures cases and logs progress.
type Runner struct {
	Log io.Writer
	// Scale multiplies every case's run count (quick mode uses less than 1).
	Scale float64
	// TimeBin is GNU time, which measures peak RSS in the warm-up runs
	// ("" leaves RSS unmeasured); Scratch is a file it writes to.
	TimeBin, Scratch string
	// Settle, when set, waits for what a run left behind before the next
	// one starts (see settle); Keep names children that stay (the registry).
	Settle bool
	Keep   func(pid int) bool
}

func (r *Runner) logf(format string, args ...any) { fmt.Fprintf(r.Log, format+"\n", args...) }

// Measure runs one case and returns a result per subject.
func (r *Runner) Measure(ctx context.Context, c *Case) []*Result {
	warmup := c.Warmup
	if r.Scale < 1 && warmup > 1 {
		warmup = 1
	}
	results, active, limit := r.plan(c, warmup)
	runs := 0
	for _, l := range limit {
		runs = max(runs, l)
	}
	r.logf("== %s", c.Title)
	if c.Setup != nil {
		if err := c.Setup(); err != nil {
			for i := range results {
				if active[i] {
					results[i].DidNotRun = "case setup failed: " + err.Error()
				}
			}
			r.logf("   setup failed: %v", err)
			r.teardown(c)
			return results
		}
	}
	// Warm-up: the first round also finds which command works.
	for round := 0; round < max(warmup, 1); round++ {
		for i, s := range c.Subjects {
			if !active[i] {
				continue
			}
			if round == 0 {
				out, err := r.pickCommand(ctx, s, results[i])
				if err != nil {
					active[i] = false
					results[i].DidNotRun = err.Error()
					r.logf("   %-22s did not run: %s", s.Tool, err)
				}
				results[i].addRSS(out.MaxRSSKiB)
				continue
			}
			out, err := r.once(ctx, s, true)
			if err != nil {
				active[i] = false
				results[i].DidNotRun = "failed in warm-up: " + err.Error()
			}
			results[i].addRSS(out.MaxRSSKiB)
		}
	}
	for round := 0; round < runs; round++ {
		// Each round starts one subject later (A B C, B C A, C A B), so no
		// tool always follows the same one: a predecessor's page-cache
		// writeback or freed memory does not favour anyone systematically.
		for k := range c.Subjects {
			i := (round + k) % len(c.Subjects)
			s := c.Subjects[i]
			if !active[i] || len(results[i].Times) >= limit[i] {
				continue
			}
			out, err := r.once(ctx, s, false)
			if err != nil {
				active[i] = false
				results[i].DidNotRun = fmt.Sprintf("failed on timed run %d: %v", round+1, err)
				results[i].Times, results[i].CPU, results[i].BackgroundCPU = nil, nil, nil
				continue
			}
			results[i].add(out)
		}
	}
	for _, res := range results {
		r.summarize(res)
	}
	r.teardown(c)
	setRatios(results)
	return results
}

// plan makes a result per subject of c, says which are to run, and how
// many timed runs each gets: the case's, or the subject's own (interleave).
func (r *Runner) plan(c *Case, warmup int) (results []*Result, active []bool, limit []int) {
	runs := max(r.scaled(c.Runs), 2)
	results = make([]*Result, len(c.Subjects))
	active = make([]bool, len(c.Subjects))
	limit = make([]int, len(c.Subjects))
	for i, s := range c.Subjects {
		own := c
		if s.part != nil {
			own = s.part
		}
		limit[i] = runs
		if s.Runs > 0 {
			limit[i] = r.scaled(s.Runs)
		}
		results[i] = &Result{Case: own.ID, Title: own.Title, Tool: s.Tool, Command: s.Cmd.String(), Warmup: warmup, Note: s.Note, Unit: "s", Bytes: own.Bytes}
		if s.Skip != "" {
			results[i].DidNotRun = s.Skip
			continue
		}
		active[i] = true
	}
	return results, active, limit
}

// summarize sets a measured result's medians and logs them.
func (r *Runner) summarize(res *Result) {
	if res.DidNotRun != "" || len(res.Times) == 0 {
		return
	}
	res.Runs = len(res.Times)
	s := summarize(res.Times)
	res.Median, res.Min, res.Max = ptr(s.Median), ptr(s.Min), ptr(s.Max)
	res.CPUMedian = ptr(summarize(res.CPU).Median)
	res.noteBackground()
	r.logf("   %-22s median %-10s min %-10s max %-10s CPU %-10s peak RSS %s", res.Tool,
		formatSeconds(s.Median), formatSeconds(s.Min), formatSeconds(s.Max), formatSeconds(summarize(res.CPU).Median), formatKiB(res.PeakRSS))
}

// scaled is a run count times the runner's scale, at least 2 (0 stays 0:
// a subject without its own count).
func (r *Runner) scaled(runs int) int {
	if runs <= 0 {
		return 0
	}
	return max(int(math.Ceil(float64(runs)*r.Scale)), 2)
}

// interleave merges cases into one measured round by round: each round
// runs every subject of every case once, rotated, so that slow drift of
// the machine (writeback, the scratch file system filling, load left by
// the cases before) falls on all of them alike instead of on one side of a
// figure that compares their medians (the per-RUN-step overhead compares
// runstep10's with runstep1's). Each subject keeps its warm-ups and its
// case's run count, and each result still belongs to its own case.
func interleave(cases ...*Case) *Case {
	if len(cases) == 1 {
		return cases[0]
	}
	m := &Case{}
	var ids, titles []string
	for _, c := range cases {
		ids, titles = append(ids, c.ID), append(titles, c.Title)
		m.Warmup, m.Runs = max(m.Warmup, c.Warmup), max(m.Runs, c.Runs)
		for _, s := range c.Subjects {
			s.part = c
			if s.Runs == 0 {
				s.Runs = c.Runs
			}
			m.Subjects = append(m.Subjects, s)
		}
	}
	m.ID = strings.Join(ids, "+")
	m.Title = "interleaved, round by round: " + strings.Join(titles, "; ")
	m.Setup = func() error {
		for _, c := range cases {
			if c.Setup == nil {
				continue
			}
			if err := c.Setup(); err != nil {
				return fmt.Errorf("%s: %w", c.ID, err)
			}
		}
		return nil
	}
	m.Teardown = func() error {
		var errs []error
		for _, c := range cases {
			if c.Teardown != nil {
				if err := c.Teardown(); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", c.ID, err))
				}
			}
		}
		return errors.Join(errs...)
	}
	return m
}

func (r *Runner) teardown(c *Case) {
	if c.Teardown != nil {
		if err := c.Teardown(); err != nil {
			r.logf("   teardown: %v", err)
		}
	}
}

// add records a timed run: its wall time, and its CPU time with what the
// tool left behind.
func (r *Result) add(out Outcome) {
	r.Times = append(r.Times, out.Elapsed.Seconds())
	r.Background = append(r.Background, out.Background.Seconds())
	r.CPU = append(r.CPU, (out.CPU + out.BackgroundCPU).Seconds())
	r.BackgroundCPU = append(r.BackgroundCPU, out.BackgroundCPU.Seconds())
}

// noteBackground says, under the table, how long and how busy what the
// tool left behind was (Podman's conmon), when it was at all.
func (r *Result) noteBackground() {
	if bg := summarize(r.Background); bg.Median > 0.005 {
		r.Note = strings.TrimSpace(r.Note + fmt.Sprintf(" After it returned, processes it left (reparented to the bench) ran for a median %s more; the next run waited for them, untimed.", formatSeconds(bg.Median)))
	}
	if cpu := summarize(r.BackgroundCPU); cpu.Median > 0.0005 {
		r.Note = strings.TrimSpace(r.Note + fmt.Sprintf(" Its CPU column includes a median %s of CPU time in processes it left behind.", formatSeconds(cpu.Median)))
	}
}

// addRSS records a warm-up run's peak RSS.
func (r *Result) addRSS(kib int64) {
	if kib > 0 {
		r.RSSKiB = append(r.RSSKiB, kib)
		r.PeakRSS = max(r.PeakRSS, kib)
	}
}

// pickCommand runs the first warm-up: the default command, then each
// alternative until one works.
func (r *Runner) pickCommand(ctx context.Context, s *Subject, res *Result) (Outcome, error) {
	out, err := r.once(ctx, s, true)
	if err == nil {
		return out, nil
	}
	failures := []string{fmt.Sprintf("`%s` failed: %v", s.Cmd, err)}
	for _, alt := range s.Alternatives {
		s.Cmd = alt.Cmd
		out, altErr := r.once(ctx, s, true)
		if altErr == nil {
			res.Command = alt.Cmd.String()
			res.Note = strings.TrimSpace(res.Note + " " + alt.Why + " (the default: " + failures[0] + ")")
			r.logf("   %-22s uses %s: %s", s.Tool, alt.Cmd, alt.Why)
			return out, nil
		}
		if sameFailure(err, altErr) {
			failures = append(failures, fmt.Sprintf("`%s` failed the same way", alt.Cmd))
		} else {
			failures = append(failures, fmt.Sprintf("`%s` failed: %v", alt.Cmd, altErr))
		}
	}
	return Outcome{}, fmt.Errorf("%s", strings.Join(failures, "; "))
}

// sameFailure says whether two errors of the same program read the same.
func sameFailure(a, b error) bool { return a != nil && b != nil && a.Error() == b.Error() }

// once prepares, runs and cleans up one subject; withRSS runs it under GNU
// time (warm-ups), otherwise it is timed bare.
func (r *Runner) once(ctx context.Context, s *Subject, withRSS bool) (Outcome, error) {
	if s.Prepare != nil {
		if err := s.Prepare(); err != nil {
			return Outcome{}, fmt.Errorf("prepare: %w", err)
		}
	}
	// No run pays for an earlier run's dirty pages.
	unix.Sync()
	var out Outcome
	var err error
	if withRSS && r.TimeBin != "" {
		out, err = s.Cmd.RunRSS(ctx, r.TimeBin, r.Scratch)
	} else {
		out, err = s.Cmd.Run(ctx)
	}
	if r.Settle {
		st := settle(r.Keep)
		out.Background, out.BackgroundCPU = st.Wait, st.CPU
		if st.Stuck {
			r.logf("   %-22s left processes running for more than %s", s.Tool, settleLimit)
		}
	}
	if s.Cleanup != nil {
		if cerr := s.Cleanup(); cerr != nil && err == nil {
			err = fmt.Errorf("cleanup: %w", cerr)
		}
	}
	return out, err
}

// setRatios divides every median by Berth's in the same case (the
// results of an interleaved measurement hold several cases).
func setRatios(results []*Result) {
	base := map[string]float64{}
	for _, r := range results {
		if r.Tool == "berth" && r.Median != nil && *r.Median > 0 {
			base[r.Case] = *r.Median
		}
	}
	for _, r := range results {
		if b, ok := base[r.Case]; ok && r.Median != nil {
			r.Ratio = ptr(*r.Median / b)
		}
	}
}

func formatSeconds(s float64) string {
	switch {
	case s < 0:
		return "-" + formatSeconds(-s)
	case math.IsNaN(s):
		return "—"
	case s < 0.001:
		return fmt.Sprintf("%.0f µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.1f ms", s*1e3)
	default:
		return fmt.Sprintf("%.2f s", s)
	}
}

func formatKiB(k int64) string {
	if k <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f MiB", float64(k)/1024)
}

// sinceMS is a small helper for logs.
func sinceMS(t time.Time) string { return formatSeconds(time.Since(t).Seconds()) }
