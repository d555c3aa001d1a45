//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: berthbench prepare|run|report|clean|curves|scratch [flags]
  prepare  make the bench directory: the same busybox base for Berth, Podman, Buildah, runc and crun
  run      prepare, time every workload with every installed tool, print a Markdown table, write JSON
  report   print the Markdown table of an earlier run's JSON (and -doc to put it in a file)
  clean    remove the bench directory and unmount what is left under it
  curves   measure how Berth's costs grow with size and draw them (docs/perf/*.svg)
  scratch  up: put the bench directory on a journaled ext4 scratch file system when its own is
           ext4 without a journal; down: unmount and delete it
Run 'berthbench CMD -h' for the flags.`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	verb := args[0]
	switch verb {
	case "curves":
		return runCurves(args[1:], stdout, stderr)
	case "scratch":
		return runScratch(args[1:], stderr)
	}
	fs := flag.NewFlagSet("berthbench "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", envOr("BENCH_DIR", "/var/tmp/berth-bench"), "bench directory: every store lives here (env BENCH_DIR)")
	runDir := fs.String("rundir", envOr("BENCH_RUNDIR", "/run/berth-bench"), "runtime state with short paths (sockets) (env BENCH_RUNDIR)")
	berth := fs.String("berth", "bin/berth", "the berth binary to measure")
	var out, only, doc, curves, printWhat string
	var quick, keep bool
	var in string
	if verb == "report" || verb == "run" {
		fs.StringVar(&doc, "doc", "", "also replace the generated tables in this Markdown file (between berthbench and goals markers)")
		fs.StringVar(&curves, "curves", "", "the growth curves' JSON (docs/perf/curves.json) the goals table judges")
	}
	if verb == "report" {
		fs.StringVar(&in, "in", "bench-results.json", "the JSON of a run")
		fs.StringVar(&printWhat, "print", "all", "what to print: all (the table and the goals) or goals")
	}
	if verb == "run" {
		fs.StringVar(&out, "out", "bench-results.json", "write the results as JSON here")
		fs.StringVar(&only, "only", "", "run only the cases whose ID matches this regular expression (start, build3-cold, commit, ...)")
		fs.BoolVar(&quick, "quick", false, "fewer runs per case (a smoke test, not for publishing)")
		fs.BoolVar(&keep, "keep", false, "keep the bench directory afterwards")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if verb == "report" {
		r, err := readReport(in)
		if err == nil {
			err = r.publish(stdout, printWhat != "goals", true, renderOptions{doc: doc, curves: curves})
		}
		if err != nil {
			fmt.Fprintln(stderr, "berthbench:", err)
			return 1
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := newEnv(ctx, *dir, *runDir, *berth, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "berthbench:", err)
		return 1
	}
	switch verb {
	case "prepare":
		err = env.prepareVerb()
	case "clean":
		err = env.clean()
	case "run":
		var onlyRe *regexp.Regexp
		if only != "" {
			if onlyRe, err = regexp.Compile(only); err != nil {
				fmt.Fprintln(stderr, "berthbench: -only:", err)
				return 2
			}
		}
		err = env.runAll(stdout, runOptions{out: out, only: onlyRe, quick: quick, keep: keep,
			renderOptions: renderOptions{doc: doc, curves: curves}})
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "berthbench:", err)
		return 1
	}
	return 0
}

// prepareVerb makes the bench directory, and commit-real's apt layer so
// that the run which follows does not wait for the mirror.
func (e *Env) prepareVerb() error {
	if err := e.Prepare(); err != nil {
		return err
	}
	if _, err := e.ensureRealLayer(); err != nil {
		e.logf("commit-real will not run: %v", err)
	}
	if err := e.unmountAll(); err != nil {
		return err
	}
	e.logf("prepared %s (runtime state in %s); `berthbench clean` removes both, `make bench` starts afresh", e.Dir, e.RunDir)
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

type runOptions struct {
	out         string
	only        *regexp.Regexp
	quick, keep bool
	renderOptions
}

// renderOptions say where the tables go besides stdout.
type renderOptions struct {
	doc    string // the Markdown file whose generated parts to replace
	curves string // the curves' JSON for the goals ("" for none)
}

// runAll prepares, measures every case, cleans up and reports.
func (e *Env) runAll(stdout io.Writer, opts runOptions) (err error) {
	start := time.Now()
	cgBefore := cgroupDirs(cgroupRoot, 4)
	// Podman runs its OCI runtime with the runtime's default state root;
	// remove those directories afterwards if this run made them (and they
	// are empty again).
	var stateDirs []string
	for _, d := range []string{"/run/runc", "/run/crun"} {
		if !exists(d) {
			stateDirs = append(stateDirs, d)
		}
	}
	defer func() {
		for _, d := range stateDirs {
			_ = unix.Rmdir(d)
		}
	}()
	report := &Report{Schema: 1, Date: start.UTC().Format(time.RFC3339), BenchDir: e.Dir}
	loadStart := load1()
	report.Tools = e.toolVersions()

	defer func() {
		cleanupErr := e.finish(opts.keep)
		peers, others := newCgroups(cgBefore, cgroupDirs(cgroupRoot, 4))
		if left := removeCgroups(peers); len(left) > 0 {
			e.note("cgroups the peers created and that could not be removed: %s", strings.Join(left, " "))
		}
		for _, o := range others {
			if strings.Contains(o, "/berth/") && exists(o) {
				report.CgroupsLeft = append(report.CgroupsLeft, o)
			}
		}
		if err == nil {
			err = cleanupErr
		}
		if err != nil && report.Results == nil {
			return
		}
		report.Machine = e.machine()
		report.Machine.Load1Start = loadStart
		report.Machine.Load1End = load1()
		report.DurationS = time.Since(start).Seconds()
		report.Notes = e.notes
		report.Registry = reg.kind
		if werr := e.emit(stdout, report, opts); werr != nil && err == nil {
			err = werr
		}
	}()
	if err := e.Prepare(); err != nil {
		return err
	}
	w, err := e.makeWorkload()
	if err != nil {
		return err
	}
	runner := &Runner{Log: e.Log, Scale: 1, Scratch: e.out("time-rss.txt"), Settle: true,
		Keep: keep}
	if err := becomeSubreaper(); err != nil {
		runner.Settle = false
		e.note("could not become a child subreaper (%v): processes a tool leaves behind may overlap the next run", err)
	}
	if p, err := exec.LookPath("/usr/bin/time"); err == nil {
		runner.TimeBin = p
	} else {
		e.note("GNU time (/usr/bin/time) is not installed: peak RSS is not measured (apt-get install time)")
	}
	if opts.quick {
		runner.Scale = 0.4
	}
	e.measureAll(report, runner, w, func(id string) bool { return opts.only == nil || opts.only.MatchString(id) })
	if e.ctx.Err() != nil {
		return errors.New("interrupted: the results so far are in the report")
	}
	return nil
}

// measureAll measures every wanted case, in the table's order, with the
// rows derived from them (the per-step slope, the bridge's cost).
func (e *Env) measureAll(report *Report, runner *Runner, w *workload, want func(string) bool) {
	measure := func(c *Case) {
		if !want(c.ID) || e.ctx.Err() != nil {
			return
		}
		report.Results = append(report.Results, runner.Measure(e.ctx, c)...)
	}
	// together measures the wanted ones of cases as one, round by round
	// (interleave): their medians are compared with each other.
	together := func(cases []*Case) {
		var wanted []*Case
		for _, c := range cases {
			if want(c.ID) {
				wanted = append(wanted, c)
			}
		}
		if len(wanted) > 0 && e.ctx.Err() == nil {
			report.Results = append(report.Results, runner.Measure(e.ctx, interleave(wanted...))...)
		}
	}
	measure(e.startCase())
	if want("start") && e.has("hyperfine") && e.ctx.Err() == nil {
		report.CrossCheck = e.hyperfine()
	}
	measure(e.startBridgeCase())
	report.Results = append(report.Results, bridgeCost(report.Results)...)
	var steps []*Case
	for _, c := range e.buildCases(w) {
		if strings.HasPrefix(c.ID, "runstep") {
			steps = append(steps, c)
			continue
		}
		measure(c)
	}
	together(steps)
	report.Results = append(report.Results, slopes(report.Results)...)
	measure(e.commitCase(w))
	if want("commit-real") && e.ctx.Err() == nil {
		measure(e.commitRealCase())
	}
	for _, c := range e.saveLoadCases(w) {
		measure(c)
	}
	e.measureRegistry(w, want, measure)
}

// measureRegistry runs the cases that need a registry: push and pull of
// the committed image, of the many-layer image, and the room.
func (e *Env) measureRegistry(w *workload, want func(string) bool, measure func(*Case)) {
	groups := []struct {
		ids   []string
		cases func() ([]*Case, error)
	}{
		{[]string{"push", "pull", "pull-uptodate"}, func() ([]*Case, error) { return e.registryCases(w) }},
		{[]string{"push-layers", "pull-layers"}, e.layeredCases},
		{[]string{"room"}, func() ([]*Case, error) {
			c, err := e.roomCase()
			return []*Case{c}, err
		}},
	}
	for _, g := range groups {
		wanted := false
		for _, id := range g.ids {
			wanted = wanted || want(id)
		}
		if !wanted || e.ctx.Err() != nil {
			continue
		}
		cases, err := g.cases()
		if err != nil {
			e.note("%s did not run: %v", strings.Join(g.ids, ", "), err)
			continue
		}
		for _, c := range cases {
			measure(c)
		}
	}
}

// makeWorkload writes the build contexts and the commit tree.
func (e *Env) makeWorkload() (*workload, error) {
	w := &workload{tree: e.path("tree"), treeTar: e.path("tree.tar"), podmanOK: e.podmanRuns}
	var err error
	if w.ctxs, err = e.writeContexts(runStepCounts); err != nil {
		return nil, err
	}
	t := time.Now()
	size, err := writeTree(w.tree)
	if err != nil {
		return nil, fmt.Errorf("write the commit tree: %w", err)
	}
	if err := tarTree(w.tree, w.treeTar); err != nil {
		return nil, fmt.Errorf("tar the commit tree: %w", err)
	}
	e.logf("   commit tree: %.1f MiB in %d files, written in %s", float64(size)/(1<<20), smallFiles+1, sinceMS(t))
	return w, nil
}

// finish removes what the cases made: containers, images, the registry,
// mounts, and (unless keep) the bench directory.
func (e *Env) finish(keep bool) error {
	e.stopRegistry()
	stopRoomServer()
	e.try(e.berth("rm", "-f", srcContainer))
	if e.has("podman") {
		e.try(e.podman("rm", "-f", srcContainer))
		e.try(e.podman("rmi", "-a", "-f"))
		e.try(e.podmanAt("load", "rmi", "-a", "-f"))
		e.try(e.podmanAt("pull", "rmi", "-a", "-f"))
	}
	if keep {
		return e.unmountAll()
	}
	return e.Reset()
}

// emit writes the JSON, then prints the tables (and puts them in the doc).
func (e *Env) emit(stdout io.Writer, report *Report, opts runOptions) error {
	fmt.Fprintln(stdout)
	if opts.out != "" {
		if err := report.writeJSON(opts.out); err != nil {
			return err
		}
		e.logf("results: %s", opts.out)
	}
	// The goals need the curves, which scripts/bench.sh measures after
	// this run and judges with `berthbench report -curves`.
	if err := report.publish(stdout, true, opts.curves != "", opts.renderOptions); err != nil {
		return err
	}
	if opts.doc != "" {
		e.logf("tables written into %s", opts.doc)
	}
	return nil
}

// publish prints the results table and the goals table (each when asked),
// and replaces them in the doc.
func (r *Report) publish(stdout io.Writer, table, goals bool, opts renderOptions) error {
	var curves map[string]curveData
	if opts.curves != "" {
		var err error
		if curves, err = readCurves(opts.curves); err != nil {
			return err
		}
	}
	var results, goalsTable strings.Builder
	r.Markdown(&results)
	RenderGoals(&goalsTable, r.Date, r.Goals(curves))
	if table {
		fmt.Fprint(stdout, results.String())
	}
	if goals {
		fmt.Fprintln(stdout)
		fmt.Fprint(stdout, goalsTable.String())
	}
	if opts.doc == "" {
		return nil
	}
	secs := []section{{docStart, docEnd, results.String()}}
	if goals {
		secs = append(secs, section{goalsStart, goalsEnd, goalsTable.String()})
	}
	return replaceSections(opts.doc, secs...)
}

// hyperfine times start-to-exit again with hyperfine, as an independent
// check of this program's timing loop.
func (e *Env) hyperfine() []CrossCheck {
	out := e.out("hyperfine-start.json")
	argv := []string{"hyperfine", "-N", "--style", "none", "--warmup", "3", "--runs", "10", "--export-json", out}
	var order []string
	for _, s := range e.startCase().Subjects {
		if s.Skip != "" || s.Tool == "crun" {
			continue
		}
		argv = append(argv, s.Cmd.String())
		order = append(order, s.Tool)
	}
	e.logf("== hyperfine cross-check: %s", strings.Join(order, ", "))
	if _, err := (Cmd{Argv: argv, Env: e.containersEnv()}).Output(e.ctx); err != nil {
		e.note("hyperfine cross-check failed: %v", err)
		return nil
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil
	}
	var hf struct {
		Results []struct {
			Command string    `json:"command"`
			Median  float64   `json:"median"`
			Min     float64   `json:"min"`
			Max     float64   `json:"max"`
			Times   []float64 `json:"times"`
			User    float64   `json:"user"`
			System  float64   `json:"system"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &hf); err != nil {
		return nil
	}
	var res []CrossCheck
	for i, r := range hf.Results {
		tool := r.Command
		if i < len(order) {
			tool = order[i]
		}
		res = append(res, CrossCheck{Tool: tool, Command: r.Command, Median: r.Median, Min: r.Min, Max: r.Max, Runs: len(r.Times), CPUMean: r.User + r.System})
		e.logf("   %-22s median %-10s min %-10s max %-10s CPU mean %s", tool, formatSeconds(r.Median), formatSeconds(r.Min), formatSeconds(r.Max), formatSeconds(r.User+r.System))
	}
	return res
}
