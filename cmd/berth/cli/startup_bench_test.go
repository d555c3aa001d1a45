package cli

import (
	"context"
	"io"
	"testing"
)

// BenchmarkRunUpToTheEngine is the CLI's own work on the way into `berth run
// --rm busybox true` (after the package initializers, before the first
// engine call): the command tree of the one verb, flag parsing, the
// container options.
func BenchmarkRunUpToTheEngine(b *testing.B) {
	b.Setenv("BERTH_ROOT", b.TempDir())
	saved := runRunFunc
	runRunFunc = func(context.Context, *globalOptions, *runOptions) error { return nil }
	defer func() { runRunFunc = saved }()
	args := []string{"run", "--rm", "--network", "host", "busybox", "true"}
	b.ReportAllocs()
	for b.Loop() {
		g := &globalOptions{stdin: nil, stdout: io.Discard, stderr: io.Discard}
		cmd := newRootCmdFor(g, requestedVerb(args))
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVersion is `berth version` after the package initializers.
func BenchmarkVersion(b *testing.B) {
	b.Setenv("BERTH_ROOT", b.TempDir())
	b.ReportAllocs()
	for b.Loop() {
		g := &globalOptions{stdout: io.Discard, stderr: io.Discard}
		cmd := newRootCmdFor(g, "version")
		cmd.SetArgs([]string{"version"})
		cmd.SetOut(io.Discard)
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
