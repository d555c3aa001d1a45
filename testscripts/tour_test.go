//go:build linux

package testscripts

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/internal/testenv"
)

// The tour runs as typed: every command block of these documents is run,
// command by command, on a fresh store, so the docs cannot drift from the
// program. A block that cannot run here says why in a marker on the line
// before it (see tourBlocks).
var tourDocs = []string{"../README.md", "../docs/lessons.md"}

// tourCommandTimeout bounds one command; the whole tour takes seconds.
const tourCommandTimeout = 3 * time.Minute

// tourBlock is one fenced block of commands.
type tourBlock struct {
	Line     int       // of the opening fence
	Skip     string    // why it is not run ("" runs it)
	Commands []tourCmd // in order
}

// tourCmd is one command of a block, as a shell reads it.
type tourCmd struct {
	Line int
	Text string
}

var (
	tourFence  = regexp.MustCompile("^(```+|~~~+)\\s*([\\w-]*)")
	tourMarker = regexp.MustCompile(`^<!--\s*tour:\s*skip,\s*(.+?)\s*-->$`)
)

// tourBlocks reads the command blocks of a Markdown document. A block
// fenced as sh, shell, bash or console holds commands: in sh, every line
// (comments and blank lines aside, a trailing \ joins the next line); in
// console, the lines that start with "$ " (the rest is output). The line
// before a block may hold `<!-- tour: skip, REASON -->`. A block fenced
// with no language that starts like a command (berth, make, $) is an
// error: it must say ```sh or ```console, or ```text when it is not meant
// to run.
func tourBlocks(doc []byte) ([]tourBlock, error) {
	var blocks []tourBlock
	lines := strings.Split(string(doc), "\n")
	for i := 0; i < len(lines); i++ {
		m := tourFence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		end := i + 1
		for end < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[end]), m[1]) {
			end++
		}
		if end == len(lines) {
			return nil, fmt.Errorf("line %d: the block never closes", i+1)
		}
		body := lines[i+1 : end]
		b := tourBlock{Line: i + 1}
		if i > 0 {
			if mk := tourMarker.FindStringSubmatch(strings.TrimSpace(lines[i-1])); mk != nil {
				b.Skip = mk[1]
			}
		}
		switch m[2] {
		case "sh", "shell", "bash":
			b.Commands = shellCommands(body, i+2)
		case "console":
			b.Commands = consoleCommands(body, i+2)
		default:
			if first := firstNonBlank(body); m[2] == "" && startsLikeCommand(first) {
				return nil, fmt.Errorf("line %d: the block starts with a command (%q) but is fenced as %q: fence it as sh or console (or text, if it is not meant to run)", i+1, first, m[1]+m[2])
			}
			i = end
			continue
		}
		if len(b.Commands) == 0 {
			return nil, fmt.Errorf("line %d: a %s block with no command", i+1, m[2])
		}
		blocks = append(blocks, b)
		i = end
	}
	return blocks, nil
}

func shellCommands(body []string, first int) []tourCmd {
	var cmds []tourCmd
	var cur *tourCmd
	for k, l := range body {
		text := strings.TrimSpace(l)
		if cur == nil && (text == "" || strings.HasPrefix(text, "#")) {
			continue
		}
		if cur == nil {
			cmds = append(cmds, tourCmd{Line: first + k})
			cur = &cmds[len(cmds)-1]
		}
		cont := strings.HasSuffix(text, "\\")
		cur.Text += strings.TrimSuffix(text, "\\")
		if !cont {
			cur = nil
		} else {
			cur.Text += " "
		}
	}
	return cmds
}

func consoleCommands(body []string, first int) []tourCmd {
	var cmds []tourCmd
	for k, l := range body {
		if rest, ok := strings.CutPrefix(l, "$ "); ok {
			cmds = append(cmds, tourCmd{Line: first + k, Text: rest})
		}
	}
	return cmds
}

