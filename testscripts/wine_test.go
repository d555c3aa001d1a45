//go:build linux

package testscripts

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/cmd/berth/cli"
	"github.com/berthkit/berth/internal/testenv"
)

// TestWindowsReplayUnderWine runs the Windows binary under wine64, so that
// "lessons and traces work off Linux" is tested, not assumed: the replay
// verbs must print exactly what they print on Linux, with Windows paths,
// a per-user data directory and no terminal; the engine verbs must refuse
// with the needs-Linux error. `make test` builds dist/ first and passes the
// binary in BERTH_WINDOWS_EXE; without it the test builds its own.
func TestWindowsReplayUnderWine(t *testing.T) {
	w := newWine(t)
	exe := windowsBerth(t)
	recording := `..\lessons\recordings\build-cache.jsonl` // relative, Windows separators

	var lesson string
	for _, args := range [][]string{
		{"lesson", "build-cache", "--replay", "--yes"},
		{"trace", "show", recording},
		{"trace", "show", recording, "--view", "tree"},
		{"trace", "explain", recording},
	} {
		out := w.berth(t, exe, 0, args...)
		if args[0] == "lesson" {
			lesson = out
		}
		unixArgs := make([]string, len(args))
		for i, a := range args {
			unixArgs[i] = strings.ReplaceAll(a, `\`, "/")
		}
		// The lesson's Mode line gives this machine's reason, which differs
		// by system (Linux could run the engine; Windows cannot).
		if want := linuxBerth(t, unixArgs...); withoutModeLine(out) != withoutModeLine(want) {
			t.Errorf("berth %s: the Windows output differs from Linux's:\n%s", strings.Join(args, " "), firstDiff(withoutModeLine(want), withoutModeLine(out)))
		}
		if strings.Contains(out, "\x1b[") {
			t.Errorf("berth %s: colour escapes on a pipe", strings.Join(args, " "))
		}
	}
	for _, line := range []string{
		"Step 2/3 : RUN apt-get update && apt-get install -y redis-server",
		" ---> Using cache",
		"End of lesson build-cache: all 11 checks held on the recorded trace.",
	} {
		if !strings.Contains(lesson, "\n"+line) {
			t.Errorf("lesson replay: no line %q", line)
		}
	}

	// A lesson file given by a Windows path, as `berth lesson run` takes it.
	lessonDir := t.TempDir()
	writeFile(t, filepath.Join(lessonDir, "my-lesson.md"), w.berth(t, exe, 0, "lesson", "cat", "build-cache"))
	out := w.berth(t, exe, 0, "lesson", "run", winPath(filepath.Join(lessonDir, "my-lesson.md")), "--replay", "--yes")
	if !strings.Contains(out, "\nEnd of lesson build-cache: all 11 checks held on the recorded trace.") {
		t.Errorf("lesson run %s --replay: no closing line:\n%s", winPath(filepath.Join(lessonDir, "my-lesson.md")), out)
	}

	pages := t.TempDir()
	page := filepath.Join(pages, "build cache.html") // a space, as in "My Documents"
	w.berth(t, exe, 0, "trace", "html", recording, "-o", winPath(page))
	linuxBerth(t, "trace", "html", "../lessons/recordings/build-cache.jsonl", "-o", filepath.Join(pages, "linux.html"))
	got, err := os.ReadFile(page)
	want, _ := os.ReadFile(filepath.Join(pages, "linux.html"))
	// The page names the trace file as it was given.
	got = bytes.ReplaceAll(got, []byte(recording), []byte(strings.ReplaceAll(recording, `\`, "/")))
	if err != nil || !bytes.HasPrefix(got, []byte("<!DOCTYPE html>")) || !bytes.Equal(got, want) {
		t.Errorf("trace html -o %s: the page is missing or differs from Linux's (%v)", winPath(page), err)
	}

	// build --explain with no BERTH_ROOT: the store goes to the user's
	// %LocalAppData%\berth, created without any privilege.
	ctxDir := t.TempDir()
	writeFile(t, filepath.Join(ctxDir, "Dockerfile"), "FROM scratch\nCOPY a.txt /a.txt\nCMD [\"sh\"]\n")
	writeFile(t, filepath.Join(ctxDir, "a.txt"), "a\n")
	out = w.berth(t, exe, 0, "build", "--explain", winPath(ctxDir))
	if !strings.Contains(out, "Step 2 : COPY a.txt /a.txt\n") || !strings.Contains(out, "would run") {
		t.Errorf("build --explain:\n%s", out)
	}
	if m, _ := filepath.Glob(filepath.Join(w.prefix, "drive_c", "users", "*", "AppData", "Local", "berth", "oci-layout")); len(m) != 1 {
		t.Errorf("build --explain made no store in %%LocalAppData%%\\berth (found %v)", m)
	}

	out = w.berth(t, exe, 1, "run", "--rm", "busybox", "true")
	refusal := "Error: berth run needs Linux (namespaces and overlayfs); on this machine use 'berth lesson <name> --replay'\n"
	if out != refusal {
		t.Errorf("berth run on Windows printed %q, want %q", out, refusal)
	}
}

// wine is a private, headless wine prefix.
type wine struct {
	bin    string
	prefix string
	env    []string
}

// newWine makes a prefix under a temp dir and, if its wine lacks
// bcryptprimitives.dll, installs the stand-in from testdata/wine. It skips
// when wine64 is not installed, unless CI is set.
func newWine(t *testing.T) *wine {
	t.Helper()
	bin := lookWine64()
	if bin == "" {
		if testenv.InCI() {
			t.Fatal("CI=true and wine64 is not installed (make test-deps installs it)")
		}
		t.Skip("wine64 is not installed (apt-get install wine64)")
	}
	w := &wine{bin: bin, prefix: filepath.Join(t.TempDir(), "prefix")}
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "DISPLAY", "WAYLAND_DISPLAY", "WINEPREFIX", "WINEDEBUG", "WINEDLLOVERRIDES", "BERTH_ROOT", "BERTH_HOST", "NO_COLOR":
			continue
		}
		w.env = append(w.env, kv)
	}
	// No Mono or Gecko install prompts: nothing here needs .NET or HTML.
	w.env = append(w.env, "WINEPREFIX="+w.prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
	t.Cleanup(func() { w.server(t, "-k") })
	start := time.Now()
	if out, err := w.command(context.Background(), "wineboot", "--init").CombinedOutput(); err != nil {
		t.Fatalf("wineboot --init: %v\n%s", err, out)
	}
	w.server(t, "-w")
	t.Logf("new wine prefix in %s", time.Since(start).Round(time.Millisecond)) // for the record, not asserted
	dll := filepath.Join(w.prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if _, err := os.Stat(dll); errors.Is(err, os.ErrNotExist) {
		buildStandInDLL(t, dll)
	}
	return w
}

// lookWine64 finds wine64: on PATH, or where Debian's wine64 package puts
// it (/usr/bin/wine64 comes with the wine package).
func lookWine64() string {
	if p, err := exec.LookPath("wine64"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/lib/wine/wine64"); err == nil {
		return "/usr/lib/wine/wine64"
	}
	return ""
}

func (w *wine) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, w.bin, args...)
	cmd.Env = w.env
	return cmd
}

// server runs wineserver (-w waits for the prefix to settle, -k ends it).
func (w *wine) server(t *testing.T, flag string) {
	srv := filepath.Join(filepath.Dir(w.bin), "wineserver")
	if _, err := os.Stat(srv); err != nil {
		if srv, err = exec.LookPath("wineserver"); err != nil {
			return
		}
	}
	cmd := exec.Command(srv, flag)
	cmd.Env = w.env
	_ = cmd.Run()
}

// berth runs the Windows berth under wine from this directory and returns
// its stdout and stderr, failing unless it exits with code.
func (w *wine) berth(t *testing.T, exe string, code int, args ...string) string {
	t.Helper()
	// A bound, not an assertion: a wedged wine must not hang the suite.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := w.command(ctx, append([]string{exe}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("wine64 berth %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	got := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		got = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("wine64 berth %s: %v", strings.Join(args, " "), err)
	}
	if got != code {
		t.Fatalf("wine64 berth %s: exit %d, want %d\n%s", strings.Join(args, " "), got, code, out.String())
	}
	return out.String()
}

// buildStandInDLL assembles testdata/wine into dst with mingw binutils.
func buildStandInDLL(t *testing.T, dst string) {
	t.Helper()
	for _, tool := range []string{"as", "dlltool", "ld"} {
		if _, err := exec.LookPath("x86_64-w64-mingw32-" + tool); err != nil {
			if testenv.InCI() {
				t.Fatalf("CI=true and x86_64-w64-mingw32-%s is missing (make test-deps installs binutils-mingw-w64-x86-64)", tool)
			}
			t.Skipf("this wine lacks bcryptprimitives.dll, and x86_64-w64-mingw32-%s (binutils-mingw-w64-x86-64) to make one is missing", tool)
		}
	}
	src, err := filepath.Abs(filepath.Join("testdata", "wine"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, step := range [][]string{
		{"x86_64-w64-mingw32-as", "-o", "prng.o", filepath.Join(src, "bcryptprimitives.s")},
		{"x86_64-w64-mingw32-dlltool", "-d", filepath.Join(src, "advapi32.def"), "-l", "libadvapi32.a"},
		{"x86_64-w64-mingw32-ld", "--dll", "--entry", "DllMain", "-s", "-o", dst,
			"prng.o", filepath.Join(src, "bcryptprimitives.def"), "libadvapi32.a"},
	} {
		cmd := exec.Command(step[0], step[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(step, " "), err, out)
		}
	}
}

// windowsBerth is $BERTH_WINDOWS_EXE (make test: dist/berth-windows-amd64.exe)
// or a fresh build of cmd/berth for windows/amd64.
func windowsBerth(t *testing.T) string {
	t.Helper()
	if exe := os.Getenv("BERTH_WINDOWS_EXE"); exe != "" {
		if _, err := os.Stat(exe); err != nil {
			t.Fatalf("BERTH_WINDOWS_EXE: %v (make dist builds it)", err)
		}
		return exe
	}
	exe := filepath.Join(t.TempDir(), "berth.exe")
	cmd := exec.Command("go", "build", "-trimpath", "-o", exe, "github.com/berthkit/berth/cmd/berth")
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for windows/amd64: %v\n%s", err, out)
	}
	return exe
}

// linuxBerth runs berth in this process, as the Linux reference, and
// returns what it printed (stdout then stderr, as a pipe would interleave
// them for these verbs, which write only to stdout on success).
func linuxBerth(t *testing.T, args ...string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved, savedErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = f, f
	code := cli.Main(args)
	os.Stdout, os.Stderr = saved, savedErr
	if code != 0 {
		t.Fatalf("berth %s: exit %d", strings.Join(args, " "), code)
	}
	out, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// winPath is how wine names a Linux path: drive Z: is /.
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// firstDiff shows the first line where two outputs part.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var a, b string
		if i < len(wl) {
			a = wl[i]
		}
		if i < len(gl) {
			b = gl[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n linux:   " + a + "\n windows: " + b
		}
	}
	return "(same lines)"
}

// withoutModeLine drops a lesson's "Mode: …" line, whose reason is the
// machine's own.
func withoutModeLine(out string) string {
	lines := strings.Split(out, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, "Mode: ") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}
