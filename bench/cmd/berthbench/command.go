//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Cmd is a command line with what it needs: extra environment, a file on
// stdin, a working directory.
type Cmd struct {
	Argv  []string
	Env   []string
	Stdin string
	Dir   string
}

// String is the command as a shell would show it, for the report.
func (c Cmd) String() string {
	var b strings.Builder
	for i, a := range c.Argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shellQuote(a))
	}
	if c.Stdin != "" {
		b.WriteString(" < " + shellQuote(c.Stdin))
	}
	return b.String()
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Outcome is one finished run.
type Outcome struct {
	Elapsed time.Duration
	// MaxRSSKiB is the peak RSS from RunRSS (0 from Run).
	MaxRSSKiB int64
	Stderr    string
	// CPU is the user and system time of the command and of the
	// descendants it waited for (wait4's rusage, via ProcessState).
	CPU time.Duration
	// Background is how long what the command left behind kept running,
	// BackgroundCPU the CPU time of those leftovers (settle reaps them).
	Background, BackgroundCPU time.Duration
}

// runTimeout bounds any single command, so a hung peer cannot hang the bench.
const runTimeout = 10 * time.Minute

// Run runs the command, timed from just before fork to just after wait.
// Stdout is discarded; the end of stderr is kept for error messages.
func (c Cmd) Run(ctx context.Context) (Outcome, error) { return c.run(ctx, c.Argv) }

// run runs argv (c.Argv, or c.Argv under a wrapper) with c's settings;
// errors name c.Argv[0].
func (c Cmd) run(ctx context.Context, argv []string) (Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	if len(c.Argv) == 0 {
		return Outcome{}, errors.New("empty command")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdout = io.Discard
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	if c.Stdin != "" {
		f, err := os.Open(c.Stdin)
		if err != nil {
			return Outcome{}, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	start := time.Now()
	err := cmd.Run()
	out := Outcome{Elapsed: time.Since(start), Stderr: stderr.String()}
	if ps := cmd.ProcessState; ps != nil {
		out.CPU = ps.UserTime() + ps.SystemTime()
	}
	if err != nil {
		return out, fmt.Errorf("%s: %w%s", c.Argv[0], err, lastLines(out.Stderr, 3))
	}
	return out, nil
}

// RunRSS runs the command under GNU time and returns its peak RSS: the
// largest resident set of the command and of the descendants it waited for,
// "Maximum resident set size" of time -v. Go's fork shares this program's
// memory map until exec, and the kernel charges that map's high-water mark
// to the child at exec, so wait4's own ru_maxrss would report this
// program's peak; GNU time is a small process that forks for real. Daemons
// a tool double-forks (Podman's conmon) are not its descendants and are not
// counted. The elapsed time includes time's own start, so timed runs use Run.
func (c Cmd) RunRSS(ctx context.Context, timeBin, scratch string) (Outcome, error) {
	out, err := c.run(ctx, append([]string{timeBin, "-f", "%M", "-o", scratch, "--"}, c.Argv...))
	if err != nil {
		return out, err
	}
	data, rerr := os.ReadFile(scratch)
	if rerr != nil {
		return out, fmt.Errorf("read GNU time's output: %w", rerr)
	}
	out.MaxRSSKiB = parseTimeRSS(string(data))
	return out, nil
}

// parseTimeRSS reads the %M value from GNU time's -o file, whose last line
// it is (an earlier line may say "Command exited with non-zero status").
func parseTimeRSS(s string) int64 {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return 0
	}
	n, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// Output runs the command and returns its stdout (for versions and setup).
func (c Cmd) Output(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if c.Stdin != "" {
		f, err := os.Open(c.Stdin)
		if err != nil {
			return "", err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s: %w%s", c, err, lastLines(stderr.String(), 3))
	}
	return stdout.String(), nil
}

// lastLines formats the last n non-empty lines of s as ": a | b".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return ": " + strings.Join(lines, " | ")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