func startsLikeCommand(line string) bool {
	for _, p := range []string{"berth ", "make ", "$ "} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func firstNonBlank(lines []string) string {
	for _, l := range lines {
		if s := strings.TrimSpace(l); s != "" {
			return s
		}
	}
	return ""
}

func TestTourBlocks(t *testing.T) {
	doc := "# T\n\n```sh\nberth images   # list\n\n# a comment\nberth build \\\n  -t x .\n```\n\n" +
		"<!-- tour: skip, needs a TTY -->\n```console\n$ berth run -it busybox sh\n/ # exit\n```\n\n" +
		"```\nSending build context\n```\n\n```text\nberth trace show FILE\n```\n"
	blocks, err := tourBlocks([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []tourBlock{
		{Line: 3, Commands: []tourCmd{{4, "berth images   # list"}, {7, "berth build  -t x ."}}},
		{Line: 12, Skip: "needs a TTY", Commands: []tourCmd{{13, "berth run -it busybox sh"}}},
	}
	if fmt.Sprint(blocks) != fmt.Sprint(want) {
		t.Errorf("blocks:\n%v\nwant\n%v", blocks, want)
	}
	for _, bad := range []string{"```\nberth images\n```\n", "```\n$ make demo\n```\n", "```sh\nberth images\n", "```sh\n# only a comment\n```\n"} {
		if _, err := tourBlocks([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestTour runs every command block of README.md and docs/lessons.md as
// typed, with berth on the PATH, a fresh BERTH_ROOT per document and a fresh
// working directory, stdin empty; it fails at the first command that fails,
// naming its document, line and output.
func TestTour(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireOverlay(t)
	if _, err := exec.LookPath("busybox"); err != nil {
		if testenv.InCI() {
			t.Fatal("CI=true and busybox is missing (apt-get install busybox-static)")
		}
		t.Skip("needs busybox-static")
	}
	// The test binary is berth when called by that name (testscript.Main).
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(bin, "berth")); err != nil {
		t.Fatal(err)
	}
	for _, doc := range tourDocs {
		t.Run(filepath.Base(doc), func(t *testing.T) { runTour(t, doc, bin) })
	}
}

func runTour(t *testing.T, doc, bin string) {
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := tourBlocks(data)
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	// The store sits beside the working directory, not in it: the working
	// directory is the tour's build context.
	dir := t.TempDir()
	work, root := filepath.Join(dir, "work"), filepath.Join(dir, "root")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "BERTH_ROOT="+root, "NO_COLOR=1")
	t.Cleanup(func() { removeTourContainers(root, filepath.Join(bin, "berth")) })
	ran := 0
	var skipped []string
	for _, b := range blocks {
		if b.Skip != "" {
			skipped = append(skipped, fmt.Sprintf("line %d (%d commands): %s", b.Line, len(b.Commands), b.Skip))
			continue
		}
		for _, c := range b.Commands {
			out, err := runTourCommand(work, env, c.Text)
			if err != nil {
				t.Fatalf("%s:%d (block at line %d): %s\n%v\n%s", doc, c.Line, b.Line, c.Text, err, out)
			}
			ran++
		}
	}
	t.Logf("%s: ran %d commands; skipped %d blocks:\n  %s", doc, ran, len(skipped), strings.Join(skipped, "\n  "))
}

func runTourCommand(work string, env []string, command string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), tourCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-ec", command)
	cmd.Dir, cmd.Env = work, env
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// removeTourContainers force-removes what the tour left in its store, so
// no container outlives the test.
func removeTourContainers(root, berth string) {
	out, err := exec.Command(berth, "--root", root, "ps", "-a", "-q", "--no-trunc").Output()
	if err != nil {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	var ids []string
	for sc.Scan() {
		ids = append(ids, sc.Text())
	}
	if len(ids) > 0 {
		_ = exec.Command(berth, append([]string{"--root", root, "rm", "-f"}, ids...)...).Run()
	}
}
